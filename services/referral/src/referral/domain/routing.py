"""Capacity-aware referral routing (转诊去向排序). Pure domain, no I/O, no clock.

Decisions documented here are part of the contract (defaults of :class:`RoutingPolicy`):

* The rule is the most specific match of the :class:`~referral.domain.rules.RuleSet` in force. The
  rule's ``required_specialty`` wins; ``specialty_hint`` is used only when the rule names none.
* Eligible: active, not the origin, level in the rule's target levels, offers the specialty and,
  when a bed report for that specialty is known, has at least one available bed (a stale report
  of zero beds still excludes: we do not send patients on a guess). A report for another
  specialty counts as unknown capacity.
* Score (higher is better), every term stated in the candidate's reasons:
  - region: same 6-digit county +30, same 4-digit city +20, same 2-digit province +10;
  - capacity: 5 points per available bed, counting at most 10 beds (max +50);
  - idle beds: a TERTIARY hospital whose occupancy in the specialty is strictly below 80%
    (integer arithmetic: ``occupied * 100 < 80 * total``) is offering idle beds, +20;
  - staleness: a report older than 6 h (strictly) is stale; capacity and idle-bed terms are
    multiplied by 0.5;
  - unknown capacity (no report): no capacity or idle terms, -15;
  - load: -2 per open referral already heading to the hospital.
* Scores are rounded to 3 decimals; order is score descending, then hospital_id ascending. Only
  the best ``max_offers`` (3) are ranked; the rest appear in ``excluded`` as below the cut-off, so
  every candidate is accounted for exactly once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .rules import Level, Rule, RuleSet, Severity, normalize_icd10

REGION_CODE = re.compile(r"^\d{6}$")


class RoutingError(ValueError):
    """Routing input is invalid; names the offending field."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field_name = field_name
        self.reason = reason


