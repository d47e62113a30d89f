from dataclasses import replace
from decimal import Decimal

import pytest

from cost_sharing.domain.allocation import allocate_pool
from cost_sharing.domain.coefficients import (
    DEFAULT_FORMULA,
    FormulaError,
    HospitalInputs,
    allocation_weights,
    compute_coefficients,
    validate_formula,
)

D = Decimal


def city() -> HospitalInputs:
    return HospitalInputs("H-CITY", "tertiary",
                          {"referrals_handled": D(10), "case_mix_volume": D(2)}, {"experts": D(3)})


def town() -> HospitalInputs:
    return HospitalInputs("H-TOWN", "primary", {"referrals_handled": D(28)}, {"beds_shared": D(2)})


def test_the_default_formula_is_valid():
    validate_formula(DEFAULT_FORMULA)


def test_coefficients_follow_the_formula_and_explain_every_step():
    by_id = {c.hospital_id: c for c in compute_coefficients(DEFAULT_FORMULA, [city(), town()])}
    c = by_id["H-CITY"]
    assert c.level_factor == D("1.2")
    assert c.volume_score == D("0.300000")  # 12 of 40
    assert c.resource_score == D("0.600000")  # 3 of 5
    assert c.raw == D("0.504000")  # 1.2 × (0.6 × 0.3 + 0.4 × 0.6)
    assert by_id["H-TOWN"].raw == D("0.464000")  # 0.8 × (0.6 × 0.7 + 0.4 × 0.4)
    assert c.share == D("0.520661")  # 0.504 / 0.968
    assert by_id["H-TOWN"].share == D("0.479339")
    assert "level tertiary × 1.2" in c.breakdown
    assert "volume 0.6 × 12/40 = 0.180000" in c.breakdown
    assert "resource 0.4 × 3/5 = 0.240000" in c.breakdown
    assert "raw 1.2 × (0.180000 + 0.240000) = 0.504000" in c.breakdown
    assert c.breakdown[0] == "formula v1"


def test_values_are_quantized_to_six_places():
    for c in compute_coefficients(DEFAULT_FORMULA, [city(), town()]):
        for value in (c.volume_score, c.resource_score, c.raw, c.share):
            assert value.as_tuple().exponent == -6


def test_output_is_sorted_by_hospital_and_independent_of_input_order():
    forward = compute_coefficients(DEFAULT_FORMULA, [city(), town()])
    backward = compute_coefficients(DEFAULT_FORMULA, [town(), city()])
    assert forward == backward
    assert [c.hospital_id for c in forward] == ["H-CITY", "H-TOWN"]


def test_missing_metrics_count_as_zero_and_unknown_ones_are_ignored_aloud():
    lazy = HospitalInputs("H-LAZY", "secondary", {}, {"helipads": D(4)})
    by_id = {c.hospital_id: c for c in compute_coefficients(DEFAULT_FORMULA, [city(), lazy])}
    assert by_id["H-LAZY"].volume_score == 0
    assert by_id["H-LAZY"].resource_score == 0
    assert by_id["H-LAZY"].share == 0
    assert any("ignored: helipads" in line for line in by_id["H-LAZY"].breakdown)


def test_when_nobody_did_anything_costs_are_shared_by_level_alone():
    idle = [HospitalInputs("A", "tertiary", {}, {}), HospitalInputs("B", "primary", {}, {})]
    by_id = {c.hospital_id: c for c in compute_coefficients(DEFAULT_FORMULA, idle)}
    assert by_id["A"].raw == D("1.200000")
    assert by_id["A"].share == D("0.600000")
    assert by_id["B"].share == D("0.400000")
    assert any("by level alone" in line for line in by_id["A"].breakdown)
    assert any("no hospital reported any volume" in line for line in by_id["A"].breakdown)


def test_without_any_volume_only_resources_count():
    a = HospitalInputs("A", "secondary", {}, {"experts": D(1)})
    b = HospitalInputs("B", "secondary", {}, {"experts": D(3)})
    by_id = {c.hospital_id: c for c in compute_coefficients(DEFAULT_FORMULA, [a, b])}
    assert by_id["A"].share == D("0.250000")
    assert any("volume score 0 for every hospital" in line for line in by_id["A"].breakdown)


def test_a_new_formula_version_changes_the_result_and_says_which_version():
    v2 = replace(DEFAULT_FORMULA, version=2, volume_weight=D(1), resource_weight=D(0))
    by_id = {c.hospital_id: c for c in compute_coefficients(v2, [city(), town()])}
    assert by_id["H-CITY"].raw == D("0.360000")  # 1.2 × 12/40
    assert by_id["H-CITY"].breakdown[0] == "formula v2"


def test_shares_allocate_a_pool_exactly():
    coefficients = compute_coefficients(DEFAULT_FORMULA, [city(), town()])
    allocation = allocate_pool("platform-2026-01", 1_000_001, allocation_weights(coefficients))
    assert sum(allocation.shares.values()) == 1_000_001
    assert allocation.shares == {"H-CITY": 520_662, "H-TOWN": 479_339}


def test_no_hospitals_give_no_coefficients():
    assert compute_coefficients(DEFAULT_FORMULA, []) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"volume_weight": D("0.5")}, "volume_weight"),
        ({"volume_weight": D("1.4"), "resource_weight": D("-0.4")}, "resource_weight"),
        ({"volume_weight": 0.6}, "volume_weight"),
        ({"level_factors": {"tertiary": D(0)}}, "level_factors.tertiary"),
        ({"level_factors": {}}, "level_factors"),
        ({"volume_metrics": {"referrals_handled": D(-1)}}, "volume_metrics.referrals_handled"),
        ({"version": 0}, "version"),
    ],
)
def test_invalid_formulas_are_refused_naming_the_field(changes, field):
    with pytest.raises(FormulaError) as err:
        validate_formula(replace(DEFAULT_FORMULA, **changes))
    assert isinstance(err.value, ValueError)
    assert err.value.field == field


def test_an_unknown_level_is_refused():
    with pytest.raises(FormulaError) as err:
        compute_coefficients(DEFAULT_FORMULA, [HospitalInputs("X", "quaternary", {}, {})])
    assert err.value.field == "level"
    assert "quaternary" in err.value.message


def test_a_hospital_listed_twice_is_refused():
    with pytest.raises(FormulaError) as err:
        compute_coefficients(DEFAULT_FORMULA, [city(), city()])
    assert err.value.field == "hospital_id"


def test_negative_or_float_metrics_are_refused():
    for value in (D(-1), 1.5):
        bad = HospitalInputs("X", "primary", {"referrals_handled": value}, {})
        with pytest.raises(FormulaError) as err:
            compute_coefficients(DEFAULT_FORMULA, [bad])
        assert err.value.field == "volume.referrals_handled"
