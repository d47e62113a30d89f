"""Cost indicators per hospital and period (次均费用, 药占比, 耗占比, 成本差异系数). Pure domain.

Decisions that are part of the contract:

* Cost per visit is the hospital's total over its visits, rounded half-up to a whole fen; the
  regional average is the same figure over every hospital of the region in the period.
* Growth = (current − previous) / previous on the cost-per-visit figures, as an exact Decimal
  (28 significant digits when the quotient does not terminate). Growth ABOVE 8% is yellow, ABOVE
  10% red; exactly 8% is green, exactly 10% yellow. Levels are decided on the integers, never on
  a rounded ratio.
* Cost index = hospital cost per visit / regional average, rounded half-up to 4 places for
  display; whether it lies in the band [0.8, 1.2] (inclusive) is decided exactly on the two fen
  figures. Outside the band is a breach on either side (much cheaper than the region is as
  suspicious as much dearer): yellow while within [0.7, 1.3], red beyond — our choice, the
  documents only give the band.
* Shares (drug, consumable) are of the total cost, rounded half-up to 4 places; 0 when the total
  is 0.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Literal

from .errors import DomainError

PERIOD = re.compile(r"^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])$")   # 1900-01..2199-12: arithmetic never overflows

GrowthLevel = Literal["green", "yellow", "red"]
BreachLevel = Literal["yellow", "red"]

GROWTH_YELLOW_ABOVE = Decimal("0.08")
GROWTH_RED_ABOVE = Decimal("0.10")
COST_INDEX_BAND = (Decimal("0.8"), Decimal("1.2"))
COST_INDEX_YELLOW_BAND = (Decimal("0.7"), Decimal("1.3"))
_PLACES = Decimal("0.0001")


class IndicatorError(DomainError):
    """An indicator input is invalid; names the offending field."""


def _check_period(value: object, name: str) -> str:
    if not isinstance(value, str) or not PERIOD.match(value):
        raise IndicatorError(name, "must be a month as YYYY-MM")
    return value


def _check_fen(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise IndicatorError(name, "must be an integer amount in fen")
    if value < 0:
        raise IndicatorError(name, "must not be negative")
    return value


@dataclass(frozen=True, slots=True)
class Visit:
    """One outpatient visit or inpatient stay with its cost split."""

    hospital_id: str
    region_code: str
    period: str  # "YYYY-MM"
    patient_class: str
    total_fen: int
    drugs_fen: int
    consumables_fen: int

    def __post_init__(self) -> None:
        for name in ("hospital_id", "region_code", "patient_class"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise IndicatorError(name, "must be a non-empty string")
        _check_period(self.period, "period")
        for name in ("total_fen", "drugs_fen", "consumables_fen"):
            _check_fen(getattr(self, name), name)
        if self.drugs_fen + self.consumables_fen > self.total_fen:
            raise IndicatorError("total_fen", "is less than drugs plus consumables")


@dataclass(frozen=True, slots=True)
class HospitalIndicators:
    """One hospital's cost indicators for a period."""

    hospital_id: str
    region_code: str
    period: str
    visits: int
    cost_per_visit_fen: int
    drug_share: Decimal
    consumable_share: Decimal
    previous_cost_per_visit_fen: int | None
    growth: Decimal | None
    growth_level: GrowthLevel | None
    cost_index: Decimal | None
    cost_index_in_band: bool | None
    regional_avg_fen: int | None = None


@dataclass(frozen=True, slots=True)
class Breach:
    """An indicator outside its threshold: the reason for a warning."""

    hospital_id: str
    period: str
    indicator: Literal["cost_growth", "cost_growth_yoy", "cost_index"]
    level: BreachLevel
    value: Decimal
    threshold: Decimal
    message: str


def _round_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up, for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


def _share(part: int, total: int) -> Decimal:
    if total == 0:
        return Decimal("0.0000")
    with localcontext() as ctx:
        ctx.prec = 60
        return (Decimal(part) / Decimal(total)).quantize(_PLACES, rounding=ROUND_HALF_UP)


