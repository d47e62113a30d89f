"""Price reports normalised to an item's base unit, price statistics and outliers. Pure domain.

Decisions documented here are part of the contract:

* Units are matched after NFKC, casefold and whitespace collapse, through a synonym table
  (``支``, ``pcs`` and ``piece`` are all ``each``; ``mL`` and ``毫升`` are ``ml``). Conversions
  exist within mass (µg, mg, g, kg), volume (µl, ml, l) and length (mm, cm, m); count and pack units
  (box, bottle, ...) convert only to themselves. An unknown unit is refused, never guessed.
* A report says: ``quantity_packs`` packs of ``pack_unit``, each holding ``units_per_pack``
  ``pack_content_unit``, at ``pack_price`` per pack. With a countable base unit (``each``) the
  content of a pack must be a whole number.
* ``base_unit_price`` is pack price / (units per pack × conversion), rounded half-up to 0.0001 yuan;
  a price that rounds to 0.0000 is refused. ``base_quantity`` is exact. ``total_fen`` is pack
  price × packs rounded to fen once.
* Percentiles interpolate linearly between closest ranks (numpy's default ``linear``); statistics
  are rounded half-up to 0.0001 from their exact values.
* Outliers use the modified z-score of Iglewicz and Hoaglin within a peer group (same hospital
  level): M = 0.6745 (x - median) / MAD, or (x - median) / (1.253314 × mean absolute deviation)
  when MAD is 0. Flagging compares |M| > threshold exactly (cross-multiplied, no division); the
  reported score is rounded to 0.0001. Groups are reported in level order, observations in input
  order.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from .errors import DomainError
from .money import divide_rounded, exact, line_total_fen, ratio, to_fen

# canonical unit -> (dimension, size in the dimension's smallest unit)
UNITS: dict[str, tuple[str, Decimal]] = {
    "each": ("count", Decimal(1)),
    "ug": ("mass", Decimal(1)), "mg": ("mass", Decimal(1000)),
    "g": ("mass", Decimal(1_000_000)), "kg": ("mass", Decimal(1_000_000_000)),
    "ul": ("volume", Decimal(1)), "ml": ("volume", Decimal(1000)),
    "l": ("volume", Decimal(1_000_000)),
    "mm": ("length", Decimal(1)), "cm": ("length", Decimal(10)), "m": ("length", Decimal(1000)),
    "box": ("pack:box", Decimal(1)), "carton": ("pack:carton", Decimal(1)),
    "bottle": ("pack:bottle", Decimal(1)), "bag": ("pack:bag", Decimal(1)),
    "pack": ("pack:pack", Decimal(1)), "vial": ("pack:vial", Decimal(1)),
    "ampoule": ("pack:ampoule", Decimal(1)), "roll": ("pack:roll", Decimal(1)),
    "tube": ("pack:tube", Decimal(1)),
}

SYNONYMS: dict[str, str] = {
    **{s: "each" for s in ("each", "ea", "piece", "pieces", "pcs", "pc", "set", "个", "支", "只",
                           "片", "根", "套", "件", "枚", "粒", "张", "条", "把")},
    **{s: "ug" for s in ("ug", "μg", "mcg", "微克")},
    **{s: "mg" for s in ("mg", "milligram", "milligrams", "毫克")},
    **{s: "g" for s in ("g", "gram", "grams", "克")},
    **{s: "kg" for s in ("kg", "kilogram", "kilograms", "千克", "公斤")},
    **{s: "ul" for s in ("ul", "μl", "微升")},
    **{s: "ml" for s in ("ml", "cc", "millilitre", "milliliter", "millilitres", "milliliters",
                         "毫升")},
    **{s: "l" for s in ("l", "litre", "liter", "litres", "liters", "升")},
    **{s: "mm" for s in ("mm", "毫米")},
    **{s: "cm" for s in ("cm", "厘米")},
    **{s: "m" for s in ("m", "metre", "meter", "metres", "meters", "米")},
    **{s: "box" for s in ("box", "boxes", "bx", "盒")},
    **{s: "carton" for s in ("carton", "cartons", "ctn", "箱")},
    **{s: "bottle" for s in ("bottle", "bottles", "btl", "瓶")},
    **{s: "bag" for s in ("bag", "bags", "袋")},
    **{s: "pack" for s in ("pack", "packs", "pk", "包")},
    **{s: "vial" for s in ("vial", "vials")},
    **{s: "ampoule" for s in ("ampoule", "ampoules", "ampule", "amp")},
    **{s: "roll" for s in ("roll", "rolls", "卷")},
    **{s: "tube" for s in ("tube", "tubes", "管")},
}


class NormalisationError(DomainError):
    """A price report cannot be normalised to the base unit; names the offending field."""

    slug = "cannot-normalise"


def canonical_unit(raw: str, field: str = "unit") -> str:
    """The canonical name of a unit ('支' -> 'each', 'mL' -> 'ml'); unknown units are refused."""
    if not isinstance(raw, str):
        raise NormalisationError(field, "must be a unit name")
    key = " ".join(unicodedata.normalize("NFKC", raw).casefold().split())
    unit = SYNONYMS.get(key)
    if unit is None:
        raise NormalisationError(field, f"unknown unit {raw!r}")
    return unit


def is_pack_unit(unit: str) -> bool:
    """True for packaging units (box, bottle, ...) as opposed to units of use."""
    return UNITS[canonical_unit(unit)][0].startswith("pack:")


def conversion_factor(from_unit: str, to_unit: str, field: str = "pack_content_unit") -> Decimal:
    """How many ``to_unit`` one ``from_unit`` is (g -> mg: 1000); refuses other dimensions."""
    source, target = canonical_unit(from_unit, field), canonical_unit(to_unit, "base_unit")
    (source_dim, source_size), (target_dim, target_size) = UNITS[source], UNITS[target]
    if source_dim != target_dim:
        raise NormalisationError(field, f"{from_unit!r} cannot be converted to the item's base "
                                        f"unit {to_unit!r}")
    return source_size / target_size  # powers of ten: exact


def _positive(value: Decimal, field: str) -> Decimal:
    """Refuse zero, negative and non-Decimal values."""
    if isinstance(value, float) or not isinstance(value, Decimal | int) or isinstance(value, bool):
        raise NormalisationError(field, "must be a decimal number")
    if not Decimal(value).is_finite() or value <= 0:
        raise NormalisationError(field, "must be greater than 0")
    return Decimal(value)


@dataclass(frozen=True, slots=True)
class PriceReport:
    """One purchase as reported by a hospital, in its own packaging."""

    hospital_id: str
    item_code: str
    pack_unit: str
    units_per_pack: Decimal
    pack_content_unit: str
    quantity_packs: Decimal
    pack_price: Decimal
    supplier_id: str
    purchased_on: date


@dataclass(frozen=True, slots=True)
class NormalisedPrice:
    """A purchase expressed per base unit of the item."""

    base_unit: str
    base_unit_price: Decimal
    base_quantity: Decimal
    total_fen: int


def normalise(report: PriceReport, item_base_unit: str) -> NormalisedPrice:
    """Express a price report per base unit of the item."""
    canonical_unit(report.pack_unit, "pack_unit")
    base_unit = canonical_unit(item_base_unit, "base_unit")
    units_per_pack = _positive(report.units_per_pack, "units_per_pack")
    quantity = _positive(report.quantity_packs, "quantity_packs")
    pack_price = _positive(report.pack_price, "pack_price")
    factor = conversion_factor(report.pack_content_unit, base_unit)
    with exact():
        units_per_pack_in_base = units_per_pack * factor
        base_quantity = quantity * units_per_pack_in_base
    whole = units_per_pack_in_base == units_per_pack_in_base.to_integral_value()
    if UNITS[base_unit][0] == "count" and not whole:
        raise NormalisationError("units_per_pack", f"a pack of a countable unit must hold a whole "
                                                   f"number, got {units_per_pack}")
    base_unit_price = divide_rounded(pack_price, units_per_pack_in_base)
    if base_unit_price == 0:
        raise NormalisationError("pack_price", "is below 0.0001 yuan per base unit")
    return NormalisedPrice(base_unit, base_unit_price, base_quantity,
                           line_total_fen(pack_price, quantity))


@dataclass(frozen=True, slots=True)
class PriceStats:
    """Distribution of normalised unit prices; spread 0.35 means max is 35% above min."""

    n: int
    min: Decimal
    p10: Decimal
    median: Decimal
    max: Decimal
    spread: Decimal


def percentile(ordered: Sequence[Decimal], percent: int) -> Decimal:
    """Exact linear-interpolation percentile (numpy 'linear') of sorted values, unrounded."""
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * percent
    low, remainder = divmod(position, 100)
    if remainder == 0:
        return ordered[low]
    with exact():
        scaled = ordered[low] * 100 + (ordered[low + 1] - ordered[low]) * remainder
        return scaled / 100  # exact: a finite decimal divided by 100


def price_stats(prices: Sequence[Decimal]) -> PriceStats:
    """n, min, p10, median, max and relative spread of positive unit prices."""
    if not prices:
        raise ValueError("price_stats needs at least one price")
    for p in prices:
        ratio(p)
    ordered = sorted(prices)
    if ordered[0] <= 0:
        raise ValueError("prices must be greater than 0")
    with exact():
        span = ordered[-1] - ordered[0]

    def q(value: Decimal) -> Decimal:
        return divide_rounded(value, 1)

    return PriceStats(len(ordered), q(ordered[0]), q(percentile(ordered, 10)),
                      q(percentile(ordered, 50)), q(ordered[-1]), divide_rounded(span, ordered[0]))


@dataclass(frozen=True, slots=True)
class Observation:
    """One purchase price of a hospital, with the hospital's level for peer grouping."""

    hospital_id: str
    level: str
    base_unit_price: Decimal


