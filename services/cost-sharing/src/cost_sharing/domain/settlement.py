"""Referral-episode settlement, run automatically when a referral completes. Pure domain, no I/O.

Rules that are part of the contract:

* The episode is the encounters at the two hospitals of the referral discharged within
  ``[requested_at − lookback_days, completed_at]`` (both ends inclusive). Encounters elsewhere or
  outside that window are left out and listed in the explanation.
* Who bears what (domain: "the primary hospital bears the outpatient cost, the tertiary the
  inpatient cost"): for an ``up`` referral the origin (referring) hospital bears its outpatient and
  emergency costs and the receiving hospital its inpatient costs; for a ``down`` referral the roles
  flip — the origin (the higher level, where the patient was treated as an inpatient) bears its
  inpatient costs and the receiving hospital its outpatient and emergency follow-up. Costs of the
  other class at a hospital (e.g. an inpatient stay at the origin of an up referral) are excluded
  and listed.
* Insurance pays ``insurance_share`` of each line rounded half up to the fen; the patient pays the
  rest. Each line with a positive cost becomes one ledger draft: Dr the payer account (insurance
  part), Dr ``patients:copay`` (patient part), Cr ``hospital:<id>`` (the cost); zero legs are
  omitted. The drafts are dated ``completed_at`` in its accounting month (China time). The
  append-only ledger never carries the patient id (it cannot be erased there).
* Nothing to settle (no encounter in the episode) gives no lines and no entries: the edge keeps
  the episode pending until costs arrive.
* Encounters are processed in ``encounter_id`` order and an encounter delivered twice with the
  same content counts once, so the same facts always give the same settlement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from cost_sharing.domain.ledger import EntryDraft, Leg, period_of
from cost_sharing.domain.money import format_fen, round_half_up

from .errors import DomainError

PATIENT_CLASSES = {"I": "inpatient", "O": "outpatient", "E": "emergency"}
COPAY_ACCOUNT = "patients:copay"
KIND = "referral_settlement"


class SettlementError(DomainError):
    """Referral facts, encounter costs or the policy are invalid; names the offending field."""


@dataclass(frozen=True)
class EncounterCost:
    """The total cost of one discharged encounter (I inpatient, O outpatient, E emergency)."""

    encounter_id: str
    hospital_id: str
    patient_class: str
    total_fen: int
    discharged_at: datetime


@dataclass(frozen=True)
class ReferralFacts:
    """What the settlement needs to know about a completed referral."""

    referral_id: str
    patient_id: str
    direction: str
    origin_hospital: str
    receiving_hospital: str
    requested_at: datetime
    completed_at: datetime


@dataclass(frozen=True)
class ReferralPolicy:
    """Insurance share of the episode cost, the payer's ledger account and the look-back window."""

    insurance_share: Decimal = Decimal("0.70")
    payer_account: str = "insurer:basic"
    lookback_days: int = 30


@dataclass(frozen=True)
class SettlementLine:
    """The cost one hospital bears in the episode and how it is paid."""

    hospital_id: str
    bears: Literal["outpatient", "inpatient"]
    cost_fen: int
    insurance_fen: int
    patient_fen: int
    encounters: tuple[str, ...]


@dataclass(frozen=True)
class EpisodeSettlement:
    """Settlement lines, ledger drafts and the reasoning for one referral episode."""

    referral_id: str
    lines: tuple[SettlementLine, ...]
    entries: tuple[EntryDraft, ...]
    explanation: tuple[str, ...]

    @property
    def pending(self) -> bool:
        """True when there was nothing to settle yet (no costs in the episode)."""
        return not self.lines


def _text(value: object, field: str) -> str:
    """A non-empty string, else SettlementError."""
    if not isinstance(value, str) or not value.strip():
        raise SettlementError(field, "must be a non-empty string")
    return value


