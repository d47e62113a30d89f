"""The referral aggregate and its state machine (转诊闭环), plus indicators. Pure domain, no I/O.

Decisions documented here are part of the contract:

* Legal transitions are exactly :data:`TRANSITIONS`; anything else raises
  :class:`IllegalTransition`. ``rejected``, ``completed``, ``cancelled`` and ``expired`` are final
  (after an all-rejected referral the service opens a new one). Offers are made once, from
  ``requested``.
* The deadline is ``created_at + deadlines[urgency]`` (emergency 30 min, urgent 4 h, routine 24 h by
  default). It binds only until acceptance: at ``now >= deadline`` an open referral can no longer be
  offered, accepted or rejected (:class:`DeadlinePassed`) and may be expired; one instant earlier it
  cannot be expired (:class:`DeadlineNotReached`). Cancelling is always possible while legal.
* Escalation is due once, when ``now >= created_at + (deadline - created_at) / 2``, the referral is
  still requested/offered and the deadline has not passed.
* ``now`` must never be earlier than the previous change (a referral's timeline is monotonic).
* ``version`` starts at 1 on request and grows by one per successful command (including a due
  escalation); the service compares it on write so two concurrent accepts cannot both win.
* Cancelling or expiring withdraws every pending offer; accepting withdraws the other pending ones.
* :meth:`Referral.down_referral` creates a new referral from the accepting hospital back to the
  original origin, linked by ``linked_from``, already offered to the origin; the up-referral is
  not modified (the service keeps one down-referral per up-referral).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from .rules import Direction, Level, RuleSet, Severity, Urgency, normalize_icd10


class Status(StrEnum):
    """Where a referral is in its lifecycle."""

    REQUESTED = "requested"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IN_TRANSFER = "in_transfer"
    ARRIVED = "arrived"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class OfferState(StrEnum):
    """State of the offer made to one receiving hospital."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


S = Status
TRANSITIONS: Mapping[Status, frozenset[Status]] = MappingProxyType({
    S.REQUESTED: frozenset({S.OFFERED, S.CANCELLED, S.EXPIRED}),
    S.OFFERED: frozenset({S.ACCEPTED, S.REJECTED, S.CANCELLED, S.EXPIRED}),
    S.ACCEPTED: frozenset({S.IN_TRANSFER, S.CANCELLED}),
    S.IN_TRANSFER: frozenset({S.ARRIVED, S.CANCELLED}),
    S.ARRIVED: frozenset({S.COMPLETED}),
    S.REJECTED: frozenset(),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
})
OPEN_STATUSES = frozenset({S.REQUESTED, S.OFFERED})

DEFAULT_DEADLINES: Mapping[Urgency, timedelta] = MappingProxyType({
    Urgency.EMERGENCY: timedelta(minutes=30),
    Urgency.URGENT: timedelta(hours=4),
    Urgency.ROUTINE: timedelta(hours=24),
})
MAX_TEXT = 500


# --------------------------------------------------------------------------- errors


class ReferralError(ValueError):
    """A referral command is invalid; names the offending field."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field_name = field_name
        self.reason = reason


class IllegalTransition(ReferralError):
    """The state machine does not allow this move."""

    def __init__(self, from_status: Status, to_status: Status) -> None:
        super().__init__("status", f"cannot go from {from_status.value} to {to_status.value}")
        self.from_status = from_status
        self.to_status = to_status


class AlreadyAccepted(IllegalTransition):
    """Another hospital has already accepted this referral."""

    def __init__(self, from_status: Status, accepted_by: str) -> None:
        super().__init__(from_status, Status.ACCEPTED)
        self.accepted_by = accepted_by


class NotOffered(ReferralError):
    """The hospital holds no pending offer for this referral."""


class DeadlinePassed(ReferralError):
    """The referral's deadline has passed; it can only be expired or cancelled."""


