from datetime import UTC, datetime, timedelta, timezone

import pytest

from referral.domain.rules import (
    Direction,
    Level,
    Rule,
    RuleBook,
    RuleError,
    RuleSet,
    Severity,
    Urgency,
    normalize_icd10,
    sample_rules,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def rule(rule_id: str, icd10: str, **overrides) -> Rule:
    fields = dict(severities={Severity.STABLE}, direction=Direction.UP, required_specialty="cardiology",
                  target_levels={Level.TERTIARY}, urgency=Urgency.URGENT, description="synthetic rule")
    fields.update(overrides)
    return Rule(rule_id, icd10, **fields)


@pytest.mark.parametrize("raw", ["I10", " i10 ", "I10.x00", "i10.X00", "I10X00"])
def test_icd_codes_are_normalised_to_undotted_upper_case(raw):
    assert normalize_icd10(raw).startswith("I10")


@pytest.mark.parametrize("raw", ["", "10", "I1", "I.10", "I10..1", "I10.x00.1", "?", "I10 x"])
def test_malformed_icd_codes_are_refused_naming_the_field(raw):
    with pytest.raises(RuleError) as err:
        normalize_icd10(raw)
    assert err.value.field_name == "diagnosis_code"


def test_a_dotted_national_extension_matches_both_exact_and_prefix_rules():
    exact, prefix = rule("A", "I10"), rule("B", "I10*")
    for code in ("I10.x00", "i10.X00", "I10X00", "I10"):
        assert exact.matches(code, Severity.STABLE)
        assert prefix.matches(code, Severity.STABLE)


def test_an_exact_rule_does_not_match_a_sibling_code():
    assert not rule("A", "I21.0").matches("I21.1", Severity.STABLE)
    assert rule("A", "I21.0").matches("I21.000", Severity.STABLE)


def test_a_rule_does_not_match_other_severities():
    assert not rule("A", "I10").matches("I10", Severity.CRITICAL)


def test_a_range_is_inclusive_by_three_character_category():
    r = rule("R", "I20-I25")
    assert r.matches("I20.0", Severity.STABLE)
    assert r.matches("I25.9", Severity.STABLE)
    assert not r.matches("I19", Severity.STABLE)
    assert not r.matches("I26.0", Severity.STABLE)


def test_matching_returns_exact_before_longer_prefix_before_shorter_prefix_before_range():
    rules = RuleSet(1, T0, (rule("z-range", "I20-I25"), rule("y-short", "I2*"),
                            rule("x-long", "I21*"), rule("w-exact", "I21.0"), rule("v-other", "J44*")))
    assert [r.rule_id for r in rules.match("i21.0", Severity.STABLE)] == ["w-exact", "x-long", "y-short", "z-range"]


def test_equally_specific_rules_are_ordered_by_rule_id():
    rules = RuleSet(1, T0, (rule("b", "I10*"), rule("a", "I10*")))
    assert [r.rule_id for r in rules.match("I10", Severity.STABLE)] == ["a", "b"]


def test_a_narrower_range_comes_before_a_wider_one():
    rules = RuleSet(1, T0, (rule("a-wide", "I00-I99"), rule("b-narrow", "I20-I25")))
    assert [r.rule_id for r in rules.match("I21", Severity.STABLE)] == ["b-narrow", "a-wide"]


@pytest.mark.parametrize(("overrides", "field_name"), [
    ({"icd10": "I25-I20"}, "icd10"),
    ({"icd10": "I2-I25"}, "icd10"),
    ({"icd10": "1*"}, "icd10"),
    ({"icd10": ""}, "icd10"),
    ({"rule_id": "bad id"}, "rule_id"),
    ({"severities": set()}, "severities"),
    ({"severities": {"dire"}}, "severities"),
    ({"target_levels": set()}, "target_levels"),
    ({"target_levels": {Level.PRIMARY}}, "target_levels"),
    ({"direction": "sideways"}, "direction"),
    ({"urgency": "whenever"}, "urgency"),
    ({"required_specialty": "Cardiology!"}, "required_specialty"),
    ({"description": " "}, "description"),
])
def test_invalid_rules_are_refused_naming_the_field(overrides, field_name):
    fields = {"rule_id": "R1", "icd10": "I10"} | overrides
    with pytest.raises(RuleError) as err:
        rule(fields.pop("rule_id"), fields.pop("icd10"), **fields)
    assert err.value.field_name == field_name


def test_a_down_rule_cannot_target_tertiary_care():
    with pytest.raises(RuleError, match="target_levels"):
        rule("D", "I10", direction=Direction.DOWN, target_levels={Level.TERTIARY})


def test_a_rule_set_refuses_duplicate_rule_ids():
    with pytest.raises(RuleError, match="duplicate"):
        RuleSet(1, T0, (rule("a", "I10"), rule("a", "I11")))


def test_a_rule_set_refuses_a_naive_effective_from():
    with pytest.raises(RuleError, match="effective_from"):
        RuleSet(1, datetime(2026, 1, 1), ())


def test_rules_and_rule_sets_are_immutable():
    rules = sample_rules()
    with pytest.raises(AttributeError):
        rules.version = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        rules.rules[0].direction = Direction.DOWN  # type: ignore[misc]
    assert isinstance(rules.rules, tuple)


def test_publishing_appends_a_new_version_and_leaves_the_old_book_untouched():
    book = RuleBook((sample_rules(T0),))
    later = T0 + timedelta(days=30)
    newer = book.publish([rule("NEW", "I10")], later, now=T0 + timedelta(days=1))
    assert [v.version for v in newer.versions] == [1, 2]
    assert len(book.versions) == 1
    assert newer.in_force(later - timedelta(microseconds=1)).version == 1
    assert newer.in_force(later).version == 2
    assert newer.in_force(T0 - timedelta(seconds=1)) is None


def test_publishing_cannot_backdate():
    book = RuleBook((sample_rules(T0),))
    now = T0 + timedelta(days=10)
    with pytest.raises(RuleError, match="backdated"):
        book.publish([rule("NEW", "I10")], now - timedelta(seconds=1), now)


def test_publishing_must_start_strictly_after_the_latest_version():
    book = RuleBook((sample_rules(T0 + timedelta(days=5)),))
    with pytest.raises(RuleError, match="after version 1"):
        book.publish([rule("NEW", "I10")], T0 + timedelta(days=5), now=T0)


def test_publishing_at_exactly_now_is_allowed():
    book = RuleBook().publish([rule("NEW", "I10")], T0, now=T0)
    assert book.latest.version == 1


def test_in_force_compares_instants_across_time_zones():
    book = RuleBook((sample_rules(T0),))
    beijing = timezone(timedelta(hours=8))
    assert book.in_force(datetime(2026, 1, 1, 8, tzinfo=beijing)).version == 1
    assert book.in_force(datetime(2026, 1, 1, 7, 59, tzinfo=beijing)) is None


def test_a_rule_book_refuses_out_of_order_versions():
    with pytest.raises(RuleError, match="versions"):
        RuleBook((sample_rules(T0, version=2),))
    with pytest.raises(RuleError, match="versions"):
        RuleBook((sample_rules(T0), sample_rules(T0, version=2)))


@pytest.mark.parametrize(("code", "severity", "rule_id", "direction", "levels"), [
    ("I10", Severity.STABLE, "SAMPLE-HTN-STABLE-DOWN", Direction.DOWN, {Level.PRIMARY}),
    ("I10.x00", Severity.CRITICAL, "SAMPLE-HTN-EMERGENCY-UP", Direction.UP, {Level.TERTIARY}),
    ("I16.1", Severity.SEVERE, "SAMPLE-HTN-CRISIS-UP", Direction.UP, {Level.TERTIARY}),
    ("I21.0", Severity.MODERATE, "SAMPLE-AMI-UP", Direction.UP, {Level.TERTIARY}),
    ("I24.9", Severity.MODERATE, "SAMPLE-IHD-MODERATE-UP", Direction.UP, {Level.SECONDARY, Level.TERTIARY}),
    ("I63.9", Severity.CRITICAL, "SAMPLE-STROKE-UP", Direction.UP, {Level.TERTIARY}),
    ("J44.1", Severity.STABLE, "SAMPLE-COPD-STABLE-DOWN", Direction.DOWN, {Level.PRIMARY, Level.SECONDARY}),
    ("Z48.8", Severity.MODERATE, "SAMPLE-POSTOP-RECOVERY-DOWN", Direction.DOWN, {Level.PRIMARY, Level.SECONDARY}),
])
def test_the_sample_rules_route_the_textbook_cases(code, severity, rule_id, direction, levels):
    best = sample_rules().match(code, severity)[0]
    assert (best.rule_id, best.direction, best.target_levels) == (rule_id, direction, levels)


def test_the_sample_rules_are_labelled_as_samples():
    assert all(r.rule_id.startswith("SAMPLE-") and r.description.startswith("SAMPLE") for r in sample_rules().rules)


def test_moderate_hypertension_matches_no_sample_rule():
    assert sample_rules().match("I10", Severity.MODERATE) == []
