"""Tiered group-purchase award (带量采购): the exact cheapest split of a volume. Pure domain.

Decisions documented here are part of the contract:

* A bid's tiers are bands: a tier covers [min_volume, next tier's min_volume), the first starts at
  0 and prices never rise with volume. Prices have at most 4 decimal places.
* ``all_units``: the whole quantity is priced at the band the quantity falls in. ``incremental``:
  the first units are priced by the first band, the units from the second band's start on by the
  second, and so on (cost of q = Σ price × units of [0, q) inside the band). The band is always
  decided by the quantity awarded to *that* supplier, never by the item's total volume.
* Among a supplier's bids for an item only its latest valid one (by submitted_at, then bid_id)
  counts; earlier ones are superseded. Invalid bids and bids for other items are ignored; every
  ignored bid is named in the explanation.
* The award is the exact minimum cost for exactly ``volume`` units over at most ``max_suppliers``
  suppliers, each within its capacity. Ties: lower exact cost, then fewer suppliers, then the
  earlier sorted submission times, then the sorted supplier ids; for the same suppliers and cost,
  the earliest-submitting supplier gets as many units as possible (then the next, and so on).
* Volume 0 is awarded with no lines and total 0. Without any valid bid the status is
  ``no_valid_bid``; when the ``max_suppliers`` largest capacities cannot cover the volume the status
  is ``insufficient_capacity`` and nothing is awarded (no partial award). Items not awarded have no
  saving; the baseline total is still reported when a baseline price is known.
* Totals are in fen: each line is its exact cost rounded half-up once, the item total is the sum of
  its lines, the baseline total is baseline price × volume rounded once, saving = baseline - total.
  A round's baseline and saving cover only awarded items that have a baseline.
* Search: every cost is linear inside a band, so with the bands fixed the award is a linear
  programme over a box cut by Σq = volume, and some optimal vertex (also the tie-break winner) has
  every supplier but one at a breakpoint: a band start, a band end (all-units only, where the cost
  jumps) or its capacity. The search lists (supplier, breakpoint) options by their excess over the
  lowest price of any bid, adds suppliers at breakpoints depth by depth (1, 2, ... up to
  max_suppliers - 1) and gives the residual to the best free supplier, pruning a branch once its
  excess exceeds the best award's (never on equality, so ties are all seen). Without capacity
  limits one supplier is always optimal: splitting never beats the cheaper marginal price.
* Commitments are allocated to suppliers proportionally (floors of the exact shares, then the
  remaining units one at a time to the supplier with the most units still unplaced), hospitals in id
  order, so every hospital gets exactly its commitment and every supplier exactly its award.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from .errors import DomainError
from .money import divide_rounded, exact, fen_to_yuan, line_total_fen, ratio, to_fen

PRICE_SCALE = 10_000  # unit prices have at most 4 decimal places; costs are searched in 0.0001 yuan


class TierSemantics(StrEnum):
    """How a bid's volume tiers price a quantity."""

    ALL_UNITS = "all_units"
    INCREMENTAL = "incremental"


@dataclass(frozen=True, slots=True)
class Tier:
    """A price band starting at min_volume units (inclusive)."""

    min_volume: int
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class Bid:
    """A supplier's volume-for-price offer for one item."""

    bid_id: str
    supplier_id: str
    item_code: str
    semantics: TierSemantics
    tiers: tuple[Tier, ...]
    capacity: int | None
    submitted_at: datetime


class BidError(DomainError):
    """A bid is invalid; names the offending field."""

    slug = "invalid-bid"


class AwardError(DomainError):
    """An award request (volume, max_suppliers, commitments) is invalid; names the field."""

    slug = "invalid-award"


