import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import product

import pytest

from procurement.domain.award import (
    AwardError,
    AwardLine,
    Bid,
    BidError,
    Tier,
    TierSemantics,
    allocate_commitments,
    award_item,
    award_round,
    cost,
    synthetic_round,
    validate_bid,
)

ALL, INC = TierSemantics.ALL_UNITS, TierSemantics.INCREMENTAL
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
ITEM = "1401000000010001"


def bid(supplier, *tiers, semantics=ALL, capacity=None, minute=0, item=ITEM, bid_id=None):
    return Bid(bid_id or f"B-{supplier}", supplier, item, semantics,
               tuple(Tier(v, Decimal(p)) for v, p in tiers), capacity,
               T0 + timedelta(minutes=minute))


def brute_cost(b, q):
    """Independent per-unit pricing: unit u (0-based) sits in the band holding u."""
    def price_at(v):
        return [t.unit_price for t in b.tiers if t.min_volume <= v][-1]
    if b.semantics == ALL:
        return price_at(q) * q
    return sum((price_at(u) for u in range(q)), Decimal(0))


def brute_minimum(bids, volume, max_suppliers):
    """DP over integer quantities: (units covered, suppliers used) -> cheapest exact cost."""
    best = {(0, 0): Decimal(0)}
    for b in bids:
        cap = volume if b.capacity is None else min(b.capacity, volume)
        costs = [brute_cost(b, q) for q in range(cap + 1)]
        nxt = dict(best)
        for (covered, used), c in best.items():
            if used == max_suppliers:
                continue
            for q in range(1, min(cap, volume - covered) + 1):
                key = (covered + q, used + 1)
                if key not in nxt or c + costs[q] < nxt[key]:
                    nxt[key] = c + costs[q]
        best = nxt
    totals = [c for (covered, _), c in best.items() if covered == volume]
    return min(totals) if totals else None


def random_bid(rng, supplier, volume):
    starts = sorted(rng.sample(range(1, volume + 5), rng.randint(0, 3)))
    price = rng.randint(50, 120)
    tiers = [(0, price)]
    for s in starts:
        price -= rng.randint(0, 15)
        tiers.append((s, max(price, 1)))
    capacity = rng.choice([None, None, rng.randint(1, volume + 3)])
    return bid(supplier, *((v, Decimal(p).scaleb(-1)) for v, p in tiers),
               semantics=rng.choice([ALL, INC]), capacity=capacity, minute=rng.randint(0, 3))


def test_the_award_is_the_exact_minimum_found_by_brute_force_on_random_instances():
    rng = random.Random(20261123)
    checked = 0
    for _ in range(400):
        volume = rng.randint(1, 60)
        bids = [random_bid(rng, f"S{i}", volume) for i in range(rng.randint(1, 5))]
        k = rng.randint(1, 5)
        expected = brute_minimum(bids, volume, k)
        award = award_item(ITEM, volume, bids, None, max_suppliers=k)
        if expected is None:
            assert award.status == "insufficient_capacity"
            continue
        by_id = {b.bid_id: b for b in bids}
        assert award.status == "awarded"
        assert sum(line.quantity for line in award.lines) == volume
        assert len(award.lines) <= k
        assert sum(cost(by_id[line.bid_id], line.quantity) for line in award.lines) == expected
        checked += 1
    assert checked >= 300


def test_the_tie_break_matches_a_brute_force_over_every_split_of_small_volumes():
    rng = random.Random(7)
    for _ in range(150):
        volume = rng.randint(1, 12)
        bids = [random_bid(rng, f"S{i}", volume) for i in range(rng.randint(1, 4))]
        if rng.randrange(2):  # identical price schedules make ties likely
            bids = [Bid(b.bid_id, b.supplier_id, ITEM, bids[0].semantics, bids[0].tiers, b.capacity,
                        b.submitted_at) for b in bids]
        k = rng.randint(1, 4)
        caps = [volume if b.capacity is None else min(b.capacity, volume) for b in bids]
        best = None
        for quantities in product(*(range(c + 1) for c in caps)):
            chosen = [(b, q) for b, q in zip(bids, quantities, strict=True) if q]
            if sum(quantities) != volume or len(chosen) > k:
                continue
            order = sorted((b.submitted_at, b.supplier_id, -q) for b, q in chosen)
            key = (sum(brute_cost(b, q) for b, q in chosen), len(chosen), [o[0] for o in order],
                   sorted(o[1] for o in order), [o[2] for o in order])
            if best is None or key < best[0]:
                best = (key, sorted((b.supplier_id, q) for b, q in chosen))
        award = award_item(ITEM, volume, bids, None, max_suppliers=k)
        if best is None:
            assert award.status == "insufficient_capacity"
        else:
            assert sorted((line.supplier_id, line.quantity) for line in award.lines) == best[1]