def _require_aware(value: datetime, field_name: str) -> None:
    """Reject naive or non-datetime values."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise RoutingError(field_name, "must be a timezone-aware datetime")


def _require_region(value: str, field_name: str) -> None:
    """Region codes are 6-digit administrative division codes."""
    if not isinstance(value, str) or not REGION_CODE.match(value):
        raise RoutingError(field_name, "must be a 6-digit region code")


@dataclass(frozen=True, slots=True)
class BedStatus:
    """Latest reported bed capacity of one hospital in one specialty."""

    hospital_id: str
    specialty: str
    available: int
    total: int
    reported_at: datetime

    def __post_init__(self) -> None:
        """Counts are non-negative with available <= total; reported_at is aware."""
        if not isinstance(self.total, int) or self.total < 0:
            raise RoutingError("total", "must be a non-negative integer")
        if not isinstance(self.available, int) or not 0 <= self.available <= self.total:
            raise RoutingError("available", "must be between 0 and total")
        _require_aware(self.reported_at, "reported_at")

    @property
    def occupied(self) -> int:
        """Beds in use."""
        return self.total - self.available

    def occupancy_below(self, percent: int) -> bool:
        """Whether occupancy is strictly below ``percent`` (exact integer arithmetic; no beds is full)."""
        return self.total > 0 and self.occupied * 100 < percent * self.total

    def age(self, now: datetime) -> timedelta:
        """Time since the report (a report from the future counts as fresh)."""
        return max(now - self.reported_at, timedelta(0))

    def is_stale(self, now: datetime, stale_after: timedelta) -> bool:
        """Older than ``stale_after`` (strictly)."""
        return self.age(now) > stale_after


@dataclass(frozen=True, slots=True)
class Candidate:
    """A member hospital considered as a destination, with its capacity and current load."""

    hospital_id: str
    level: Level
    region_code: str
    specialties: frozenset[str]
    total_beds: int
    beds: BedStatus | None
    open_referrals: int = 0
    active: bool = True

    def __post_init__(self) -> None:
        """Validate and coerce level and specialties."""
        if not isinstance(self.hospital_id, str) or not self.hospital_id:
            raise RoutingError("hospital_id", "must not be empty")
        object.__setattr__(self, "level", Level(self.level))
        _require_region(self.region_code, "region_code")
        object.__setattr__(self, "specialties", frozenset(self.specialties))
        if not isinstance(self.open_referrals, int) or self.open_referrals < 0:
            raise RoutingError("open_referrals", "must be a non-negative integer")
        if self.beds is not None and self.beds.hospital_id != self.hospital_id:
            raise RoutingError("beds", "bed status belongs to another hospital")


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    """Weights and thresholds of the ranking, as configuration."""

    idle_occupancy_below_pct: int = 80
    idle_bed_bonus: float = 20.0
    same_county_bonus: float = 30.0
    same_city_bonus: float = 20.0
    same_province_bonus: float = 10.0
    points_per_available_bed: float = 5.0
    capacity_bed_cap: int = 10
    load_penalty_per_open_referral: float = 2.0
    unknown_capacity_penalty: float = 15.0
    stale_after: timedelta = timedelta(hours=6)
    stale_weight: float = 0.5
    max_offers: int = 3

    def __post_init__(self) -> None:
        """Thresholds must make sense."""
        if not 0 < self.idle_occupancy_below_pct <= 100:
            raise RoutingError("idle_occupancy_below_pct", "must be in 1..100")
        if not 0 <= self.stale_weight <= 1:
            raise RoutingError("stale_weight", "must be in 0..1")
        if self.stale_after <= timedelta(0):
            raise RoutingError("stale_after", "must be positive")
        if self.max_offers < 1:
            raise RoutingError("max_offers", "must be at least 1")
        if self.capacity_bed_cap < 1:
            raise RoutingError("capacity_bed_cap", "must be at least 1")


@dataclass(frozen=True, slots=True)
class RoutingRequest:
    """Where a patient is, what they have and how severe it is."""

    origin_hospital: str
    diagnosis_code: str
    severity: Severity
    specialty_hint: str | None
    origin_region: str

    def __post_init__(self) -> None:
        """Validate the code, severity and region."""
        normalize_icd10(self.diagnosis_code)
        object.__setattr__(self, "severity", Severity(self.severity))
        _require_region(self.origin_region, "origin_region")


@dataclass(frozen=True, slots=True)
class RankedCandidate:
    """An eligible destination with its score and the reasons for it."""

    hospital_id: str
    score: float
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """Which rule applied, the ranked destinations, and why others were left out."""

    rule: Rule | None
    ranked: list[RankedCandidate]
    excluded: list[tuple[str, str]]
    reason_if_none: str | None

    @property
    def hospital_ids(self) -> list[str]:
        """Ranked destinations, best first (what the workflow offers to)."""
        return [r.hospital_id for r in self.ranked]


def _levels_text(levels: Iterable[Level]) -> str:
    """'primary or secondary' in level order."""
    return " or ".join(lv.value for lv in sorted(levels, key=lambda lv: lv.rank))


def _region_term(origin: str, region: str, policy: RoutingPolicy) -> tuple[float, str | None]:
    """Bonus for the closest shared administrative tier."""
    if origin == region:
        return policy.same_county_bonus, f"same county ({region}): +{policy.same_county_bonus:g}"
    if origin[:4] == region[:4]:
        return policy.same_city_bonus, f"same city ({region[:4]}): +{policy.same_city_bonus:g}"
    if origin[:2] == region[:2]:
        return policy.same_province_bonus, f"same province ({region[:2]}): +{policy.same_province_bonus:g}"
    return 0.0, None


def _score(candidate: Candidate, request: RoutingRequest, specialty: str | None,
           beds: BedStatus | None, policy: RoutingPolicy, now: datetime) -> RankedCandidate:
    """Score one eligible candidate and explain every term."""
    score = 0.0
    reasons: list[str] = []
    region_points, region_reason = _region_term(request.origin_region, candidate.region_code, policy)
    score += region_points
    if region_reason:
        reasons.append(region_reason)
    in_specialty = f" {specialty}" if specialty else ""
    if beds is None:
        score -= policy.unknown_capacity_penalty
        reasons.append(f"capacity unknown (no{in_specialty} bed report): -{policy.unknown_capacity_penalty:g}")
    else:
        weight = 1.0
        if beds.is_stale(now, policy.stale_after):
            weight = policy.stale_weight
            hours = beds.age(now).total_seconds() / 3600
            reasons.append(f"bed report stale ({hours:.1f} h old): capacity terms x{weight:g}")
        capacity = min(beds.available, policy.capacity_bed_cap) * policy.points_per_available_bed * weight
        score += capacity
        reasons.append(f"{beds.available} free{in_specialty} beds: +{capacity:g}")
        if candidate.level is Level.TERTIARY and beds.occupancy_below(policy.idle_occupancy_below_pct):
            bonus = policy.idle_bed_bonus * weight
            score += bonus
            pct = beds.occupied * 100 / beds.total
            reasons.append(f"offering idle beds (occupancy {pct:.0f}% < "
                           f"{policy.idle_occupancy_below_pct}%): +{bonus:g}")
    if candidate.open_referrals:
        penalty = candidate.open_referrals * policy.load_penalty_per_open_referral
        score -= penalty
        plural = "" if candidate.open_referrals == 1 else "s"
        reasons.append(f"{candidate.open_referrals} open referral{plural}: -{penalty:g}")
    return RankedCandidate(candidate.hospital_id, round(score, 3), reasons)


def route(request: RoutingRequest, rules: RuleSet, candidates: Iterable[Candidate],
          policy: RoutingPolicy | None, now: datetime) -> RoutingDecision:
    """Rank destinations for a referral under the most specific matching rule."""
    policy = policy or RoutingPolicy()
    _require_aware(now, "now")
    candidates = list(candidates)
    ids = [c.hospital_id for c in candidates]
    if len(set(ids)) != len(ids):
        raise RoutingError("candidates", "duplicate hospital_id")
    matches = rules.match(request.diagnosis_code, request.severity)
    if not matches:
        return RoutingDecision(None, [], [], (
            f"no rule in version {rules.version} covers {request.diagnosis_code.strip().upper()} "
            f"at severity {request.severity.value}"))
    rule = matches[0]
    specialty = rule.required_specialty or request.specialty_hint
    levels = _levels_text(rule.target_levels)
    eligible: list[RankedCandidate] = []
    excluded: list[tuple[str, str]] = []
    # Tracks how far the best-placed candidate got through the filters, to name the shortfall.
    reached = {"level": False, "specialty": False}
    for c in sorted(candidates, key=lambda c: c.hospital_id):
        if c.hospital_id == request.origin_hospital:
            excluded.append((c.hospital_id, "origin hospital"))
            continue
        if not c.active:
            excluded.append((c.hospital_id, "inactive"))
            continue
        if c.level not in rule.target_levels:
            excluded.append((c.hospital_id, f"level {c.level.value} not in target levels ({levels})"))
            continue
        reached["level"] = True
        if specialty and specialty not in c.specialties:
            excluded.append((c.hospital_id, f"no {specialty}"))
            continue
        reached["specialty"] = True
        beds = c.beds if c.beds is not None and (specialty is None or c.beds.specialty == specialty) else None
        if beds is not None and beds.available < 1:
            stale = " (stale report)" if beds.is_stale(now, policy.stale_after) else ""
            excluded.append((c.hospital_id, f"no free {specialty or beds.specialty} bed{stale}"))
            continue
        eligible.append(_score(c, request, specialty, beds, policy, now))
    eligible.sort(key=lambda r: (-r.score, r.hospital_id))
    ranked, overflow = eligible[:policy.max_offers], eligible[policy.max_offers:]
    excluded.extend((r.hospital_id, f"below the top {policy.max_offers} offers (score {r.score:g})")
                    for r in overflow)
    reason = None
    if not ranked:
        with_specialty = f" with {specialty}" if specialty else ""
        if not reached["level"]:
            reason = f"no active {levels} hospital other than the origin"
        elif not reached["specialty"]:
            reason = f"no {levels} hospital{with_specialty}"
        else:
            reason = f"no {levels} hospital{with_specialty} has a free bed"
    return RoutingDecision(rule, ranked, excluded, reason)