def _aware(value: object, field: str) -> datetime:
    """A timezone-aware datetime, else SettlementError."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise SettlementError(field, "must be a timezone-aware datetime")
    return value


def _validate(
    referral: ReferralFacts, encounters: Sequence[EncounterCost], policy: ReferralPolicy
) -> list[EncounterCost]:
    """SettlementError on bad input; the encounters deduplicated and sorted by id."""
    _text(referral.referral_id, "referral_id")
    _text(referral.patient_id, "patient_id")
    if referral.direction not in ("up", "down"):
        raise SettlementError("direction", f"must be up or down, got {referral.direction!r}")
    _text(referral.origin_hospital, "origin_hospital")
    _text(referral.receiving_hospital, "receiving_hospital")
    if referral.origin_hospital == referral.receiving_hospital:
        raise SettlementError("receiving_hospital", "must differ from the origin hospital")
    _aware(referral.requested_at, "requested_at")
    _aware(referral.completed_at, "completed_at")
    if referral.completed_at < referral.requested_at:
        raise SettlementError("completed_at", "must not be before requested_at")
    share = policy.insurance_share
    if not isinstance(share, Decimal) or not share.is_finite() or not 0 <= share <= 1:
        raise SettlementError("insurance_share", f"must be a Decimal in [0, 1], got {share!r}")
    _text(policy.payer_account, "payer_account")
    if policy.payer_account == COPAY_ACCOUNT:
        raise SettlementError("payer_account", f"must differ from {COPAY_ACCOUNT}")
    days = policy.lookback_days
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise SettlementError("lookback_days", f"must be a non-negative integer, got {days!r}")

    unique: dict[str, EncounterCost] = {}
    for index, enc in enumerate(encounters):
        where = f"encounters[{index}]"
        _text(enc.encounter_id, f"{where}.encounter_id")
        _text(enc.hospital_id, f"{where}.hospital_id")
        if enc.patient_class not in PATIENT_CLASSES:
            raise SettlementError(
                f"{where}.patient_class", f"must be I, O or E, got {enc.patient_class!r}"
            )
        if isinstance(enc.total_fen, bool) or not isinstance(enc.total_fen, int):
            raise SettlementError(f"{where}.total_fen", "must be an integer amount of fen")
        if enc.total_fen < 0:
            raise SettlementError(
                f"{where}.total_fen", f"must not be negative, got {enc.total_fen}"
            )
        _aware(enc.discharged_at, f"{where}.discharged_at")
        known = unique.get(enc.encounter_id)
        if known is not None and known != enc:
            raise SettlementError(
                f"{where}.encounter_id", f"{enc.encounter_id} was given twice with different costs"
            )
        unique[enc.encounter_id] = enc
    return [unique[key] for key in sorted(unique)]


def _bears(referral: ReferralFacts) -> dict[str, Literal["outpatient", "inpatient"]]:
    """Which class of cost each of the two hospitals bears, by direction."""
    if referral.direction == "up":
        return {referral.origin_hospital: "outpatient", referral.receiving_hospital: "inpatient"}
    return {referral.origin_hospital: "inpatient", referral.receiving_hospital: "outpatient"}


def _class_of(patient_class: str) -> str:
    """The cost class an encounter's patient class falls into (emergency counts as outpatient)."""
    return "inpatient" if patient_class == "I" else "outpatient"