def test_without_capacity_limits_one_supplier_is_always_enough():
    rng = random.Random(5)
    for _ in range(200):
        volume = rng.randint(1, 200)
        bids = [random_bid(rng, f"S{i}", volume) for i in range(rng.randint(1, 6))]
        bids = [Bid(b.bid_id, b.supplier_id, ITEM, b.semantics, b.tiers, None, b.submitted_at)
                for b in bids]
        assert len(award_item(ITEM, volume, bids, None).lines) == 1


@pytest.mark.parametrize(("quantity", "all_units", "incremental"), [
    (0, "0", "0"), (99, "990.00", "990.00"), (100, "900.00", "1000.00"), (101, "909.00", "1009.00"),
    (499, "4491.00", "4591.00"), (500, "4000.00", "4600.00"),
])
def test_tier_boundaries_start_a_band_at_its_min_volume(quantity, all_units, incremental):
    tiers = ((0, "10.00"), (100, "9.00"), (500, "8.00"))
    assert cost(bid("S1", *tiers), quantity) == Decimal(all_units)
    assert cost(bid("S1", *tiers, semantics=INC), quantity) == Decimal(incremental)


def test_an_award_exactly_at_a_band_start_gets_the_band_price():
    tiers = ((0, "10.00"), (100, "9.00"))
    at, below = award_item(ITEM, 100, [bid("S1", *tiers)], None), award_item(
        ITEM, 99, [bid("S1", *tiers)], None)
    assert (at.lines[0].unit_price, at.total_fen) == (Decimal("9.0000"), 90000)
    assert (below.lines[0].unit_price, below.total_fen) == (Decimal("10.0000"), 99000)


def test_all_units_and_incremental_bids_award_differently():
    flat = bid("FLAT", (0, "9.00"))
    for semantics, winner, total in ((ALL, "TIERED", 120000), (INC, "FLAT", 135000)):
        tiered = bid("TIERED", (0, "10.00"), (100, "8.00"), semantics=semantics)
        award = award_item(ITEM, 150, [flat, tiered], None)
        assert [(line.supplier_id, line.quantity) for line in award.lines] == [(winner, 150)]
        assert award.total_fen == total


def test_the_incremental_line_price_is_the_quantity_weighted_average():
    award = award_item(ITEM, 150, [bid("S1", (0, "10.00"), (100, "8.00"), semantics=INC)], None)
    assert award.lines == (AwardLine("S1", "B-S1", 150, Decimal("9.3333"), 140000),)


def test_a_supplier_with_capacity_below_the_volume_is_topped_up_by_the_next_cheapest():
    cheap = bid("CHEAP", (0, "8.00"), capacity=60)
    dear = bid("DEAR", (0, "9.00"))
    dearer = bid("DEARER", (0, "9.50"))
    award = award_item(ITEM, 100, [dearer, dear, cheap], Decimal("10"))
    assert [(line.supplier_id, line.quantity, line.total_fen) for line in award.lines] == [
        ("CHEAP", 60, 48000), ("DEAR", 40, 36000)]
    assert (award.status, award.total_fen, award.baseline_total_fen, award.saving_fen) == (
        "awarded", 84000, 100000, 16000)
    assert any("full capacity" in e for e in award.explanation)
    assert any("cheaper than the best single supplier DEAR" in e for e in award.explanation)


def test_a_capacity_can_make_a_cheaper_band_reachable_only_by_a_split():
    a = bid("A", (0, "10.00"), (80, "7.00"), capacity=90)
    b = bid("B", (0, "10.00"), (20, "7.50"), capacity=90)
    award = award_item(ITEM, 100, [a, b], None, max_suppliers=2)
    assert [(line.supplier_id, line.quantity) for line in award.lines] == [("A", 80), ("B", 20)]
    assert award.total_fen == 71000


