"""Balanced scorecard (平衡计分卡): four weighted perspectives over the alliance's indicators.

Decisions that are part of the contract:

* Perspectives and default weights (002): financial 0.30, patient 0.25, process 0.30,
  learning 0.15. Custom weights must name exactly these four, be non-negative and sum to 1.
* A measure scores 100 at or better than its target and falls linearly to 0 when it misses the
  target by the target itself: ``score = 100 × max(0, 1 − shortfall / target)``, where the
  shortfall is ``value − target`` (lower is better: 0 at twice the target) or ``target − value``
  (higher is better: 0 at zero). Targets must be positive. Scores are rounded half-up to 2 places.
* A perspective scores the mean of its measures that have a value. A perspective without any
  such measure is listed in ``missing`` and its weight is redistributed over the others in
  proportion to their weights; with no value anywhere the total is None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from types import MappingProxyType
from typing import Literal, NamedTuple

from .errors import DomainError

Direction = Literal["lower_is_better", "higher_is_better"]

PERSPECTIVES: tuple[str, ...] = ("financial", "patient", "process", "learning")
DEFAULT_WEIGHTS: Mapping[str, Decimal] = MappingProxyType({
    "financial": Decimal("0.30"),
    "patient": Decimal("0.25"),
    "process": Decimal("0.30"),
    "learning": Decimal("0.15"),
})
_HUNDRED = Decimal(100)
_SCORE_PLACES = Decimal("0.01")


class ScorecardError(DomainError):
    """A measure or weight set is invalid; names the offending field."""


def _decimal(value: object, name: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ScorecardError(name, "must be a finite Decimal")
    return value


@dataclass(frozen=True, slots=True)
class Measure:
    """One indicator's value against its target."""

    key: str
    perspective: str
    value: Decimal | None
    target: Decimal
    direction: Direction
    label: str

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key.strip():
            raise ScorecardError("key", "must be a non-empty string")
        if self.perspective not in PERSPECTIVES:
            raise ScorecardError(
                f"{self.key}.perspective", f"must be one of {', '.join(PERSPECTIVES)}"
            )
        if self.value is not None:
            _decimal(self.value, f"{self.key}.value")
        if _decimal(self.target, f"{self.key}.target") <= 0:
            raise ScorecardError(f"{self.key}.target", "must be positive")
        if self.direction not in ("lower_is_better", "higher_is_better"):
            raise ScorecardError(
                f"{self.key}.direction", "must be lower_is_better or higher_is_better"
            )


class MeasureScore(NamedTuple):
    """A measure as shown on the scorecard."""

    key: str
    label: str
    value: Decimal | None
    target: Decimal
    score: Decimal | None


@dataclass(frozen=True, slots=True)
class PerspectiveScore:
    """One perspective: its configured weight, the weight actually used, and its score."""

    perspective: str
    weight: Decimal
    score: Decimal | None
    measures: tuple[MeasureScore, ...]
    effective_weight: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Scorecard:
    """The four perspectives and the weighted total."""

    perspectives: tuple[PerspectiveScore, ...]
    total: Decimal | None
    missing: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Target:
    """A default target for a known indicator key."""

    perspective: str
    target: Decimal
    direction: Direction
    label: str


DEFAULT_TARGETS: Mapping[str, Target] = MappingProxyType({
    "drug_share": Target("financial", Decimal("0.30"), "lower_is_better",
                         "Drug share of total cost (药占比)"),
    "consumable_share": Target("financial", Decimal("0.20"), "lower_is_better",
                               "Consumable share of total cost (耗占比)"),
    "cost_growth": Target("financial", Decimal("0.05"), "lower_is_better",
                          "Cost growth year on year (费用增长率)"),
    "cost_index": Target("financial", Decimal("1.0"), "lower_is_better",
                         "Cost per visit relative to the regional average (成本差异系数)"),
    "recognition_rate": Target("patient", Decimal("0.5"), "higher_is_better",
                               "Results recognised instead of repeated (检查检验结果互认率)"),
    "referral_rate": Target("patient", Decimal("0.30"), "higher_is_better",
                            "Referral rate (双向转诊率)"),
    "settlement_cycle_days": Target("process", Decimal("30"), "lower_is_better",
                                    "Settlement cycle in days (结算周期)"),
    "warning_answer_on_time": Target("process", Decimal("0.9"), "higher_is_better",
                                     "Warnings answered within 3 working days (预警按时响应率)"),
    "joint_services": Target("learning", Decimal("10"), "higher_is_better",
                             "Joint services in the period: remote consultations, joint "
                             "surgeries, training (联合服务次数)"),
})