class DeadlineNotReached(ReferralError):
    """Expiry was attempted before the deadline."""


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class ReferralEvent:
    """Base of everything that happened to a referral."""

    referral_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ReferralRequested(ReferralEvent):
    """A referral was requested."""

    patient_id: str
    origin_hospital: str
    direction: Direction
    diagnosis_code: str
    severity: Severity
    urgency: Urgency
    rule_id: str | None
    rule_version: int | None
    deadline: datetime
    linked_from: str | None


@dataclass(frozen=True, slots=True)
class ReferralOffered(ReferralEvent):
    """The referral was offered to hospitals."""

    hospital_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReferralAccepted(ReferralEvent):
    """A hospital accepted."""

    hospital_id: str


@dataclass(frozen=True, slots=True)
class ReferralRejected(ReferralEvent):
    """A hospital rejected its offer; ``all_rejected`` when it was the last one."""

    hospital_id: str
    reason: str
    all_rejected: bool


@dataclass(frozen=True, slots=True)
class ReferralOfferWithdrawn(ReferralEvent):
    """A pending offer was withdrawn (accepted elsewhere, cancelled or expired)."""

    hospital_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class ReferralTransferred(ReferralEvent):
    """The patient left for the receiving hospital."""

    hospital_id: str


@dataclass(frozen=True, slots=True)
class ReferralArrived(ReferralEvent):
    """The patient arrived at the receiving hospital."""

    hospital_id: str


@dataclass(frozen=True, slots=True)
class ReferralCompleted(ReferralEvent):
    """The receiving hospital closed the referral."""

    hospital_id: str


@dataclass(frozen=True, slots=True)
class ReferralCancelled(ReferralEvent):
    """Someone cancelled the referral."""

    by: str
    reason: str
    previous_status: Status


@dataclass(frozen=True, slots=True)
class ReferralExpired(ReferralEvent):
    """Nobody accepted before the deadline."""

    previous_status: Status
    deadline: datetime


@dataclass(frozen=True, slots=True)
class ReferralEscalated(ReferralEvent):
    """Half the time to the deadline passed without acceptance."""

    status: Status
    deadline: datetime


# --------------------------------------------------------------------------- aggregate