def _cmp(value: int, threshold: Decimal, base: int) -> int:
    """Sign of value − threshold × base, in integers."""
    num, den = threshold.as_integer_ratio()
    left, right = value * den, num * base
    return (left > right) - (left < right)


def _percent(value: Decimal) -> str:
    """0.08 → "8%", 0.0850 → "8.5%", at most 4 places of a percent."""
    rounded = (value * 100).quantize(_PLACES, rounding=ROUND_HALF_UP).normalize()
    return f"{rounded:f}%"


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def growth_level(previous_fen: int, current_fen: int) -> tuple[Decimal, GrowthLevel]:
    """Growth of cost per visit and its level: above 8% yellow, above 10% red."""
    _check_fen(previous_fen, "previous_fen")
    _check_fen(current_fen, "current_fen")
    if previous_fen == 0:
        raise IndicatorError("previous_fen", "is 0: growth is undefined")
    increase = current_fen - previous_fen
    growth = Decimal(increase) / Decimal(previous_fen)
    if _cmp(increase, GROWTH_RED_ABOVE, previous_fen) > 0:
        return growth, "red"
    if _cmp(increase, GROWTH_YELLOW_ABOVE, previous_fen) > 0:
        return growth, "yellow"
    return growth, "green"


def cost_index(hospital_fen: int, regional_avg_fen: int) -> Decimal:
    """Hospital cost per visit relative to the regional average (1 = average), 4 places."""
    _check_fen(hospital_fen, "hospital_fen")
    _check_fen(regional_avg_fen, "regional_avg_fen")
    if regional_avg_fen == 0:
        raise IndicatorError("regional_avg_fen", "is 0: the index is undefined")
    return _share(hospital_fen, regional_avg_fen)


def in_cost_band(
    hospital_fen: int, regional_avg_fen: int, band: tuple[Decimal, Decimal] = COST_INDEX_BAND
) -> bool:
    """Whether hospital / regional average lies within the band, inclusive, decided exactly."""
    _check_fen(hospital_fen, "hospital_fen")
    _check_fen(regional_avg_fen, "regional_avg_fen")
    if regional_avg_fen == 0:
        raise IndicatorError("regional_avg_fen", "is 0: the index is undefined")
    low, high = band
    return (
        _cmp(hospital_fen, low, regional_avg_fen) >= 0
        and _cmp(hospital_fen, high, regional_avg_fen) <= 0
    )


@dataclass
class _Tally:
    region: str
    visits: int = 0
    total: int = 0
    drugs: int = 0
    consumables: int = 0


def _tally(visits: Sequence[Visit], period: str) -> dict[str, _Tally]:
    tallies: dict[str, _Tally] = {}
    for visit in visits:
        if visit.period != period:
            continue
        tally = tallies.setdefault(visit.hospital_id, _Tally(visit.region_code))
        if tally.region != visit.region_code:
            raise IndicatorError(
                "region_code",
                f"hospital {visit.hospital_id} has visits in regions {tally.region} and "
                f"{visit.region_code} in {period}",
            )
        tally.visits += 1
        tally.total += visit.total_fen
        tally.drugs += visit.drugs_fen
        tally.consumables += visit.consumables_fen
    return tallies