def _is_int(value: object) -> bool:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def validate_bid(bid: Bid) -> None:
    """Refuse a bid that is not a well-formed volume-for-price offer."""
    for name in ("bid_id", "supplier_id", "item_code"):
        value = getattr(bid, name)
        if not isinstance(value, str) or not value.strip():
            raise BidError(name, "is required")
    try:
        TierSemantics(bid.semantics)
    except ValueError:
        raise BidError("semantics", "must be 'all_units' or 'incremental'") from None
    if not isinstance(bid.submitted_at, datetime) or bid.submitted_at.utcoffset() is None:
        raise BidError("submitted_at", "must be a timezone-aware datetime")
    if not bid.tiers:
        raise BidError("tiers", "at least one tier is required")
    previous: Tier | None = None
    for i, tier in enumerate(bid.tiers):
        if not _is_int(tier.min_volume) or tier.min_volume < 0:
            raise BidError(f"tiers[{i}].min_volume", "must be a whole number >= 0")
        if i == 0 and tier.min_volume != 0:
            raise BidError("tiers[0].min_volume", "the first tier must start at 0")
        price = tier.unit_price
        if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
            raise BidError(f"tiers[{i}].unit_price", "must be a decimal greater than 0")
        numerator, denominator = price.as_integer_ratio()
        if (numerator * PRICE_SCALE) % denominator:
            raise BidError(f"tiers[{i}].unit_price", "must have at most 4 decimal places")
        if previous is not None:
            if tier.min_volume <= previous.min_volume:
                raise BidError(f"tiers[{i}].min_volume", "tiers must be strictly ascending")
            if price > previous.unit_price:
                raise BidError(f"tiers[{i}].unit_price",
                               "must not exceed the price of a smaller volume")
        previous = tier
    if bid.capacity is not None and (not _is_int(bid.capacity) or bid.capacity <= 0):
        raise BidError("capacity", "must be empty or a whole number > 0")


def band_of(bid: Bid, quantity: int) -> int:
    """Index of the tier whose band holds ``quantity``."""
    return bisect_right([t.min_volume for t in bid.tiers], quantity) - 1


def cost(bid: Bid, quantity: int) -> Decimal:
    """Exact, unrounded yuan cost of ``quantity`` units awarded to this bid's supplier."""
    if not _is_int(quantity) or quantity < 0:
        raise BidError("quantity", "must be a whole number >= 0")
    tiers = bid.tiers
    band = band_of(bid, quantity)
    with exact():
        if bid.semantics == TierSemantics.ALL_UNITS:
            return tiers[band].unit_price * quantity
        total = Decimal(0)
        for i in range(band + 1):
            end = tiers[i + 1].min_volume if i < band else quantity
            total += tiers[i].unit_price * (end - tiers[i].min_volume)
        return total


@dataclass(frozen=True, slots=True)
class AwardLine:
    """Units awarded to one supplier; unit_price is the band price or the incremental average."""

    supplier_id: str
    bid_id: str
    quantity: int
    unit_price: Decimal
    total_fen: int


@dataclass(frozen=True, slots=True)
class ItemAward:
    """The award of one item, with the reasons in plain sentences."""

    item_code: str
    volume: int
    status: Literal["awarded", "no_valid_bid", "insufficient_capacity"]
    lines: tuple[AwardLine, ...]
    total_fen: int
    baseline_total_fen: int | None
    saving_fen: int | None
    explanation: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RoundAward:
    """All items of a round; baseline and saving cover awarded items with a baseline."""

    items: tuple[ItemAward, ...]
    total_fen: int
    baseline_total_fen: int
    saving_fen: int