def test_a_round_item_without_any_valid_bid_is_not_awarded():
    bad = bid("S1", (0, "10.00"), (100, "11.00"))
    other_item = bid("S2", (0, "5.00"), item="1401000000099999")
    good = bid("S3", (0, "7.00"), item="1401000000099999")
    result = award_round({ITEM: 50, "1401000000099999": 10}, [bad, other_item, good],
                         {ITEM: Decimal("12"), "1401000000099999": Decimal("6")})
    missing, awarded = result.items
    assert (missing.item_code, missing.status, missing.lines, missing.total_fen) == (
        ITEM, "no_valid_bid", (), 0)
    assert missing.saving_fen is None and missing.baseline_total_fen == 60000
    assert "B-S1 of S1 ignored as invalid: tiers[1].unit_price" in missing.explanation[0]
    assert awarded.lines[0].supplier_id == "S2"
    assert (result.total_fen, result.baseline_total_fen, result.saving_fen) == (5000, 6000, 1000)


def test_a_volume_beyond_the_total_capacity_is_not_awarded_at_all():
    bids = [bid("S1", (0, "8"), capacity=40), bid("S2", (0, "9"), capacity=30),
            bid("S3", (0, "9"), capacity=20), bid("S4", (0, "9"), capacity=10)]
    award = award_item(ITEM, 95, bids, Decimal("10"))
    assert (award.status, award.lines, award.total_fen, award.saving_fen) == (
        "insufficient_capacity", (), 0, None)
    assert "cover 90 of 95 units" in award.explanation[-1]
    assert "all 4 valid bids together offer 100" in award.explanation[-1]
    assert award_item(ITEM, 95, bids, None, max_suppliers=4).status == "awarded"


def test_equal_costs_go_to_fewer_suppliers_then_the_earliest_bid_then_the_supplier_id():
    late = bid("A-LATE", (0, "9.00"), minute=5)
    early = bid("Z-EARLY", (0, "9.00"), minute=1)
    twin = bid("M-EARLY", (0, "9.00"), minute=1)
    for order in ([late, early, twin], [twin, late, early], [early, twin, late]):
        award = award_item(ITEM, 100, order, None)
        assert [line.supplier_id for line in award.lines] == ["M-EARLY"]


def test_equal_cost_splits_give_the_earliest_bidder_the_most_units():
    bids = [bid("A", (0, "9.00"), capacity=70, minute=3), bid("B", (0, "9.00"), capacity=70,
                                                                minute=1)]
    award = award_item(ITEM, 100, bids, None)
    assert [(line.supplier_id, line.quantity) for line in award.lines] == [("B", 70), ("A", 30)]


def test_a_later_bid_of_the_same_supplier_supersedes_its_earlier_one():
    first = bid("S1", (0, "8.00"), minute=1, bid_id="B-1")
    revised = bid("S1", (0, "9.00"), minute=2, bid_id="B-2")
    award = award_item(ITEM, 10, [revised, first], None)
    assert award.lines[0].bid_id == "B-2"
    assert award.explanation[0] == "bid B-1 of S1 superseded by its later bid B-2"


def test_a_zero_volume_is_awarded_with_no_lines():
    award = award_item(ITEM, 0, [bid("S1", (0, "8.00"))], Decimal("9"))
    assert (award.status, award.lines, award.total_fen, award.baseline_total_fen,
            award.saving_fen) == ("awarded", (), 0, 0, 0)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"volume": -1}, "volume"), ({"max_suppliers": 0}, "max_suppliers"),
    ({"baseline_unit_price": Decimal("-1")}, "baseline_unit_price"),
])
def test_invalid_award_requests_are_refused_naming_the_field(kwargs, field):
    args = {"volume": 10, "max_suppliers": 3, "baseline_unit_price": None} | kwargs
    with pytest.raises(AwardError) as err:
        award_item(ITEM, args["volume"], [], args["baseline_unit_price"], args["max_suppliers"])
    assert err.value.field == field


