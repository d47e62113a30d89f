from decimal import Decimal

import pytest

from cost_sharing.domain.scorecard import (
    DEFAULT_TARGETS,
    DEFAULT_WEIGHTS,
    PERSPECTIVES,
    Measure,
    ScorecardError,
    balanced_scorecard,
    measure_for,
    score,
)

D = Decimal


def lower(value, target="0.30", key="drug_share", perspective="financial") -> Measure:
    return Measure(key, perspective, None if value is None else D(value), D(target),
                   "lower_is_better", key)


def higher(value, target="0.30", key="referral_rate", perspective="patient") -> Measure:
    return Measure(key, perspective, None if value is None else D(value), D(target),
                   "higher_is_better", key)


# --------------------------------------------------------------------------- scoring a measure


@pytest.mark.parametrize("value, expected", [
    ("0.20", "100.00"),   # better than target
    ("0.30", "100.00"),   # at target
    ("0.45", "50.00"),    # halfway to twice the target
    ("0.60", "0.00"),     # twice the target
    ("0.90", "0.00"),     # beyond: floored at 0
    ("0.31", "96.67"),
])
def test_lower_is_better_scores_100_at_target_falling_to_0_at_twice_the_target(value, expected):
    assert score(lower(value)) == D(expected)


@pytest.mark.parametrize("value, expected", [
    ("0.40", "100.00"),
    ("0.30", "100.00"),
    ("0.15", "50.00"),
    ("0", "0.00"),
    ("0.29", "96.67"),
])
def test_higher_is_better_scores_100_at_target_falling_to_0_at_zero(value, expected):
    assert score(higher(value)) == D(expected)


def test_a_measure_without_a_value_has_no_score():
    assert score(lower(None)) is None


@pytest.mark.parametrize("kwargs, field_name", [
    ({"perspective": "marketing"}, "drug_share.perspective"),
    ({"target": D("0")}, "drug_share.target"),
    ({"target": 0.3}, "drug_share.target"),
    ({"value": 0.2}, "drug_share.value"),
    ({"direction": "up"}, "drug_share.direction"),
])
def test_a_malformed_measure_is_refused_naming_the_field(kwargs, field_name):
    fields = dict(key="drug_share", perspective="financial", value=D("0.2"), target=D("0.3"),
                  direction="lower_is_better", label="Drug share")
    fields.update(kwargs)
    with pytest.raises(ScorecardError) as err:
        Measure(**fields)
    assert err.value.field == field_name
    assert isinstance(err.value, ValueError)


# --------------------------------------------------------------------------- the scorecard


def full_set() -> list[Measure]:
    return [
        lower("0.30", key="drug_share"),                                  # 100
        lower("0.25", "0.20", key="consumable_share"),                    # 75
        higher("0.15", key="referral_rate"),                              # 50
        lower("45", "30", key="settlement_cycle_days", perspective="process"),  # 50
        higher("10", "10", key="joint_services", perspective="learning"),  # 100
    ]


def test_default_weights_follow_the_document():
    assert DEFAULT_WEIGHTS == {"financial": D("0.30"), "patient": D("0.25"),
                               "process": D("0.30"), "learning": D("0.15")}
    assert sum(DEFAULT_WEIGHTS.values()) == 1


def test_perspectives_score_the_mean_of_their_measures_and_the_total_weights_them():
    card = balanced_scorecard(full_set())
    by_name = {p.perspective: p for p in card.perspectives}
    assert [p.perspective for p in card.perspectives] == list(PERSPECTIVES)
    assert by_name["financial"].score == D("87.50")
    assert by_name["patient"].score == D("50.00")
    assert by_name["process"].score == D("50.00")
    assert by_name["learning"].score == D("100.00")
    # 0.30 × 87.5 + 0.25 × 50 + 0.30 × 50 + 0.15 × 100
    assert card.total == D("68.75")
    assert card.missing == ()
    assert by_name["financial"].measures[1] == ("consumable_share", "consumable_share",
                                                D("0.25"), D("0.20"), D("75.00"))
    assert by_name["financial"].measures[1].score == D("75.00")