def _require_aware(value: datetime, field_name: str) -> None:
    """Reject naive or non-datetime values."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ReferralError(field_name, "must be a timezone-aware datetime")


def _require_text(value: str, field_name: str) -> str:
    """Non-empty, bounded free text."""
    if not isinstance(value, str) or not value.strip():
        raise ReferralError(field_name, "must not be empty")
    if len(value) > MAX_TEXT:
        raise ReferralError(field_name, f"must be at most {MAX_TEXT} characters")
    return value.strip()


@dataclass(eq=False)
class Referral:
    """One referral of one patient, from request to completion; records its events."""

    referral_id: str
    patient_id: str
    origin_hospital: str
    direction: Direction
    diagnosis_code: str
    severity: Severity
    urgency: Urgency
    rule_id: str | None
    rule_version: int | None
    created_at: datetime
    deadline: datetime
    status: Status = Status.REQUESTED
    offers: dict[str, OfferState] = field(default_factory=dict)
    accepted_by: str | None = None
    accepted_at: datetime | None = None
    completed_at: datetime | None = None
    linked_from: str | None = None
    escalated: bool = False
    last_changed_at: datetime | None = None
    version: int = 1
    events: list[ReferralEvent] = field(default_factory=list)

    @classmethod
    def request(cls, referral_id: str, patient_id: str, origin_hospital: str, direction: Direction,
                diagnosis_code: str, severity: Severity, urgency: Urgency, rule_id: str | None,
                rule_version: int | None, now: datetime, *, linked_from: str | None = None,
                deadlines: Mapping[Urgency, timedelta] = DEFAULT_DEADLINES) -> Referral:
        """Open a referral; its deadline follows from the urgency."""
        for name, value in (("referral_id", referral_id), ("patient_id", patient_id),
                            ("origin_hospital", origin_hospital)):
            _require_text(value, name)
        _require_aware(now, "now")
        normalize_icd10(diagnosis_code)
        if (rule_id is None) != (rule_version is None):
            raise ReferralError("rule_version", "rule_id and rule_version go together")
        urgency = Urgency(urgency)
        window = deadlines.get(urgency)
        if window is None or window <= timedelta(0):
            raise ReferralError("deadlines", f"needs a positive window for {urgency.value}")
        referral = cls(referral_id, patient_id, origin_hospital, Direction(direction),
                       diagnosis_code.strip().upper(), Severity(severity), urgency, rule_id,
                       rule_version, now, now + window, linked_from=linked_from, last_changed_at=now)
        referral.events.append(ReferralRequested(
            referral_id, now, patient_id, origin_hospital, referral.direction, referral.diagnosis_code,
            referral.severity, urgency, rule_id, rule_version, referral.deadline, linked_from))
        return referral

    # ----------------------------------------------------------------- helpers

    def _check_time(self, now: datetime) -> None:
        """Aware and not earlier than the last change."""
        _require_aware(now, "now")
        if self.last_changed_at is not None and now < self.last_changed_at:
            raise ReferralError("now", "is earlier than the referral's last change")

    def _check_transition(self, to: Status) -> None:
        """Raise IllegalTransition unless the move is in TRANSITIONS."""
        if to not in TRANSITIONS[self.status]:
            raise IllegalTransition(self.status, to)

    def _check_deadline(self, now: datetime) -> None:
        """Open-state commands are refused at or after the deadline."""
        if now >= self.deadline:
            raise DeadlinePassed("now", f"deadline {self.deadline.isoformat()} has passed")

    def _record(self, now: datetime, *events: ReferralEvent) -> None:
        """Append events and bump the version once."""
        self.events.extend(events)
        self.last_changed_at = now
        self.version += 1

    def _withdraw_pending(self, now: datetime, reason: str) -> list[ReferralEvent]:
        """Withdraw every pending offer, returning the events."""
        withdrawn: list[ReferralEvent] = []
        for hospital_id in sorted(self.offers):
            if self.offers[hospital_id] is OfferState.PENDING:
                self.offers[hospital_id] = OfferState.WITHDRAWN
                withdrawn.append(ReferralOfferWithdrawn(self.referral_id, now, hospital_id, reason))
        return withdrawn

    # ----------------------------------------------------------------- commands

    def offer(self, hospital_ids: Iterable[str], now: datetime) -> None:
        """Offer the referral to one or more hospitals (never the origin)."""
        self._check_time(now)
        self._check_transition(Status.OFFERED)
        self._check_deadline(now)
        ids = list(dict.fromkeys(hospital_ids))
        if not ids or not all(isinstance(h, str) and h for h in ids):
            raise ReferralError("hospital_ids", "must name at least one hospital")
        if self.origin_hospital in ids:
            raise ReferralError("hospital_ids", "cannot offer to the origin hospital")
        self.offers = {h: OfferState.PENDING for h in ids}
        self.status = Status.OFFERED
        self._record(now, ReferralOffered(self.referral_id, now, tuple(ids)))

    def accept(self, hospital_id: str, now: datetime) -> None:
        """One offered hospital accepts; the other pending offers are withdrawn."""
        self._check_time(now)
        if self.accepted_by is not None and self.status in (
                Status.ACCEPTED, Status.IN_TRANSFER, Status.ARRIVED, Status.COMPLETED):
            raise AlreadyAccepted(self.status, self.accepted_by)
        self._check_transition(Status.ACCEPTED)
        self._check_deadline(now)
        if self.offers.get(hospital_id) is not OfferState.PENDING:
            raise NotOffered("hospital_id", f"{hospital_id} holds no pending offer")
        self.offers[hospital_id] = OfferState.ACCEPTED
        self.accepted_by, self.accepted_at = hospital_id, now
        self.status = Status.ACCEPTED
        withdrawn = self._withdraw_pending(now, f"accepted by {hospital_id}")
        self._record(now, ReferralAccepted(self.referral_id, now, hospital_id), *withdrawn)

    def reject(self, hospital_id: str, reason: str, now: datetime) -> None:
        """An offered hospital declines with a reason; when all have declined the referral is rejected."""
        self._check_time(now)
        if self.status is not Status.OFFERED:
            raise IllegalTransition(self.status, Status.REJECTED)
        self._check_deadline(now)
        reason = _require_text(reason, "reason")
        if self.offers.get(hospital_id) is not OfferState.PENDING:
            raise NotOffered("hospital_id", f"{hospital_id} holds no pending offer")
        self.offers[hospital_id] = OfferState.REJECTED
        all_rejected = all(s is OfferState.REJECTED for s in self.offers.values())
        if all_rejected:
            self.status = Status.REJECTED
        self._record(now, ReferralRejected(self.referral_id, now, hospital_id, reason, all_rejected))

    def start_transfer(self, now: datetime) -> None:
        """The patient leaves for the accepting hospital."""
        self._advance(Status.IN_TRANSFER, now, ReferralTransferred)

    def arrive(self, now: datetime) -> None:
        """The patient arrives at the accepting hospital."""
        self._advance(Status.ARRIVED, now, ReferralArrived)

    def complete(self, now: datetime) -> None:
        """The accepting hospital closes the referral."""
        self._advance(Status.COMPLETED, now, ReferralCompleted)
        self.completed_at = now

    def _advance(self, to: Status, now: datetime, event: type) -> None:
        """A post-acceptance step naming the accepting hospital."""
        self._check_time(now)
        self._check_transition(to)
        self.status = to
        self._record(now, event(self.referral_id, now, self.accepted_by))

    def cancel(self, by: str, reason: str, now: datetime) -> None:
        """Cancel from requested, offered, accepted or in_transfer; pending offers are withdrawn."""
        self._check_time(now)
        self._check_transition(Status.CANCELLED)
        by, reason = _require_text(by, "by"), _require_text(reason, "reason")
        previous = self.status
        withdrawn = self._withdraw_pending(now, "referral cancelled")
        self.status = Status.CANCELLED
        self._record(now, *withdrawn, ReferralCancelled(self.referral_id, now, by, reason, previous))

    def expire(self, now: datetime) -> None:
        """Expire an open referral at or after its deadline; pending offers are withdrawn."""
        self._check_time(now)
        self._check_transition(Status.EXPIRED)
        if now < self.deadline:
            raise DeadlineNotReached("now", f"deadline {self.deadline.isoformat()} not reached")
        previous = self.status
        withdrawn = self._withdraw_pending(now, "referral expired")
        self.status = Status.EXPIRED
        self._record(now, *withdrawn, ReferralExpired(self.referral_id, now, previous, self.deadline))

    def escalation_due(self, now: datetime) -> bool:
        """True exactly once when half the time to the deadline has passed without acceptance."""
        self._check_time(now)
        halfway = self.created_at + (self.deadline - self.created_at) / 2
        if self.escalated or self.status not in OPEN_STATUSES or not halfway <= now < self.deadline:
            return False
        self.escalated = True
        self._record(now, ReferralEscalated(self.referral_id, now, self.status, self.deadline))
        return True

    def down_referral(self, new_id: str, now: datetime, *, diagnosis_code: str | None = None,
                      severity: Severity = Severity.STABLE, urgency: Urgency = Urgency.ROUTINE,
                      rule_id: str | None = None, rule_version: int | None = None,
                      deadlines: Mapping[Urgency, timedelta] = DEFAULT_DEADLINES) -> Referral:
        """From a completed up-referral, a linked down-referral back to the origin, offered to it."""
        _require_aware(now, "now")
        if self.direction is not Direction.UP:
            raise ReferralError("direction", "only an up-referral can be referred back down")
        if self.status is not Status.COMPLETED or self.accepted_by is None:
            raise ReferralError("status", "only a completed referral can be referred back down")
        if self.completed_at is not None and now < self.completed_at:
            raise ReferralError("now", "is earlier than the up-referral's completion")
        if new_id == self.referral_id:
            raise ReferralError("new_id", "must differ from the up-referral")
        down = Referral.request(
            new_id, self.patient_id, self.accepted_by, Direction.DOWN,
            diagnosis_code or self.diagnosis_code, severity, urgency, rule_id, rule_version, now,
            linked_from=self.referral_id, deadlines=deadlines)
        down.offer([self.origin_hospital], now)
        return down


# --------------------------------------------------------------------------- indicators


@dataclass(frozen=True, slots=True)
class ReferralIndicators:
    """Alliance-level referral indicators over a set of referrals."""

    referrals: int
    eligible_cases: int
    referral_rate: float | None
    target_rate: float
    meets_target: bool | None
    down_referrals: int
    down_share: float | None
    accepted: int
    median_minutes_to_acceptance: float | None
    expired: int


def referral_indicators(referrals: Iterable[Referral], eligible_cases: int,
                        target_rate: float = 0.30) -> ReferralIndicators:
    """Referral rate vs eligible cases (target >= 30%), down share, median acceptance time, expiries."""
    if not isinstance(eligible_cases, int) or eligible_cases < 0:
        raise ReferralError("eligible_cases", "must be a non-negative integer")
    items = list(referrals)
    rate = len(items) / eligible_cases if eligible_cases else None
    down = sum(1 for r in items if r.direction is Direction.DOWN)
    waits = [(r.accepted_at - r.created_at).total_seconds() / 60 for r in items if r.accepted_at]
    return ReferralIndicators(
        referrals=len(items),
        eligible_cases=eligible_cases,
        referral_rate=rate,
        target_rate=target_rate,
        meets_target=None if rate is None else rate >= target_rate,
        down_referrals=down,
        down_share=down / len(items) if items else None,
        accepted=len(waits),
        median_minutes_to_acceptance=statistics.median(waits) if waits else None,
        expired=sum(1 for r in items if r.status is Status.EXPIRED),
    )


@dataclass(frozen=True, slots=True)
class Encounter:
    """One admitted case at a hospital, for the siphoning check."""

    hospital_id: str
    level: Level
    diagnosis_code: str
    severity: Severity
    referred_down: bool


@dataclass(frozen=True, slots=True)
class SiphoningSignal:
    """Per tertiary hospital: how many admitted cases the rules would have sent to primary care."""

    hospital_id: str
    admitted: int
    primary_care_cases: int
    kept: int
    share: float
    flagged: bool


def routes_down_to_primary(rules: RuleSet, diagnosis_code: str, severity: Severity) -> bool:
    """Whether the most specific matching rule sends the case down to primary care."""
    matches = rules.match(diagnosis_code, severity)
    return bool(matches) and matches[0].direction is Direction.DOWN and Level.PRIMARY in matches[0].target_levels


def siphoning_signal(encounters: Iterable[Encounter], rules: RuleSet,
                     threshold: float = 0.20) -> list[SiphoningSignal]:
    """Share of each tertiary hospital's admissions that belonged in primary care but stayed (虹吸)."""
    per_hospital: dict[str, list[Encounter]] = {}
    for e in encounters:
        if Level(e.level) is Level.TERTIARY:
            per_hospital.setdefault(e.hospital_id, []).append(e)
    signals = []
    for hospital_id in sorted(per_hospital):
        cases = per_hospital[hospital_id]
        primary = [e for e in cases if routes_down_to_primary(rules, e.diagnosis_code, e.severity)]
        kept = sum(1 for e in primary if not e.referred_down)
        share = kept / len(cases)
        signals.append(SiphoningSignal(hospital_id, len(cases), len(primary), kept, share, share > threshold))
    return signals