def measure_for(key: str, value: Decimal | None) -> Measure:
    """A measure for a key of DEFAULT_TARGETS."""
    if key not in DEFAULT_TARGETS:
        raise ScorecardError("key", f"{key!r} has no default target")
    t = DEFAULT_TARGETS[key]
    return Measure(key, t.perspective, value, t.target, t.direction, t.label)


def _round(value: Decimal) -> Decimal:
    return value.quantize(_SCORE_PLACES, rounding=ROUND_HALF_UP)


def score(measure: Measure) -> Decimal | None:
    """0–100: 100 at or better than target, 0 when missing it by the target itself."""
    value, target = measure.value, measure.target
    if value is None:
        return None
    shortfall = value - target if measure.direction == "lower_is_better" else target - value
    if shortfall <= 0:
        return _round(_HUNDRED)
    with localcontext() as ctx:
        ctx.prec = 50
        return _round(max(Decimal(0), _HUNDRED * (1 - shortfall / target)))


def _check_weights(weights: Mapping[str, Decimal]) -> Mapping[str, Decimal]:
    if set(weights) != set(PERSPECTIVES):
        raise ScorecardError("weights", f"must give exactly {', '.join(PERSPECTIVES)}")
    for name, weight in weights.items():
        if _decimal(weight, f"weights.{name}") < 0:
            raise ScorecardError(f"weights.{name}", "must not be negative")
    if sum(weights.values()) != 1:
        raise ScorecardError("weights", "must sum to 1")
    return weights


def balanced_scorecard(
    measures: Sequence[Measure], weights: Mapping[str, Decimal] | None = None
) -> Scorecard:
    """Score the measures per perspective and weight them into a total."""
    weights = _check_weights(DEFAULT_WEIGHTS if weights is None else weights)
    keys = [m.key for m in measures]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ScorecardError("measures", f"duplicate keys: {', '.join(duplicates)}")

    scored: dict[str, list[MeasureScore]] = {p: [] for p in PERSPECTIVES}
    for m in measures:
        scored[m.perspective].append(MeasureScore(m.key, m.label, m.value, m.target, score(m)))
    means: dict[str, Decimal | None] = {}
    for perspective, items in scored.items():
        values = [s.score for s in items if s.score is not None]
        means[perspective] = _round(sum(values, Decimal(0)) / len(values)) if values else None

    missing = tuple(p for p in PERSPECTIVES if means[p] is None)
    present = [p for p in PERSPECTIVES if means[p] is not None]
    present_weight = sum((weights[p] for p in present), Decimal(0))
    notes: list[str] = []
    effective: dict[str, Decimal] = {p: Decimal(0) for p in PERSPECTIVES}
    total: Decimal | None = None
    if present and present_weight > 0:
        weighted = Decimal(0)
        with localcontext() as ctx:
            ctx.prec = 50
            for p in present:
                effective[p] = weights[p] / present_weight
                weighted += effective[p] * (means[p] or Decimal(0))
        total = _round(weighted)
        if missing:
            notes.append(
                f"no value for {', '.join(missing)}: weight "
                f"{sum((weights[p] for p in missing), Decimal(0))} redistributed over "
                f"{', '.join(present)} in proportion to their weights"
            )
    elif present:
        notes.append(f"only zero-weight perspectives ({', '.join(present)}) have values: no total")
    else:
        notes.append("no measure has a value: no total")
    for m in measures:
        if m.value is None:
            notes.append(f"{m.perspective}.{m.key} has no value and is left out")

    perspectives = tuple(
        PerspectiveScore(p, weights[p], means[p], tuple(scored[p]),
                         effective[p].quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))
        for p in PERSPECTIVES
    )
    return Scorecard(perspectives, total, missing, tuple(notes))
