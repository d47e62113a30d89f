from datetime import UTC, datetime, timedelta

import pytest

from referral.domain.rules import Direction, Level, Severity, Urgency, sample_rules
from referral.domain.workflow import (
    TRANSITIONS,
    AlreadyAccepted,
    DeadlineNotReached,
    DeadlinePassed,
    Encounter,
    IllegalTransition,
    NotOffered,
    OfferState,
    Referral,
    ReferralAccepted,
    ReferralCancelled,
    ReferralError,
    ReferralEscalated,
    ReferralExpired,
    ReferralOffered,
    ReferralOfferWithdrawn,
    ReferralRejected,
    ReferralRequested,
    Status,
    referral_indicators,
    siphoning_signal,
)

T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
MIN = timedelta(minutes=1)


def new(urgency=Urgency.URGENT, referral_id="R-1", direction=Direction.UP, now=T0) -> Referral:
    return Referral.request(referral_id, "P-SYNTH-001", "H-COUNTY", direction, "I21.0",
                            Severity.CRITICAL, urgency, "SAMPLE-AMI-UP", 1, now)


def at(status: Status) -> Referral:
    """A referral driven to ``status`` through legal steps (urgent: deadline T0 + 4 h)."""
    r = new()
    if status is Status.REQUESTED:
        return r
    if status is Status.EXPIRED:
        r.expire(r.deadline)
        return r
    if status is Status.CANCELLED:
        r.cancel("H-COUNTY", "patient declined", T0 + MIN)
        return r
    r.offer(["H1", "H2"], T0 + MIN)
    if status is Status.OFFERED:
        return r
    if status is Status.REJECTED:
        r.reject("H1", "no bed", T0 + 2 * MIN)
        r.reject("H2", "no surgeon", T0 + 3 * MIN)
        return r
    r.accept("H1", T0 + 2 * MIN)
    steps = [(Status.IN_TRANSFER, r.start_transfer), (Status.ARRIVED, r.arrive), (Status.COMPLETED, r.complete)]
    for i, (reached, step) in enumerate(steps, start=3):
        if r.status is status:
            break
        step(T0 + i * MIN)
        assert r.status is reached
    return r


def attempt(r: Referral, to: Status) -> None:
    """Invoke the command aiming at ``to``; expiry at the deadline, everything else well before it."""
    late = max(r.deadline, r.last_changed_at)
    now = r.last_changed_at + MIN
    {
        Status.OFFERED: lambda: r.offer(["H3"], now),
        Status.ACCEPTED: lambda: r.accept("H2", now),
        Status.REJECTED: lambda: r.reject("H2", "no bed", now),
        Status.IN_TRANSFER: lambda: r.start_transfer(now),
        Status.ARRIVED: lambda: r.arrive(now),
        Status.COMPLETED: lambda: r.complete(now),
        Status.CANCELLED: lambda: r.cancel("H-COUNTY", "changed plan", now),
        Status.EXPIRED: lambda: r.expire(late),
    }[to]()


TARGETS = [s for s in Status if s is not Status.REQUESTED]
LEGAL = [(f, t) for f in Status for t in TARGETS if t in TRANSITIONS[f]]
ILLEGAL = [(f, t) for f in Status for t in TARGETS if t not in TRANSITIONS[f]]


def test_the_transition_table_is_the_one_agreed():
    assert set(LEGAL) == {
        (Status.REQUESTED, Status.OFFERED), (Status.REQUESTED, Status.CANCELLED), (Status.REQUESTED, Status.EXPIRED),
        (Status.OFFERED, Status.ACCEPTED), (Status.OFFERED, Status.REJECTED), (Status.OFFERED, Status.CANCELLED),
        (Status.OFFERED, Status.EXPIRED), (Status.ACCEPTED, Status.IN_TRANSFER), (Status.ACCEPTED, Status.CANCELLED),
        (Status.IN_TRANSFER, Status.ARRIVED), (Status.IN_TRANSFER, Status.CANCELLED), (Status.ARRIVED, Status.COMPLETED),
    }