@pytest.mark.parametrize(("tiers", "capacity", "field"), [
    ((), None, "tiers"),
    (((10, "9"),), None, "tiers[0].min_volume"),
    (((0, "9"), (0, "8")), None, "tiers[1].min_volume"),
    (((0, "9"), (50, "8"), (40, "7")), None, "tiers[2].min_volume"),
    (((0, "0"),), None, "tiers[0].unit_price"),
    (((0, "9.00001"),), None, "tiers[0].unit_price"),
    (((0, "9"), (50, "9.5")), None, "tiers[1].unit_price"),
    (((0, "9"),), 0, "capacity"),
])
def test_malformed_bids_are_refused_naming_the_field(tiers, capacity, field):
    with pytest.raises(BidError) as err:
        validate_bid(bid("S1", *tiers, capacity=capacity))
    assert err.value.field == field


def test_a_bid_with_equal_prices_in_two_bands_is_valid():
    assert validate_bid(bid("S1", (0, "9.0000"), (10, "9"), capacity=5)) is None


def test_commitments_are_split_so_every_hospital_and_every_supplier_adds_up():
    lines = [AwardLine("S1", "B1", 60, Decimal("8"), 48000), AwardLine("S2", "B2", 40,
                                                                        Decimal("9"), 36000)]
    split = allocate_commitments({"H2": 50, "H1": 33, "H3": 17}, lines)
    assert split == {"H1": [("S1", 20), ("S2", 13)], "H2": [("S1", 30), ("S2", 20)],
                     "H3": [("S1", 10), ("S2", 7)]}


def test_random_commitment_splits_are_exact_and_within_one_unit_of_proportional():
    rng = random.Random(9)
    for _ in range(300):
        quantities = [rng.randint(0, 50) for _ in range(rng.randint(1, 4))]
        total = sum(quantities)
        lines = [AwardLine(f"S{i}", f"B{i}", q, Decimal("1"), q * 100)
                 for i, q in enumerate(quantities)]
        cuts = sorted(rng.randint(0, total) for _ in range(rng.randint(0, 6)))
        commitments = {f"H{i}": b - a for i, (a, b) in enumerate(
            zip([0, *cuts], [*cuts, total], strict=True))}
        split = allocate_commitments(commitments, lines)
        assert list(split) == sorted(commitments)
        for h, parts in split.items():
            assert sum(q for _, q in parts) == commitments[h]
            for s, q in parts:
                assert abs(q * total - commitments[h] * quantities[int(s[1:])]) <= total
        for i, q in enumerate(quantities):
            assert sum(dict(parts).get(f"S{i}", 0) for parts in split.values()) == q


def test_commitments_must_add_up_to_the_awarded_quantity():
    with pytest.raises(AwardError) as err:
        allocate_commitments({"H1": 5}, [AwardLine("S1", "B1", 6, Decimal("1"), 600)])
    assert err.value.field == "commitments"


def test_the_synthetic_round_is_deterministic_and_awards_every_item():
    volumes, bids, baselines, commitments = synthetic_round(4, items=12, suppliers=8, hospitals=6)
    assert synthetic_round(4, items=12, suppliers=8, hospitals=6)[1] == bids
    assert len(bids) == 12 * 8 and all(validate_bid(b) is None for b in bids)
    assert all(sum(commitments[code].values()) == v for code, v in volumes.items())
    result = award_round(volumes, bids, baselines)
    assert [i.item_code for i in result.items] == sorted(volumes)
    for item_award in result.items:
        assert item_award.status == "awarded"
        assert sum(line.quantity for line in item_award.lines) == item_award.volume
        split = allocate_commitments(commitments[item_award.item_code], item_award.lines)
        assert {h: sum(q for _, q in p) for h, p in split.items()} == commitments[
            item_award.item_code]
    assert result.saving_fen == result.baseline_total_fen - result.total_fen


def test_a_bid_needs_a_timezone_aware_submission_time():
    naive = Bid("B1", "S1", ITEM, ALL, (Tier(0, Decimal("9")),), None, datetime(2026, 3, 2, 9))
    with pytest.raises(BidError) as err:
        validate_bid(naive)
    assert err.value.field == "submitted_at"
