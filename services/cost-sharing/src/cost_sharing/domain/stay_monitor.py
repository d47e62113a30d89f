"""In-stay DRG monitoring (在院监控): each open stay's provisional DRG and accumulated cost, followed by itself.

Decisions that are part of the contract:

* A stay is followed from admission. What the hospital has coded and charged so far arrives as cumulative
  snapshots (``StayFacts``): the newest ``as_of`` wins and an older or equal snapshot changes nothing, so a
  redelivered or late update never counts a charge twice.
* The provisional DRG is the grouper's answer for the stay as coded so far, under the table in force on the
  snapshot's day; its standard cost is the reference. Without a groupable coding there is no standard and no alert.
* Crossing ``warn_at`` (80%) of the standard raises the warning, crossing ``intervene_at`` (110%) the
  intervention — each once per stay, at the snapshot that crosses it (a jump past both raises both). A later
  drop below a threshold does not take an alert back; a new coding with a lower standard may cross again only
  thresholds not yet crossed.
* Discharge closes the stay and its in-stay alerts; a final cost above ``approval_above`` (130%) of the final
  standard raises the discharge alert (the case waits for two approvals), whether or not the stay was followed.
* Alert ids are derived from the encounter and the stage, so storing one twice is a no-op.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum

from . import drg as grouper
from .errors import DomainError


class StayError(DomainError):
    """A stay fact is invalid; names the offending field."""


class Stage(StrEnum):
    """Which threshold an alert is for."""

    WARNING = "warning"              # ≥ 80% of the standard during the stay
    INTERVENTION = "intervention"    # ≥ 110% of the standard during the stay
    ABOVE_APPROVAL = "above_approval"  # > 130% of the standard at discharge


IN_STAY = (Stage.WARNING, Stage.INTERVENTION)
LEVEL = {Stage.WARNING: "yellow", Stage.INTERVENTION: "red", Stage.ABOVE_APPROVAL: "red"}


def alert_id(encounter_id: str, stage: Stage) -> str:
    """The alert's id (also its warning id): the same for the same stay and stage, however often it is computed."""
    digest = hashlib.sha256(f"{encounter_id}\x1f{stage.value}".encode()).hexdigest()[:16].upper()
    return f"W-DRG-{digest}"