class _Offer:
    """A valid bid ready for the search: integer prices in 0.0001 yuan, capacity cut to volume."""

    __slots__ = ("bid", "starts", "prices", "cumulative", "incremental", "cap", "floor")

    def __init__(self, bid: Bid, volume: int) -> None:
        self.bid = bid
        self.starts = [t.min_volume for t in bid.tiers]
        ratios = [t.unit_price.as_integer_ratio() for t in bid.tiers]
        self.prices = [n * PRICE_SCALE // d for n, d in ratios]  # exact: at most 4 decimals
        self.incremental = bid.semantics == TierSemantics.INCREMENTAL
        self.cumulative = [0]
        for i in range(1, len(self.starts)):
            width = self.starts[i] - self.starts[i - 1]
            self.cumulative.append(self.cumulative[-1] + width * self.prices[i - 1])
        self.cap = volume if bid.capacity is None else min(bid.capacity, volume)
        self.floor = self.prices[-1]

    def cost(self, quantity: int) -> int:
        """Exact cost in 0.0001 yuan."""
        band = bisect_right(self.starts, quantity) - 1
        if self.incremental:
            return self.cumulative[band] + (quantity - self.starts[band]) * self.prices[band]
        return quantity * self.prices[band]

    def breakpoints(self, volume: int) -> list[int]:
        """Quantities in [1, volume - 1] at which this supplier can sit in an optimal vertex."""
        points = set(self.starts[1:])
        if not self.incremental:  # all-units costs jump at a band start: its end counts too
            points.update(s - 1 for s in self.starts[1:])
        points.add(self.cap)
        top = min(self.cap, volume - 1)
        return sorted(p for p in points if 1 <= p <= top)


def _tie_key(choice: tuple[tuple[_Offer, int], ...]) -> tuple:
    """Tie-break after cost: fewer suppliers, earlier submissions, supplier ids, early gets more."""
    bids = sorted((o.bid.submitted_at, o.bid.supplier_id, -q) for o, q in choice)
    return (len(choice), tuple(b[0] for b in bids), tuple(sorted(b[1] for b in bids)),
            tuple(b[2] for b in bids))


def _cheapest(offers: list[_Offer], volume: int, max_suppliers: int
              ) -> tuple[tuple[_Offer, int], ...]:
    """The exact cheapest award of a coverable ``volume``, ties broken as documented."""
    floor = min(o.floor for o in offers)
    by_floor = sorted(offers, key=lambda o: o.floor)
    options = sorted(
        ((o.cost(q) - q * floor, q, o.cost(q), i, o)
         for i, o in enumerate(offers) for q in o.breakpoints(volume)),
        key=lambda t: (t[0], t[1], t[3]))
    caps = sorted((o.cap for o in offers), reverse=True)
    reach = [sum(caps[:k]) for k in range(len(caps) + 1)]  # most k suppliers can cover
    best_cost = -1
    slack = -1  # best_cost - volume × floor; -1 until a first award is known
    best: tuple[tuple[_Offer, int], ...] = ()
    best_key: tuple = ()

    # residual -> offers able to take it, cheapest first, then by (submitted_at, supplier_id): for a
    # fixed set of other suppliers the first unused entry is the best free supplier, ties included,
    # because an earlier or lower-id member never makes the sorted tie-break tuples larger.
    free_options: dict[int, list[tuple[int, _Offer]]] = {}

    def finish(acc_cost: int, residual: int, chosen: tuple[tuple[_Offer, int], ...]) -> None:
        nonlocal best_cost, slack, best, best_key
        ranked = free_options.get(residual)
        if ranked is None:
            # slack only shrinks: offers beyond today's bound can never be needed later
            ranked = []
            for o in by_floor:
                if slack >= 0 and residual * (o.floor - floor) > slack:
                    break
                if o.cap >= residual:
                    ranked.append((o.cost(residual), o))
            ranked.sort(key=lambda t: (t[0], t[1].bid.submitted_at, t[1].bid.supplier_id))
            free_options[residual] = ranked
        for c, o in ranked:
            if any(o is other for other, _ in chosen):
                continue
            total = acc_cost + c
            if slack >= 0 and total > best_cost:
                return
            candidate = (*chosen, (o, residual))
            key = _tie_key(candidate)
            if slack < 0 or total < best_cost or key < best_key:
                best_cost, best, best_key = total, candidate, key
                slack = best_cost - volume * floor
            return

    def fix(start: int, depth: int, acc_cost: int, acc_excess: int, acc_quantity: int,
            chosen: tuple[tuple[_Offer, int], ...]) -> None:
        if depth == 0:
            finish(acc_cost, volume - acc_quantity, chosen)
            return
        for pos in range(start, len(options)):
            excess, q, c, _, o = options[pos]
            if slack >= 0 and acc_excess + excess > slack:
                break
            quantity = acc_quantity + q
            if quantity >= volume or volume - quantity > reach[depth]:
                continue
            if any(o is other for other, _ in chosen):
                continue
            fix(pos + 1, depth - 1, acc_cost + c, acc_excess + excess, quantity,
                (*chosen, (o, q)))

    for depth in range(min(max_suppliers, len(offers))):
        fix(0, depth, 0, 0, 0, ())
    return best


def _line(offer: _Offer, quantity: int) -> AwardLine:
    """The award line of ``quantity`` units for one offer."""
    bid = offer.bid
    exact_cost = cost(bid, quantity)
    if bid.semantics == TierSemantics.ALL_UNITS:
        unit_price = divide_rounded(bid.tiers[band_of(bid, quantity)].unit_price, 1)
    else:
        unit_price = divide_rounded(exact_cost, quantity)
    return AwardLine(bid.supplier_id, bid.bid_id, quantity, unit_price, to_fen(exact_cost))


def _yuan(fen: int) -> str:
    """Fen as a yuan amount with thousands separators."""
    return f"{fen_to_yuan(fen):,}"


def _usable_bids(item_code: str, bids: Sequence[Bid]) -> tuple[list[Bid], list[str]]:
    """The latest valid bid per supplier for the item, and a sentence per ignored bid."""
    notes: list[str] = []
    latest: dict[str, Bid] = {}
    for bid in bids:
        name = f"bid {bid.bid_id} of {bid.supplier_id}"
        if bid.item_code != item_code:
            notes.append(f"{name} ignored: it is for item {bid.item_code}")
            continue
        try:
            validate_bid(bid)
        except BidError as exc:
            notes.append(f"{name} ignored as invalid: {exc.field} {exc.message}")
            continue
        kept = latest.get(bid.supplier_id)
        if kept is None or (bid.submitted_at, bid.bid_id) > (kept.submitted_at, kept.bid_id):
            if kept is not None:
                notes.append(f"bid {kept.bid_id} of {kept.supplier_id} superseded by its later "
                             f"bid {bid.bid_id}")
            latest[bid.supplier_id] = bid
        else:
            notes.append(f"{name} superseded by its later bid {kept.bid_id}")
    return [latest[s] for s in sorted(latest)], notes


def award_item(
    item_code: str, volume: int, bids: Sequence[Bid], baseline_unit_price: Decimal | None,
    max_suppliers: int = 3,
) -> ItemAward:
    """Award ``volume`` units of one item at the exact minimum cost."""
    if not _is_int(volume) or volume < 0:
        raise AwardError("volume", "must be a whole number >= 0")
    if not _is_int(max_suppliers) or max_suppliers < 1:
        raise AwardError("max_suppliers", "must be a whole number >= 1")
    if baseline_unit_price is not None:
        ratio(baseline_unit_price)
        if baseline_unit_price < 0:
            raise AwardError("baseline_unit_price", "must not be negative")
    baseline = None if baseline_unit_price is None else line_total_fen(baseline_unit_price, volume)
    usable, notes = _usable_bids(item_code, bids)

    def not_awarded(status: Literal["no_valid_bid", "insufficient_capacity"],
                    reason: str) -> ItemAward:
        return ItemAward(item_code, volume, status, (), 0, baseline, None, (*notes, reason))

    if volume == 0:
        return ItemAward(item_code, 0, "awarded", (), 0, baseline,
                         None if baseline is None else 0,
                         (*notes, "volume is 0: nothing to award"))
    if not usable:
        return not_awarded("no_valid_bid", "no valid bid for this item")
    offers = [_Offer(bid, volume) for bid in usable]
    caps = sorted((o.cap for o in offers), reverse=True)[:max_suppliers]
    if sum(caps) < volume:
        total_capacity = sum(b.capacity or 0 for b in usable)
        return not_awarded(
            "insufficient_capacity",
            f"insufficient capacity: the {len(caps)} largest capacities (max_suppliers="
            f"{max_suppliers}) cover {sum(caps)} of {volume} units; all {len(usable)} valid bids "
            f"together offer {total_capacity}; nothing awarded")
    choice = _cheapest(offers, volume, max_suppliers)
    lines = tuple(sorted((_line(o, q) for o, q in choice),
                         key=lambda line: (-line.quantity, line.supplier_id)))
    total = sum(line.total_fen for line in lines)
    explanation = [*notes, f"{len(usable)} valid bid(s); cheapest award of {volume} units costs "
                           f"{_yuan(total)} yuan over {len(lines)} supplier(s)"]
    caps_by_bid = {o.bid.bid_id: o.bid.capacity for o in offers}
    for line in lines:
        capped = " (its full capacity)" if caps_by_bid[line.bid_id] == line.quantity else ""
        explanation.append(f"{line.supplier_id} ({line.bid_id}): {line.quantity} units at "
                           f"{line.unit_price}{capped} = {_yuan(line.total_fen)} yuan")
    singles = [(o.cost(volume), o.bid.supplier_id) for o in offers if o.cap >= volume]
    if len(lines) > 1:
        if singles:
            single_cost, single = min(singles)
            explanation.append(f"split because it is cheaper than the best single supplier "
                               f"{single} ({_yuan(to_fen(Decimal(single_cost).scaleb(-4)))} yuan)")
        else:
            explanation.append("split because no single supplier has the capacity for the volume")
    saving = None
    if baseline is not None:
        saving = baseline - total
        explanation.append(f"baseline {baseline_unit_price} × {volume} = {_yuan(baseline)} yuan; "
                           f"saving {_yuan(saving)} yuan")
    return ItemAward(item_code, volume, "awarded", lines, total, baseline, saving,
                     tuple(explanation))


def award_round(
    volumes: Mapping[str, int], bids: Iterable[Bid], baselines: Mapping[str, Decimal],
    max_suppliers: int = 3,
) -> RoundAward:
    """Award every item of a round, in item code order."""
    by_item: dict[str, list[Bid]] = defaultdict(list)
    for bid in bids:
        by_item[bid.item_code].append(bid)
    items = tuple(award_item(code, volumes[code], by_item.get(code, []), baselines.get(code),
                             max_suppliers) for code in sorted(volumes))
    awarded = [i for i in items if i.status == "awarded"]
    with_baseline = [i for i in awarded if i.baseline_total_fen is not None]
    return RoundAward(items, sum(i.total_fen for i in awarded),
                      sum(i.baseline_total_fen or 0 for i in with_baseline),
                      sum(i.saving_fen or 0 for i in with_baseline))


def allocate_commitments(
    commitments: Mapping[str, int], lines: Sequence[AwardLine]
) -> dict[str, list[tuple[str, int]]]:
    """Split each hospital's committed quantity across the awarded suppliers, exactly."""
    supplied: dict[str, int] = defaultdict(int)
    for line in lines:
        if not _is_int(line.quantity) or line.quantity < 0:
            raise AwardError("lines", f"quantity of {line.supplier_id} must be a whole number >= 0")
        supplied[line.supplier_id] += line.quantity
    for hospital, quantity in commitments.items():
        if not _is_int(quantity) or quantity < 0:
            raise AwardError("commitments", f"commitment of {hospital} must be a whole number >= 0")
    total = sum(supplied.values())
    if sum(commitments.values()) != total:
        raise AwardError("commitments", f"commitments add up to {sum(commitments.values())} but "
                                        f"the award lines to {total}")
    suppliers = sorted(s for s in supplied if supplied[s])
    hospitals = sorted(commitments)
    # Floors of the exact shares c_h × Q_s / total, then one more unit for as many cells as each
    # hospital is short, always to the suppliers with the most units left to place: that greedy
    # (Gale-Ryser) always completes because the fractional shares prove the margins feasible.
    grid = {h: {s: commitments[h] * supplied[s] // total for s in suppliers} for h in hospitals}
    left = {s: supplied[s] - sum(grid[h][s] for h in hospitals) for s in suppliers}
    for h in hospitals:
        short = commitments[h] - sum(grid[h].values())
        fraction = {s: commitments[h] * supplied[s] % total for s in suppliers}
        for s in sorted(suppliers, key=lambda s: (-left[s], -fraction[s], s))[:short]:
            grid[h][s] += 1
            left[s] -= 1
    return {h: [(s, grid[h][s]) for s in suppliers if grid[h][s]] for h in hospitals}


def synthetic_round(
    seed: int, items: int = 500, suppliers: int = 30, hospitals: int = 50
) -> tuple[dict[str, int], list[Bid], dict[str, Decimal], dict[str, dict[str, int]]]:
    """A deterministic round for benchmarks: (volumes, bids, baselines, commitments by item)."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    volumes: dict[str, int] = {}
    bids: list[Bid] = []
    baselines: dict[str, Decimal] = {}
    commitments: dict[str, dict[str, int]] = {}
    hospital_ids = [f"H{h:03d}" for h in range(1, hospitals + 1)]
    for n in range(items):
        code = f"{140100 + n % 7:06d}{n + 1:06d}{1 + n % 97:04d}"
        volume = rng.randint(500, 10_000)
        volumes[code] = volume
        base = rng.randint(5_000, 5_000_000)  # 0.5 to 500 yuan, in 0.0001 yuan
        baselines[code] = Decimal(base * rng.randint(100, 130) // 100).scaleb(-4)
        buyers = sorted(rng.sample(hospital_ids, rng.randint(min(5, hospitals), hospitals)))
        cuts = sorted(rng.sample(range(1, volume), len(buyers) - 1))
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, volume], strict=True)]
        commitments[code] = dict(zip(buyers, parts, strict=True))
        for s in range(1, suppliers + 1):
            steps = sorted(rng.sample(range(100, max(volume, 400) + 1, 100), rng.randint(2, 3)))
            price = base * rng.randint(90, 125) // 100
            tiers = [Tier(0, Decimal(price).scaleb(-4))]
            for step in steps:
                price = price * (100 - rng.randint(1, 8)) // 100
                tiers.append(Tier(step, Decimal(price).scaleb(-4)))
            capacity = volume * rng.randint(40, 90) // 100 if rng.randrange(3) == 0 else None
            bids.append(Bid(f"B{n + 1:04d}-S{s:03d}", f"S{s:03d}", code,
                            rng.choice([TierSemantics.ALL_UNITS, TierSemantics.INCREMENTAL]),
                            tuple(tiers), capacity,
                            start + timedelta(seconds=rng.randrange(7 * 86_400))))
    return volumes, bids, baselines, commitments