@pytest.mark.parametrize(("from_status", "to_status"), ILLEGAL, ids=[f"{f}->{t}" for f, t in ILLEGAL])
def test_every_illegal_transition_raises_and_changes_nothing(from_status, to_status):
    r = at(from_status)
    version, events = r.version, list(r.events)
    with pytest.raises(IllegalTransition) as err:
        attempt(r, to_status)
    assert (err.value.from_status, err.value.to_status) == (from_status, to_status)
    assert (r.status, r.version, r.events) == (from_status, version, events)


@pytest.mark.parametrize(("from_status", "to_status"), LEGAL, ids=[f"{f}->{t}" for f, t in LEGAL])
def test_every_legal_transition_moves_and_bumps_the_version(from_status, to_status):
    r = at(from_status)
    version = r.version
    if to_status is Status.REJECTED:
        r.reject("H1", "no bed", r.last_changed_at + MIN)
    attempt(r, to_status)
    assert r.status is to_status
    assert r.version > version


def test_a_request_records_the_deadline_from_the_urgency():
    for urgency, window in ((Urgency.EMERGENCY, 30 * MIN), (Urgency.URGENT, timedelta(hours=4)),
                            (Urgency.ROUTINE, timedelta(hours=24))):
        r = new(urgency)
        assert r.deadline == T0 + window
        assert r.version == 1
        assert isinstance(r.events[0], ReferralRequested) and r.events[0].deadline == r.deadline


def test_the_deadline_mapping_is_configurable():
    r = Referral.request("R-9", "P", "H", Direction.UP, "I21", Severity.SEVERE, Urgency.EMERGENCY,
                         None, None, T0, deadlines={Urgency.EMERGENCY: timedelta(minutes=15)})
    assert r.deadline == T0 + timedelta(minutes=15)


def test_acceptance_by_a_hospital_without_an_offer_is_refused():
    r = at(Status.OFFERED)
    with pytest.raises(NotOffered):
        r.accept("H-STRANGER", T0 + 2 * MIN)
    assert r.status is Status.OFFERED


def test_acceptance_withdraws_the_other_offers():
    r = at(Status.OFFERED)
    r.accept("H2", T0 + 2 * MIN)
    assert r.offers == {"H1": OfferState.WITHDRAWN, "H2": OfferState.ACCEPTED}
    assert r.accepted_by == "H2"
    assert [type(e) for e in r.events[-2:]] == [ReferralAccepted, ReferralOfferWithdrawn]


def test_a_second_accept_raises_already_accepted_naming_the_winner():
    r = at(Status.OFFERED)
    r.accept("H1", T0 + 2 * MIN)
    with pytest.raises(AlreadyAccepted) as err:
        r.accept("H2", T0 + 3 * MIN)
    assert err.value.accepted_by == "H1"


def test_a_hospital_that_already_rejected_cannot_accept():
    r = at(Status.OFFERED)
    r.reject("H1", "no bed", T0 + 2 * MIN)
    with pytest.raises(NotOffered):
        r.accept("H1", T0 + 3 * MIN)


def test_the_referral_is_rejected_only_when_every_offer_is_rejected():
    r = at(Status.OFFERED)
    r.reject("H1", "no bed", T0 + 2 * MIN)
    assert r.status is Status.OFFERED
    r.reject("H2", "no surgeon on call", T0 + 3 * MIN)
    assert r.status is Status.REJECTED
    rejections = [e for e in r.events if isinstance(e, ReferralRejected)]
    assert [(e.hospital_id, e.reason, e.all_rejected) for e in rejections] == [
        ("H1", "no bed", False), ("H2", "no surgeon on call", True)]


def test_a_rejection_needs_a_reason():
    r = at(Status.OFFERED)
    with pytest.raises(ReferralError, match="reason"):
        r.reject("H1", "  ", T0 + 2 * MIN)


def test_offering_to_the_origin_is_refused():
    with pytest.raises(ReferralError, match="origin"):
        new().offer(["H-COUNTY"], T0)


