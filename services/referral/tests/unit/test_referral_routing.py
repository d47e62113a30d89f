from datetime import UTC, datetime, timedelta

import pytest

from referral.domain.routing import (
    BedStatus,
    Candidate,
    RoutingError,
    RoutingPolicy,
    RoutingRequest,
    route,
)
from referral.domain.rules import Level, Severity, sample_rules

NOW = datetime(2026, 3, 1, 9, tzinfo=UTC)
RULES = sample_rules()
POLICY = RoutingPolicy()
ORIGIN = "H-COUNTY-A"
ORIGIN_REGION = "330102"


def beds(hospital_id, available, total=100, specialty="cardiology", age=timedelta(hours=1)):
    return BedStatus(hospital_id, specialty, available, total, NOW - age)


def tertiary(hospital_id, region="440300", available=5, total=100, open_referrals=0, **kw):
    status = kw.pop("beds", beds(hospital_id, available, total))
    return Candidate(hospital_id, kw.pop("level", Level.TERTIARY), region,
                     kw.pop("specialties", {"cardiology", "neurology"}), 800, status, open_referrals, **kw)


def emergency(code="I21.0", severity=Severity.CRITICAL, hint=None, origin=ORIGIN):
    return RoutingRequest(origin, code, severity, hint, ORIGIN_REGION)


def test_candidates_are_ranked_by_score_with_reasons_for_every_term():
    near = tertiary("H-NEAR", region="330102", available=10, total=100, open_referrals=1)
    far = tertiary("H-FAR", region="440300", available=30, total=100)
    decision = route(emergency(), RULES, [far, near], POLICY, NOW)
    assert decision.rule.rule_id == "SAMPLE-AMI-UP"
    assert decision.hospital_ids == ["H-NEAR", "H-FAR"]
    near_r, far_r = decision.ranked
    assert (near_r.score, near_r.reasons) == (78.0, [
        "same county (330102): +30", "10 free cardiology beds: +50", "1 open referral: -2"])
    assert (far_r.score, far_r.reasons) == (70.0, [
        "30 free cardiology beds: +50", "offering idle beds (occupancy 70% < 80%): +20"])
    assert decision.reason_if_none is None
    assert decision.excluded == []


def test_far_idle_capacity_can_outrank_a_full_neighbour():
    near = tertiary("H-NEAR", region="330102", available=1, total=100)
    far = tertiary("H-FAR", region="440300", available=30, total=100)
    decision = route(emergency(), RULES, [near, far], POLICY, NOW)
    assert [(r.hospital_id, r.score) for r in decision.ranked] == [("H-FAR", 70.0), ("H-NEAR", 35.0)]


@pytest.mark.parametrize(("available", "bonus"), [(21, True), (20, False)])
def test_the_idle_bed_bonus_applies_below_80_percent_occupancy_only(available, bonus):
    decision = route(emergency(), RULES, [tertiary("H-T", available=available, total=100)], POLICY, NOW)
    reasons = decision.ranked[0].reasons
    assert any("offering idle beds (occupancy 79% < 80%)" in r for r in reasons) is bonus
    assert decision.ranked[0].score == 50.0 + (20.0 if bonus else 0.0)


def test_a_secondary_hospital_never_gets_the_idle_bed_bonus():
    request = emergency(code="I24.9", severity=Severity.MODERATE)
    second = tertiary("H-S", level=Level.SECONDARY, available=50, total=100)
    decision = route(request, RULES, [second], POLICY, NOW)
    assert not any("idle" in r for r in decision.ranked[0].reasons)


def test_stale_bed_data_weighs_half_and_is_flagged():
    fresh = tertiary("H-FRESH", beds=beds("H-FRESH", 30, 100, age=timedelta(hours=6)))
    stale = tertiary("H-STALE", beds=beds("H-STALE", 30, 100, age=timedelta(hours=6, seconds=1)))
    decision = route(emergency(), RULES, [stale, fresh], POLICY, NOW)
    by_id = {r.hospital_id: r for r in decision.ranked}
    assert by_id["H-FRESH"].score == 70.0
    assert by_id["H-STALE"].score == 35.0
    assert any(r.startswith("bed report stale (6.0 h old)") for r in by_id["H-STALE"].reasons)
    assert not any("stale" in r for r in by_id["H-FRESH"].reasons)


def test_a_stale_report_of_zero_beds_still_excludes():
    full = tertiary("H-FULL", beds=beds("H-FULL", 0, 100, age=timedelta(hours=12)))
    decision = route(emergency(), RULES, [full], POLICY, NOW)
    assert decision.excluded == [("H-FULL", "no free cardiology bed (stale report)")]


def test_unknown_capacity_is_eligible_but_penalised():
    unknown = tertiary("H-UNKNOWN", beds=None)
    known = tertiary("H-KNOWN", available=1, total=100)
    decision = route(emergency(), RULES, [unknown, known], POLICY, NOW)
    assert decision.hospital_ids == ["H-KNOWN", "H-UNKNOWN"]
    assert decision.ranked[1].score == -15.0
    assert decision.ranked[1].reasons == ["capacity unknown (no cardiology bed report): -15"]


def test_a_bed_report_for_another_specialty_counts_as_unknown():
    other = tertiary("H-T", beds=beds("H-T", 0, 100, specialty="neurology"))
    decision = route(emergency(), RULES, [other], POLICY, NOW)
    assert decision.hospital_ids == ["H-T"]
    assert "capacity unknown" in decision.ranked[0].reasons[0]


