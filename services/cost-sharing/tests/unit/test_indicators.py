from decimal import Decimal

import pytest

from cost_sharing.domain.indicators import (
    Breach,
    HospitalIndicators,
    IndicatorError,
    Visit,
    breaches,
    compute_indicators,
    cost_index,
    growth_level,
    in_cost_band,
)


def visit(hospital="H001", total=10_000, drugs=3_000, consumables=1_000, *, period="2026-03",
          region="330100", patient_class="outpatient") -> Visit:
    return Visit(hospital, region, period, patient_class, total, drugs, consumables)


def indicators(hospital="H001", *, cpv=10_000, prev=None, growth=None, level=None, index=None,
               in_band=None, avg=None) -> HospitalIndicators:
    return HospitalIndicators(hospital, "330100", "2026-03", 10, cpv, Decimal("0.3"),
                              Decimal("0.1"), prev, growth, level, index, in_band, avg)


# --------------------------------------------------------------------------- growth


@pytest.mark.parametrize("previous, current, level", [
    (100_000, 108_000, "green"),    # exactly 8 %
    (100_000, 108_001, "yellow"),
    (100_000, 110_000, "yellow"),   # exactly 10 %
    (100_000, 110_001, "red"),
    (100_000, 90_000, "green"),
    (100_000, 100_000, "green"),
])
def test_growth_above_8_percent_is_yellow_and_above_10_percent_red(previous, current, level):
    assert growth_level(previous, current)[1] == level


def test_growth_is_an_exact_decimal():
    assert growth_level(100_000, 108_001)[0] == Decimal("0.08001")
    assert growth_level(100_000, 110_000)[0] == Decimal("0.1")
    assert growth_level(100_000, 95_000)[0] == Decimal("-0.05")


def test_levels_are_decided_on_integers_not_on_rounded_growth():
    # 3 → 3.24 is exactly 8 %; in fen that is 300 → 324
    assert growth_level(300, 324)[1] == "green"
    assert growth_level(300, 325)[1] == "yellow"
    # 1/3 growth is not representable; the level is still exact
    growth, level = growth_level(3, 4)
    assert level == "red" and growth.is_finite()


def test_growth_from_zero_is_refused():
    with pytest.raises(ValueError) as err:
        growth_level(0, 100)
    assert isinstance(err.value, IndicatorError) and err.value.field == "previous_fen"


@pytest.mark.parametrize("args", [(-1, 10), (10, -1), (Decimal("10"), 11), (10.0, 11)])
def test_growth_refuses_amounts_that_are_not_whole_non_negative_fen(args):
    with pytest.raises(IndicatorError):
        growth_level(*args)


# --------------------------------------------------------------------------- cost index


def test_cost_index_is_the_ratio_to_the_regional_average_in_4_places():
    assert cost_index(12_000, 10_000) == Decimal("1.2000")
    assert cost_index(10_000, 30_000) == Decimal("0.3333")
    assert cost_index(20_000, 30_000) == Decimal("0.6667")


@pytest.mark.parametrize("hospital, in_band", [
    (8_000, True), (7_999, False), (12_000, True), (12_001, False), (10_000, True),
])
def test_the_cost_band_is_0_8_to_1_2_inclusive(hospital, in_band):
    assert in_cost_band(hospital, 10_000) is in_band


def test_the_band_is_decided_exactly_even_when_the_rounded_index_sits_on_the_edge():
    assert cost_index(120_001, 100_000) == Decimal("1.2000")
    assert in_cost_band(120_001, 100_000) is False


def test_a_zero_regional_average_is_refused():
    with pytest.raises(IndicatorError) as err:
        cost_index(1, 0)
    assert err.value.field == "regional_avg_fen"


# --------------------------------------------------------------------------- compute


def test_indicators_per_hospital_with_shares_growth_and_index():
    visits = [
        visit("H001", 10_000, 3_000, 1_000, period="2026-02"),
        visit("H001", 11_000, 3_000, 2_000),
        visit("H001", 12_000, 4_000, 2_000),
        visit("H002", 8_000, 2_000, 1_000),
        visit("H002", 8_000, 2_000, 1_000, period="2026-02"),
    ]
    h1, h2 = compute_indicators(visits, "2026-03", "2026-02")
    assert (h1.hospital_id, h1.visits, h1.cost_per_visit_fen) == ("H001", 2, 11_500)
    assert h1.drug_share == Decimal("0.3043")  # 7000 / 23000
    assert h1.consumable_share == Decimal("0.1739")
    assert h1.previous_cost_per_visit_fen == 10_000
    assert (h1.growth, h1.growth_level) == (Decimal("0.15"), "red")
    assert h1.regional_avg_fen == 10_333  # 31000 / 3
    assert h1.cost_index == Decimal("1.1129")
    assert h1.cost_index_in_band is True
    assert (h2.growth, h2.growth_level) == (Decimal("0"), "green")
    assert h2.cost_index == Decimal("0.7742")
    assert h2.cost_index_in_band is False


def test_cost_per_visit_rounds_half_up_to_the_fen():
    visits = [visit(total=1, drugs=0, consumables=0),
              visit(total=2, drugs=0, consumables=0)]  # 1.5 fen
    assert compute_indicators(visits, "2026-03", "2026-02")[0].cost_per_visit_fen == 2


def test_regions_are_averaged_separately():
    visits = [visit("H001", 10_000), visit("H002", 30_000, 0, 0, region="330200")]
    h1, h2 = compute_indicators(visits, "2026-03", "2026-02")
    assert h1.cost_index == h2.cost_index == Decimal("1.0000")