def test_expiry_at_exactly_the_deadline_is_allowed_and_one_microsecond_earlier_is_not():
    r = at(Status.OFFERED)
    with pytest.raises(DeadlineNotReached):
        r.expire(r.deadline - timedelta(microseconds=1))
    r.expire(r.deadline)
    assert r.status is Status.EXPIRED
    assert set(r.offers.values()) == {OfferState.WITHDRAWN}
    assert isinstance(r.events[-1], ReferralExpired)


def test_acceptance_one_microsecond_before_the_deadline_wins_and_at_the_deadline_is_refused():
    early, late = at(Status.OFFERED), at(Status.OFFERED)
    early.accept("H1", early.deadline - timedelta(microseconds=1))
    assert early.status is Status.ACCEPTED
    with pytest.raises(DeadlinePassed):
        late.accept("H1", late.deadline)


def test_expiring_twice_raises_illegal_transition():
    r = at(Status.EXPIRED)
    with pytest.raises(IllegalTransition):
        r.expire(r.deadline + MIN)


def test_escalation_is_due_once_at_half_time():
    r = new(Urgency.EMERGENCY)  # deadline T0 + 30 min, half-time T0 + 15 min
    assert r.escalation_due(T0 + 15 * MIN - timedelta(microseconds=1)) is False
    assert r.escalation_due(T0 + 15 * MIN) is True
    assert r.escalation_due(T0 + 20 * MIN) is False
    assert [type(e) for e in r.events] == [ReferralRequested, ReferralEscalated]
    assert r.version == 2


def test_no_escalation_after_acceptance_or_after_the_deadline():
    accepted = at(Status.ACCEPTED)
    assert accepted.escalation_due(accepted.deadline - MIN) is False
    missed = new(Urgency.EMERGENCY)
    assert missed.escalation_due(missed.deadline) is False


def test_cancelling_withdraws_pending_offers_and_records_who_and_why():
    r = at(Status.OFFERED)
    r.cancel("DR-SYNTH-7", "patient stabilised", T0 + 2 * MIN)
    assert set(r.offers.values()) == {OfferState.WITHDRAWN}
    last = r.events[-1]
    assert isinstance(last, ReferralCancelled)
    assert (last.by, last.reason, last.previous_status) == ("DR-SYNTH-7", "patient stabilised", Status.OFFERED)


def test_time_cannot_run_backwards():
    r = at(Status.OFFERED)
    with pytest.raises(ReferralError, match="now"):
        r.accept("H1", T0)


def test_naive_datetimes_are_refused():
    with pytest.raises(ReferralError, match="now"):
        Referral.request("R", "P", "H", Direction.UP, "I21", Severity.SEVERE, Urgency.URGENT, None, None,
                         datetime(2026, 3, 1))


def test_every_event_carries_the_referral_id_and_time():
    r = at(Status.COMPLETED)
    assert all(e.referral_id == "R-1" and e.at.tzinfo is not None for e in r.events)
    assert r.version == 1 + 5  # offer, accept, transfer, arrive, complete
    assert isinstance(r.events[1], ReferralOffered) and r.events[1].hospital_ids == ("H1", "H2")


def test_a_completed_up_referral_is_referred_back_down_to_its_origin():
    up = at(Status.COMPLETED)
    now = T0 + timedelta(days=5)
    down = up.down_referral("R-2", now, diagnosis_code="Z48.8")
    assert (down.direction, down.linked_from, down.origin_hospital) == (Direction.DOWN, "R-1", "H1")
    assert down.offers == {"H-COUNTY": OfferState.PENDING}
    assert down.status is Status.OFFERED
    assert (down.severity, down.urgency, down.patient_id) == (Severity.STABLE, Urgency.ROUTINE, "P-SYNTH-001")
    assert up.status is Status.COMPLETED and up.version == 6