@pytest.mark.parametrize(("region", "bonus", "label"), [
    ("330102", 30.0, "same county (330102)"),
    ("330106", 20.0, "same city (3301)"),
    ("330200", 10.0, "same province (33)"),
    ("440300", 0.0, None),
])
def test_region_bonus_follows_county_city_province_tiers(region, bonus, label):
    decision = route(emergency(), RULES, [tertiary("H-T", region=region, available=1, total=10)], POLICY, NOW)
    ranked = decision.ranked[0]
    assert ranked.score == bonus + 5.0
    assert (ranked.reasons[0].startswith(label) if label else ranked.reasons[0].startswith("1 free"))


def test_open_referrals_cost_points():
    decision = route(emergency(), RULES, [tertiary("H-T", available=1, total=10, open_referrals=3)], POLICY, NOW)
    assert decision.ranked[0].score == 5.0 - 6.0
    assert "3 open referrals: -6" in decision.ranked[0].reasons


def test_no_matching_rule_is_a_decision_not_an_exception():
    decision = route(emergency(code="I10", severity=Severity.MODERATE), RULES, [tertiary("H-T")], POLICY, NOW)
    assert decision.rule is None
    assert decision.ranked == []
    assert decision.reason_if_none == "no rule in version 1 covers I10 at severity moderate"


def test_no_free_bed_anywhere_names_the_level_and_specialty():
    full = [tertiary("H-1", available=0), tertiary("H-2", available=0)]
    decision = route(emergency(), RULES, full, POLICY, NOW)
    assert decision.ranked == []
    assert decision.reason_if_none == "no tertiary hospital with cardiology has a free bed"
    assert {h for h, _ in decision.excluded} == {"H-1", "H-2"}


def test_no_hospital_with_the_specialty_is_named():
    decision = route(emergency(code="I63.9"), RULES, [tertiary("H-1", specialties={"cardiology"})], POLICY, NOW)
    assert decision.reason_if_none == "no tertiary hospital with neurology"
    assert decision.excluded == [("H-1", "no neurology")]


def test_no_hospital_at_the_target_level_is_named():
    primary = tertiary("H-P", level=Level.PRIMARY)
    decision = route(emergency(), RULES, [primary], POLICY, NOW)
    assert decision.reason_if_none == "no active tertiary hospital other than the origin"
    assert decision.excluded == [("H-P", "level primary not in target levels (tertiary)")]


def test_the_origin_and_inactive_hospitals_are_excluded():
    origin = tertiary(ORIGIN, available=50)
    closed = tertiary("H-CLOSED", available=50, active=False)
    open_ = tertiary("H-OPEN", available=1)
    decision = route(emergency(), RULES, [origin, closed, open_], POLICY, NOW)
    assert decision.hospital_ids == ["H-OPEN"]
    assert dict(decision.excluded) == {ORIGIN: "origin hospital", "H-CLOSED": "inactive"}


def test_equal_scores_are_ordered_by_hospital_id_whatever_the_input_order():
    hs = [tertiary(h, available=2) for h in ("H-C", "H-A", "H-B")]
    first = route(emergency(), RULES, hs, POLICY, NOW)
    second = route(emergency(), RULES, list(reversed(hs)), POLICY, NOW)
    assert first.hospital_ids == second.hospital_ids == ["H-A", "H-B", "H-C"]


def test_only_the_best_max_offers_are_ranked_and_the_rest_are_accounted_for():
    hs = [tertiary(f"H-{i}", available=i) for i in range(1, 6)]
    decision = route(emergency(), RULES, hs, RoutingPolicy(max_offers=2), NOW)
    assert decision.hospital_ids == ["H-5", "H-4"]
    assert [h for h, _ in decision.excluded] == ["H-3", "H-2", "H-1"]
    assert decision.excluded[0][1] == "below the top 2 offers (score 15)"


def test_a_down_rule_without_specialty_uses_the_hint():
    request = RoutingRequest("H-TERT", "Z48.8", Severity.STABLE, "orthopaedics", ORIGIN_REGION)
    rehab = Candidate("H-PRIMARY", Level.PRIMARY, "330102", {"orthopaedics"}, 40,
                      BedStatus("H-PRIMARY", "orthopaedics", 3, 10, NOW), 0)
    gp = Candidate("H-GP", Level.PRIMARY, "330102", {"general_practice"}, 20, None, 0)
    decision = route(request, RULES, [rehab, gp], POLICY, NOW)
    assert decision.rule.rule_id == "SAMPLE-POSTOP-RECOVERY-DOWN"
    assert decision.hospital_ids == ["H-PRIMARY"]
    assert decision.excluded == [("H-GP", "no orthopaedics")]


def test_duplicate_candidates_are_refused():
    with pytest.raises(RoutingError, match="duplicate"):
        route(emergency(), RULES, [tertiary("H-1"), tertiary("H-1")], POLICY, NOW)


@pytest.mark.parametrize("kwargs", [{"available": 5, "total": 4}, {"available": -1, "total": 4}])
def test_impossible_bed_counts_are_refused(kwargs):
    with pytest.raises(RoutingError):
        BedStatus("H", "cardiology", reported_at=NOW, **kwargs)


def test_region_codes_must_have_six_digits():
    with pytest.raises(RoutingError, match="origin_region"):
        RoutingRequest(ORIGIN, "I21", Severity.SEVERE, None, "3301")


def test_a_naive_now_is_refused():
    with pytest.raises(RoutingError, match="now"):
        route(emergency(), RULES, [], POLICY, datetime(2026, 3, 1))