def test_a_missing_perspective_has_its_weight_redistributed_proportionally():
    card = balanced_scorecard([m for m in full_set() if m.perspective != "learning"])
    by_name = {p.perspective: p for p in card.perspectives}
    assert card.missing == ("learning",)
    assert by_name["learning"].score is None and by_name["learning"].effective_weight == 0
    # (0.30 × 87.5 + 0.25 × 50 + 0.30 × 50) / 0.85
    assert card.total == D("63.24")
    assert by_name["financial"].effective_weight == D("0.3529")
    assert any("learning" in n and "redistributed" in n for n in card.notes)


def test_a_perspective_whose_only_measure_has_no_value_counts_as_missing():
    measures = [*full_set()[:4], higher(None, "10", key="joint_services", perspective="learning")]
    card = balanced_scorecard(measures)
    assert card.missing == ("learning",)
    learning = card.perspectives[3]
    assert learning.measures[0].score is None
    assert any("joint_services has no value" in n for n in card.notes)


def test_measures_without_values_are_left_out_of_their_perspectives_mean():
    card = balanced_scorecard([lower("0.30"), lower(None, key="cost_growth")])
    assert card.perspectives[0].score == D("100.00")


def test_with_no_values_at_all_there_is_no_total():
    card = balanced_scorecard([])
    assert card.total is None
    assert card.missing == PERSPECTIVES


def test_custom_weights_are_used():
    weights = {"financial": D("0.4"), "patient": D("0.2"), "process": D("0.2"),
               "learning": D("0.2")}
    card = balanced_scorecard(full_set(), weights)
    assert card.total == D("75.00")  # 35 + 10 + 10 + 20


@pytest.mark.parametrize("weights", [
    {"financial": D("0.5"), "patient": D("0.25"), "process": D("0.30"), "learning": D("0.15")},
    {"financial": D("0.30"), "patient": D("0.25"), "process": D("0.45")},
    {"financial": D("-0.1"), "patient": D("0.35"), "process": D("0.60"), "learning": D("0.15")},
    {"financial": 0.3, "patient": D("0.25"), "process": D("0.30"), "learning": D("0.15")},
])
def test_weights_must_cover_the_four_perspectives_and_sum_to_one(weights):
    with pytest.raises(ScorecardError) as err:
        balanced_scorecard(full_set(), weights)
    assert err.value.field.startswith("weights")


def test_duplicate_measure_keys_are_refused():
    with pytest.raises(ScorecardError) as err:
        balanced_scorecard([lower("0.2"), lower("0.3")])
    assert err.value.field == "measures"


# --------------------------------------------------------------------------- default targets


def test_default_targets_cover_the_alliance_indicators_in_their_perspectives():
    expected = {
        "drug_share": ("financial", D("0.30"), "lower_is_better"),
        "consumable_share": ("financial", D("0.20"), "lower_is_better"),
        "cost_growth": ("financial", D("0.05"), "lower_is_better"),
        "cost_index": ("financial", D("1.0"), "lower_is_better"),
        "referral_rate": ("patient", D("0.30"), "higher_is_better"),
        "recognition_rate": ("patient", D("0.5"), "higher_is_better"),
        "warning_answer_on_time": ("process", D("0.9"), "higher_is_better"),
        "settlement_cycle_days": ("process", D("30"), "lower_is_better"),
    }
    for key, (perspective, target, direction) in expected.items():
        t = DEFAULT_TARGETS[key]
        assert (t.perspective, t.target, t.direction) == (perspective, target, direction)
    assert {t.perspective for t in DEFAULT_TARGETS.values()} == set(PERSPECTIVES)


def test_a_measure_can_be_built_from_the_default_targets():
    m = measure_for("cost_growth", D("0.075"))
    assert (m.perspective, m.target, m.direction) == ("financial", D("0.05"), "lower_is_better")
    assert score(m) == D("50.00")
    with pytest.raises(ScorecardError):
        measure_for("bed_use", D("0.9"))


def test_a_scorecard_from_default_targets_covers_all_four_perspectives():
    values = {"drug_share": "0.28", "consumable_share": "0.22", "cost_growth": "0.04",
              "cost_index": "1.05", "referral_rate": "0.31", "recognition_rate": "0.45",
              "warning_answer_on_time": "1", "settlement_cycle_days": "28", "joint_services": "6"}
    card = balanced_scorecard([measure_for(k, D(v)) for k, v in values.items()])
    assert card.missing == ()
    assert card.total is not None and D(0) <= card.total <= D(100)