def test_only_completed_up_referrals_can_be_referred_down():
    with pytest.raises(ReferralError, match="completed"):
        at(Status.ARRIVED).down_referral("R-2", T0 + timedelta(days=1))
    up = at(Status.COMPLETED)
    down = up.down_referral("R-2", T0 + timedelta(days=1))
    down.accept("H-COUNTY", T0 + timedelta(days=1, minutes=5))
    for step in (down.start_transfer, down.arrive, down.complete):
        step(T0 + timedelta(days=2))
    with pytest.raises(ReferralError, match="up-referral"):
        down.down_referral("R-3", T0 + timedelta(days=3))


# --------------------------------------------------------------------------- indicators


def test_indicators_compute_rate_down_share_median_acceptance_and_expiries():
    fast = at(Status.OFFERED)
    fast.accept("H1", T0 + 11 * MIN)  # 11 min
    slow = at(Status.OFFERED)
    slow.accept("H2", T0 + 31 * MIN)  # 31 min
    slower = at(Status.OFFERED)
    slower.accept("H1", T0 + 61 * MIN)  # 61 min
    expired = at(Status.EXPIRED)
    down = new(direction=Direction.DOWN, referral_id="R-D")
    result = referral_indicators([fast, slow, slower, expired, down], eligible_cases=20)
    assert result.referrals == 5
    assert result.referral_rate == 0.25
    assert result.meets_target is False
    assert result.down_referrals == 1 and result.down_share == 0.2
    assert result.accepted == 3
    assert result.median_minutes_to_acceptance == 31.0
    assert result.expired == 1


def test_a_thirty_percent_referral_rate_meets_the_target():
    result = referral_indicators([new(referral_id=f"R-{i}") for i in range(3)], eligible_cases=10)
    assert result.referral_rate == pytest.approx(0.3)
    assert result.meets_target is True


def test_indicators_with_nothing_to_measure_are_none_not_errors():
    result = referral_indicators([], eligible_cases=0)
    assert (result.referral_rate, result.meets_target, result.down_share,
            result.median_minutes_to_acceptance) == (None, None, None, None)


def test_negative_eligible_cases_are_refused():
    with pytest.raises(ReferralError, match="eligible_cases"):
        referral_indicators([], eligible_cases=-1)


def encounters(hospital_id, level, kept, referred, other):
    return ([Encounter(hospital_id, level, "I10.x00", Severity.STABLE, False)] * kept
            + [Encounter(hospital_id, level, "I10", Severity.STABLE, True)] * referred
            + [Encounter(hospital_id, level, "I21.0", Severity.CRITICAL, False)] * other)


def test_siphoning_flags_a_tertiary_hospital_keeping_primary_care_cases():
    data = (encounters("H-SIPHON", Level.TERTIARY, kept=3, referred=1, other=6)
            + encounters("H-GOOD", Level.TERTIARY, kept=2, referred=4, other=4)
            + encounters("H-COUNTY", Level.SECONDARY, kept=9, referred=0, other=1))
    signals = siphoning_signal(data, sample_rules())
    assert [(s.hospital_id, s.admitted, s.primary_care_cases, s.kept, s.share, s.flagged) for s in signals] == [
        ("H-GOOD", 10, 6, 2, 0.2, False),
        ("H-SIPHON", 10, 4, 3, 0.3, True),
    ]


def test_siphoning_ignores_cases_the_rules_send_down_to_secondary_only_or_up():
    data = [Encounter("H-T", Level.TERTIARY, "I10", Severity.CRITICAL, False),
            Encounter("H-T", Level.TERTIARY, "I10", Severity.MODERATE, False)]
    (signal,) = siphoning_signal(data, sample_rules(), threshold=0.0)
    assert (signal.kept, signal.flagged) == (0, False)


def test_the_siphoning_threshold_is_configurable():
    data = encounters("H-T", Level.TERTIARY, kept=1, referred=0, other=9)
    assert siphoning_signal(data, sample_rules())[0].flagged is False
    assert siphoning_signal(data, sample_rules(), threshold=0.05)[0].flagged is True