@dataclass(frozen=True, slots=True)
class Outlier:
    """An observation whose modified z-score exceeds the threshold within its peer group."""

    hospital_id: str
    level: str
    base_unit_price: Decimal
    peer_median: Decimal
    score: Decimal
    direction: Literal["high", "low"]


MODIFIED_Z = Decimal("0.6745")
MEAN_AD_SCALE = Decimal("1.253314")


def flag_outliers(
    observations: Sequence[Observation], threshold: Decimal = Decimal("3.5"), min_group: int = 3
) -> list[Outlier]:
    """Observations whose |modified z-score| within their level is strictly above threshold."""
    ratio(threshold)
    if threshold < 0:
        raise ValueError("threshold must not be negative")
    groups: dict[str, list[Observation]] = defaultdict(list)
    for o in observations:
        ratio(o.base_unit_price)
        groups[o.level].append(o)
    outliers: list[Outlier] = []
    for level in sorted(groups):
        group = groups[level]
        if len(group) < min_group:
            continue
        with exact():
            median = percentile(sorted(o.base_unit_price for o in group), 50)
            deviations = [abs(o.base_unit_price - median) for o in group]
            mad = percentile(sorted(deviations), 50)
            # M = scale × (x - median) / spread, with spread = MAD or the summed deviations
            if mad > 0:
                scale, spread = MODIFIED_Z, mad
            else:
                scale, spread = Decimal(len(group)), MEAN_AD_SCALE * sum(deviations)
            if spread == 0:
                continue
            limit = threshold * spread
            flagged = [(o, d) for o, d in zip(group, deviations, strict=True) if scale * d > limit]
        for o, _ in flagged:
            with exact():
                signed = scale * (o.base_unit_price - median)
            outliers.append(Outlier(
                o.hospital_id, level, o.base_unit_price, divide_rounded(median, 1),
                divide_rounded(signed, spread), "high" if o.base_unit_price > median else "low"))
    return outliers


def savings_at(
    reference_price: Decimal, purchases: Iterable[tuple[str, Decimal, Decimal]]
) -> dict[str, int]:
    """Per hospital, fen that would have been saved buying above-reference purchases at it."""
    ratio(reference_price)
    excess: dict[str, Decimal] = {}
    with exact():
        for hospital_id, price, quantity in purchases:
            ratio(price)
            ratio(quantity)
            excess[hospital_id] = excess.get(hospital_id, Decimal(0)) + max(
                Decimal(0), price - reference_price) * quantity
    return {h: to_fen(excess[h]) for h in sorted(excess)}