def compute_indicators(
    visits: Sequence[Visit],
    period: str,
    previous_period: str,
    *,
    patient_class: str | None = None,
) -> list[HospitalIndicators]:
    """Indicators of every hospital with visits in ``period``, sorted by hospital id.

    ``patient_class`` restricts the visits (outpatient and inpatient costs are not comparable).
    """
    _check_period(period, "period")
    _check_period(previous_period, "previous_period")
    if previous_period >= period:
        raise IndicatorError("previous_period", "must be before period")
    if patient_class is not None:
        visits = [v for v in visits if v.patient_class == patient_class]
    current = _tally(visits, period)
    previous = _tally(visits, previous_period)

    regions: dict[str, list[int]] = {}
    for tally in current.values():
        region = regions.setdefault(tally.region, [0, 0])
        region[0] += tally.total
        region[1] += tally.visits
    regional_avg = {code: _round_div(total, n) for code, (total, n) in regions.items()}

    result: list[HospitalIndicators] = []
    for hospital_id in sorted(current):
        tally = current[hospital_id]
        cpv = _round_div(tally.total, tally.visits)
        before = previous.get(hospital_id)
        prev_cpv = _round_div(before.total, before.visits) if before else None
        growth: Decimal | None = None
        level: GrowthLevel | None = None
        if prev_cpv:
            growth, level = growth_level(prev_cpv, cpv)
        avg = regional_avg[tally.region]
        index = cost_index(cpv, avg) if avg else None
        in_band = in_cost_band(cpv, avg) if avg else None
        result.append(HospitalIndicators(
            hospital_id, tally.region, period, tally.visits, cpv,
            _share(tally.drugs, tally.total), _share(tally.consumables, tally.total),
            prev_cpv, growth, level, index, in_band, avg,
        ))
    return result


def _index_breach(ind: HospitalIndicators) -> Breach | None:
    if ind.cost_index is None or ind.cost_index_in_band in (None, True):
        return None
    if ind.regional_avg_fen:
        cpv, avg = ind.cost_per_visit_fen, ind.regional_avg_fen
        high = _cmp(cpv, COST_INDEX_BAND[1], avg) > 0
        yellow = in_cost_band(cpv, avg, COST_INDEX_YELLOW_BAND)
    else:  # built without the regional average: fall back on the rounded index
        high = ind.cost_index > COST_INDEX_BAND[1]
        yellow = COST_INDEX_YELLOW_BAND[0] <= ind.cost_index <= COST_INDEX_YELLOW_BAND[1]
    side = 1 if high else 0
    threshold = (COST_INDEX_BAND if yellow else COST_INDEX_YELLOW_BAND)[side]
    band = f"[{COST_INDEX_BAND[0]}, {COST_INDEX_BAND[1]}]"
    direction = "above" if high else "below"
    return Breach(
        ind.hospital_id, ind.period, "cost_index", "yellow" if yellow else "red",
        ind.cost_index, threshold,
        f"cost index {ind.cost_index} is {direction} {threshold} (regional band {band}; "
        f"cost per visit {_yuan(ind.cost_per_visit_fen)} yuan"
        + (f" vs regional average {_yuan(ind.regional_avg_fen)} yuan)"
           if ind.regional_avg_fen else ")"),
    )


def breaches(indicators: Sequence[HospitalIndicators], *, year_on_year: bool = False) -> list[Breach]:
    """Cost-growth and cost-index breaches, by hospital then indicator. The growth is against whatever previous
    period the indicators were computed with: say which (``year_on_year``: indicator ``cost_growth_yoy``)."""
    found: list[Breach] = []
    basis = "year on year" if year_on_year else "month on month"
    for ind in sorted(indicators, key=lambda i: (i.hospital_id, i.period)):
        if ind.growth is not None and ind.growth_level in ("yellow", "red"):
            threshold = GROWTH_RED_ABOVE if ind.growth_level == "red" else GROWTH_YELLOW_ABOVE
            found.append(Breach(
                ind.hospital_id, ind.period, "cost_growth_yoy" if year_on_year else "cost_growth", ind.growth_level,
                ind.growth, threshold,
                f"cost per visit grew {_percent(ind.growth)} {basis} "
                f"({_yuan(ind.previous_cost_per_visit_fen or 0)} → "
                f"{_yuan(ind.cost_per_visit_fen)} yuan), above the {_percent(threshold)} "
                f"{ind.growth_level} threshold",
            ))
        index_breach = _index_breach(ind)
        if index_breach is not None:
            found.append(index_breach)
    return found