def test_a_hospital_without_a_previous_period_has_no_growth():
    (h1,) = compute_indicators([visit()], "2026-03", "2026-02")
    assert h1.previous_cost_per_visit_fen is None
    assert h1.growth is None and h1.growth_level is None


def test_results_are_sorted_by_hospital_and_only_cover_the_period():
    visits = [visit("H003"), visit("H001"), visit("H002", period="2026-02")]
    assert [i.hospital_id for i in compute_indicators(visits, "2026-03", "2026-02")] == [
        "H001", "H003"]


def test_indicators_can_be_restricted_to_one_patient_class():
    visits = [visit(total=10_000), visit(total=900_000, drugs=0, consumables=0,
                                         patient_class="inpatient")]
    (h1,) = compute_indicators(visits, "2026-03", "2026-02", patient_class="outpatient")
    assert h1.visits == 1 and h1.cost_per_visit_fen == 10_000


def test_a_zero_cost_period_has_zero_shares():
    (h1,) = compute_indicators([visit(total=0, drugs=0, consumables=0)], "2026-03", "2026-02")
    assert h1.drug_share == 0 and h1.cost_index is None and h1.cost_index_in_band is None


@pytest.mark.parametrize("kwargs, field_name", [
    ({"period": "2026-13"}, "period"),
    ({"total": -1}, "total_fen"),
    ({"total": 100, "drugs": 80, "consumables": 30}, "total_fen"),
    ({"region": ""}, "region_code"),
])
def test_a_malformed_visit_is_refused_naming_the_field(kwargs, field_name):
    with pytest.raises(IndicatorError) as err:
        visit(**kwargs)
    assert err.value.field == field_name


def test_periods_must_be_months_in_order():
    with pytest.raises(IndicatorError) as err:
        compute_indicators([], "2026-03", "2026-03")
    assert err.value.field == "previous_period"
    with pytest.raises(IndicatorError) as err:
        compute_indicators([], "March", "2026-02")
    assert err.value.field == "period"


def test_a_hospital_in_two_regions_is_refused():
    with pytest.raises(IndicatorError) as err:
        compute_indicators([visit(), visit(region="330200")], "2026-03", "2026-02")
    assert err.value.field == "region_code"


# --------------------------------------------------------------------------- breaches


def test_growth_breaches_carry_level_value_threshold_and_message():
    found = breaches([
        indicators("H001", cpv=10_850, prev=10_000, growth=Decimal("0.085"), level="yellow"),
        indicators("H002", cpv=11_200, prev=10_000, growth=Decimal("0.12"), level="red"),
        indicators("H003", cpv=10_800, prev=10_000, growth=Decimal("0.08"), level="green"),
    ])
    assert [(b.hospital_id, b.indicator, b.level, b.threshold) for b in found] == [
        ("H001", "cost_growth", "yellow", Decimal("0.08")),
        ("H002", "cost_growth", "red", Decimal("0.10")),
    ]
    assert found[0].value == Decimal("0.085")
    assert "8.5%" in found[0].message and "100.00 → 108.50 yuan" in found[0].message
    assert "above the 8% yellow threshold" in found[0].message


@pytest.mark.parametrize("cpv, level, threshold", [
    (12_001, "yellow", Decimal("1.2")),
    (13_000, "yellow", Decimal("1.2")),
    (13_001, "red", Decimal("1.3")),
    (7_999, "yellow", Decimal("0.8")),
    (7_000, "yellow", Decimal("0.8")),
    (6_999, "red", Decimal("0.7")),
])
def test_a_cost_index_outside_the_band_is_yellow_within_0_7_to_1_3_else_red(cpv, level,
                                                                              threshold):
    ind = indicators(cpv=cpv, index=cost_index(cpv, 10_000),
                     in_band=in_cost_band(cpv, 10_000), avg=10_000)
    (breach,) = breaches([ind])
    assert (breach.indicator, breach.level, breach.threshold) == ("cost_index", level, threshold)
    assert breach.value == cost_index(cpv, 10_000)
    assert "regional band [0.8, 1.2]" in breach.message


def test_a_cost_index_in_the_band_is_no_breach():
    ind = indicators(cpv=12_000, index=Decimal("1.2000"), in_band=True, avg=10_000)
    assert breaches([ind]) == []


def test_indicators_built_without_the_regional_average_fall_back_on_the_index():
    (breach,) = breaches([indicators(cpv=14_000, index=Decimal("1.4000"), in_band=False)])
    assert breach.level == "red"


def test_breaches_follow_compute_indicators():
    visits = [visit("H001", 10_000, 0, 0, period="2026-02"), visit("H001", 11_100, 0, 0),
              visit("H002", 7_000, 0, 0), visit("H003", 10_000, 0, 0)]
    found = breaches(compute_indicators(visits, "2026-03", "2026-02"))
    assert [(b.hospital_id, b.indicator, b.level) for b in found] == [
        ("H001", "cost_growth", "red"), ("H002", "cost_index", "yellow")]
    assert all(isinstance(b, Breach) for b in found)


@pytest.mark.parametrize("period", ["0000-01", "0001-01", "9999-12", "1899-12", "2200-01"])
def test_a_period_outside_1900_to_2199_is_refused(period):
    """Issue 12 finding 4: a period in year 0 or 9999 reached date arithmetic and overflowed."""
    from cost_sharing.domain.indicators import IndicatorError, _check_period

    with pytest.raises(IndicatorError):
        _check_period(period, "period")