def _aware(value: object, name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise StayError(name, "must be a timezone-aware datetime")
    return value


def _fen(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise StayError(name, "must be a non-negative integer (fen)")
    return value


def ratio(cost_fen: int, standard_fen: int) -> Decimal:
    """cost / standard to 4 places, half-up."""
    with localcontext() as ctx:
        ctx.prec = 60
        return (Decimal(cost_fen) / Decimal(standard_fen)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def _at_least(cost_fen: int, threshold: Decimal, standard_fen: int) -> bool:
    num, den = threshold.as_integer_ratio()
    return cost_fen * den >= num * standard_fen


def _above(cost_fen: int, threshold: Decimal, standard_fen: int) -> bool:
    num, den = threshold.as_integer_ratio()
    return cost_fen * den > num * standard_fen


@dataclass(frozen=True, slots=True)
class StayFacts:
    """The stay as coded and charged up to ``as_of`` (cumulative, not a delta)."""

    as_of: datetime
    cost_fen: int
    principal_dx: str = ""
    secondary_dx: tuple[str, ...] = ()
    procedures: tuple[str, ...] = ()
    department: str = ""

    def __post_init__(self) -> None:
        _aware(self.as_of, "as_of")
        _fen(self.cost_fen, "cost_fen")
        for name in ("principal_dx", "department"):
            if not isinstance(getattr(self, name), str):
                raise StayError(name, "must be a string")
        for name in ("secondary_dx", "procedures"):
            codes = getattr(self, name)
            if isinstance(codes, str) or not all(isinstance(c, str) for c in codes):
                raise StayError(name, "must be a sequence of code strings")
            object.__setattr__(self, name, tuple(codes))


@dataclass(frozen=True, slots=True)
class StayAlert:
    """A threshold crossed by one stay: what, when, against which provisional DRG."""

    alert_id: str
    encounter_id: str
    hospital_id: str
    department: str
    stage: Stage
    drg: str
    table_version: int
    standard_cost_fen: int
    cost_fen: int
    ratio: Decimal
    threshold: Decimal
    at: datetime

    @property
    def level(self) -> str:
        return LEVEL[self.stage]

    def message(self) -> str:
        what = {Stage.WARNING: "reached the warning line", Stage.INTERVENTION: "calls for intervention",
                Stage.ABOVE_APPROVAL: "closed above the approval line: two approvals before payment"}[self.stage]
        return (f"stay {self.encounter_id} ({self.department or 'department not given'}): cost {self.cost_fen} fen "
                f"is {self.ratio} of DRG {self.drg} standard {self.standard_cost_fen} fen (threshold "
                f"{self.threshold}) — {what}")


@dataclass(frozen=True, slots=True)
class StayClosed:
    """A stay ended: its final cost against its final standard, and the in-stay alerts that end with it."""

    encounter_id: str
    hospital_id: str
    department: str
    drg: str | None
    standard_cost_fen: int | None
    cost_fen: int
    ratio: Decimal | None
    closed_alerts: tuple[str, ...]
    at: datetime


@dataclass(eq=False)
class Stay:
    """One inpatient stay under monitoring."""

    encounter_id: str
    hospital_id: str
    admitted_at: datetime | None = None
    department: str = ""
    principal_dx: str = ""
    secondary_dx: tuple[str, ...] = ()
    procedures: tuple[str, ...] = ()
    cost_fen: int = 0
    as_of: datetime | None = None
    drg: str | None = None
    table_version: int | None = None
    standard_cost_fen: int | None = None
    crossed: dict[Stage, datetime] = field(default_factory=dict)
    discharged_at: datetime | None = None
    events: list[StayAlert | StayClosed] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in ("encounter_id", "hospital_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise StayError(name, "is required")
        if self.admitted_at is not None:
            _aware(self.admitted_at, "admitted_at")

    @property
    def is_open(self) -> bool:
        return self.discharged_at is None

    def _case(self, cost_fen: int, at: datetime) -> grouper.Case:
        start = self.admitted_at or at
        return grouper.Case(case_id=self.encounter_id, hospital_id=self.hospital_id,
                        department=self.department or "unknown", payer=grouper.DEFAULT_PAYER,
                        principal_dx=self.principal_dx, secondary_dx=self.secondary_dx, procedures=self.procedures,
                        los_days=max((at.date() - start.date()).days, 0), total_cost_fen=cost_fen)

    def _regroup(self, table: grouper.RuleTable | None, cost_fen: int, at: datetime) -> None:
        if table is None or not self.principal_dx:
            self.drg = self.table_version = self.standard_cost_fen = None
            return
        g = grouper.group_case(table, self._case(cost_fen, at))
        self.drg, self.table_version = g.drg, g.table_version
        self.standard_cost_fen = g.standard_cost_fen if g.grouped and g.standard_cost_fen else None

    def _alert(self, stage: Stage, threshold: Decimal, at: datetime) -> StayAlert:
        assert self.standard_cost_fen and self.drg and self.table_version is not None
        return StayAlert(alert_id(self.encounter_id, stage), self.encounter_id, self.hospital_id, self.department,
                         stage, self.drg, self.table_version, self.standard_cost_fen, self.cost_fen,
                         ratio(self.cost_fen, self.standard_cost_fen), threshold, at)

    def record(self, facts: StayFacts, table: grouper.RuleTable | None,
               policy: grouper.DrgPolicy = grouper.DrgPolicy()) -> list[StayAlert]:
        """Take a newer snapshot of the stay; the alerts it crosses for the first time (also kept in ``events``)."""
        if not isinstance(facts, StayFacts):
            raise StayError("facts", "must be StayFacts")
        if not self.is_open or (self.as_of is not None and facts.as_of <= self.as_of):
            return []
        self.as_of, self.cost_fen = facts.as_of, facts.cost_fen
        self.principal_dx, self.secondary_dx, self.procedures = facts.principal_dx, facts.secondary_dx, facts.procedures
        self.department = facts.department or self.department
        self._regroup(table, facts.cost_fen, facts.as_of)
        if self.standard_cost_fen is None:
            return []
        out = []
        for stage, threshold in ((Stage.WARNING, policy.warn_at), (Stage.INTERVENTION, policy.intervene_at)):
            if stage not in self.crossed and _at_least(self.cost_fen, threshold, self.standard_cost_fen):
                self.crossed[stage] = facts.as_of
                out.append(self._alert(stage, threshold, facts.as_of))
        self.events += out
        return out

    def discharge(self, facts: StayFacts, table: grouper.RuleTable | None,
                  policy: grouper.DrgPolicy = grouper.DrgPolicy()) -> list[StayAlert | StayClosed]:
        """Close the stay on its final coding and cost: the in-stay alerts end; above 130% raises the discharge
        alert. A repeated discharge changes nothing."""
        if not isinstance(facts, StayFacts):
            raise StayError("facts", "must be StayFacts")
        if not self.is_open:
            return []
        self.cost_fen = facts.cost_fen
        self.principal_dx, self.secondary_dx, self.procedures = facts.principal_dx, facts.secondary_dx, facts.procedures
        self.department = facts.department or self.department
        self.as_of = max(self.as_of, facts.as_of) if self.as_of else facts.as_of
        self._regroup(table, facts.cost_fen, facts.as_of)
        self.discharged_at = facts.as_of
        out: list[StayAlert | StayClosed] = []
        standard = self.standard_cost_fen
        if standard is not None and Stage.ABOVE_APPROVAL not in self.crossed and _above(
                facts.cost_fen, policy.approval_above, standard):
            self.crossed[Stage.ABOVE_APPROVAL] = facts.as_of
            out.append(self._alert(Stage.ABOVE_APPROVAL, policy.approval_above, facts.as_of))
        closed = tuple(alert_id(self.encounter_id, s) for s in IN_STAY if s in self.crossed)
        out.append(StayClosed(self.encounter_id, self.hospital_id, self.department, self.drg, standard,
                              facts.cost_fen, ratio(facts.cost_fen, standard) if standard else None, closed,
                              facts.as_of))
        self.events += out
        return out