def settle_referral(
    referral: ReferralFacts,
    encounters: Sequence[EncounterCost],
    policy: ReferralPolicy = ReferralPolicy(),
) -> EpisodeSettlement:
    """Settle a completed referral episode: who bears which costs, who pays, the ledger drafts."""
    ordered = _validate(referral, encounters, policy)
    window_start = referral.requested_at - timedelta(days=policy.lookback_days)
    window_end = referral.completed_at
    bears = _bears(referral)
    roles = {referral.origin_hospital: "origin", referral.receiving_hospital: "receiving"}
    explanation = [
        f"referral {referral.referral_id} ({referral.direction}) from {referral.origin_hospital} "
        f"to {referral.receiving_hospital}; episode window {window_start.isoformat()} to "
        f"{window_end.isoformat()} ({policy.lookback_days} days before the request up to "
        f"completion)",
        f"{referral.origin_hospital} (origin) bears {bears[referral.origin_hospital]} costs, "
        f"{referral.receiving_hospital} (receiving) bears "
        f"{bears[referral.receiving_hospital]} costs",
    ]
    included: dict[str, list[EncounterCost]] = {h: [] for h in bears}
    for enc in ordered:
        label = f"{PATIENT_CLASSES[enc.patient_class]} encounter {enc.encounter_id}"
        if enc.hospital_id not in bears:
            explanation.append(
                f"excluded {label} at {enc.hospital_id}: not a hospital of this referral"
            )
        elif not window_start <= enc.discharged_at <= window_end:
            explanation.append(
                f"excluded {label} at {enc.hospital_id}: discharged "
                f"{enc.discharged_at.isoformat()}, outside the episode window"
            )
        elif _class_of(enc.patient_class) != bears[enc.hospital_id]:
            explanation.append(
                f"excluded {label} at {enc.hospital_id} ({format_fen(enc.total_fen)} yuan): the "
                f"{roles[enc.hospital_id]} hospital bears only {bears[enc.hospital_id]} costs here"
            )
        else:
            included[enc.hospital_id].append(enc)

    lines: list[SettlementLine] = []
    drafts: list[EntryDraft] = []
    share = Fraction(policy.insurance_share)
    period = period_of(referral.completed_at)
    for hospital in (referral.origin_hospital, referral.receiving_hospital):
        chosen = included[hospital]
        if not chosen:
            continue
        cost = sum(enc.total_fen for enc in chosen)
        insurance = round_half_up(cost * share)
        line = SettlementLine(
            hospital_id=hospital,
            bears=bears[hospital],
            cost_fen=cost,
            insurance_fen=insurance,
            patient_fen=cost - insurance,
            encounters=tuple(enc.encounter_id for enc in chosen),
        )
        lines.append(line)
        explanation.append(
            f"{hospital} bears {line.bears} costs {format_fen(cost)} yuan from "
            f"{len(chosen)} encounter(s) ({', '.join(line.encounters)}): insurance "
            f"{policy.insurance_share} × {format_fen(cost)} = {format_fen(insurance)} yuan "
            f"(half up to the fen), patient {format_fen(line.patient_fen)} yuan"
        )
        if cost > 0:
            drafts.append(_draft(referral, policy, line, period))
        else:
            explanation.append(f"{hospital}: nothing to post, its cost is 0")

    if not lines:
        explanation.append(
            "no costs in the episode yet: nothing settled, the settlement stays pending until "
            "discharge costs arrive"
        )
    return EpisodeSettlement(
        referral_id=referral.referral_id,
        lines=tuple(lines),
        entries=tuple(drafts),
        explanation=tuple(explanation),
    )


def _draft(
    referral: ReferralFacts, policy: ReferralPolicy, line: SettlementLine, period: str
) -> EntryDraft:
    """The ledger draft for one settlement line (zero legs omitted)."""
    debits = [
        Leg(account=policy.payer_account, debit_fen=line.insurance_fen),
        Leg(account=COPAY_ACCOUNT, debit_fen=line.patient_fen),
    ]
    legs = tuple(leg for leg in debits if leg.debit_fen > 0) + (
        Leg(account=f"hospital:{line.hospital_id}", credit_fen=line.cost_fen),
    )
    return EntryDraft(
        kind=KIND,
        reference=f"referral:{referral.referral_id}:{line.hospital_id}",
        period=period,
        legs=legs,
        memo=(
            f"referral {referral.referral_id} ({referral.direction}): "
            f"{line.hospital_id} {line.bears} costs from "
            f"{', '.join(line.encounters)}"
        ),
        occurred_at=referral.completed_at,
    )
