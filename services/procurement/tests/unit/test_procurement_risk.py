import random
from datetime import date
from decimal import Decimal

import pytest

from procurement.domain.risk import (
    AdjustmentError,
    Attribution,
    RetroactiveAdjustment,
    SharedRise,
    attribute_overrun,
    check_adjustment,
    share_rise,
)


def test_a_rise_is_split_evenly_by_default():
    assert share_rise(Decimal("10.0000"), Decimal("11.0000")) == SharedRise(
        Decimal("1.0000"), Decimal("0.5000"), Decimal("0.5000"), Decimal("10.5000"))


def test_the_hospitals_part_is_rounded_half_up_and_the_supplier_takes_the_rest():
    shared = share_rise(Decimal("2"), Decimal("2.0001"))
    assert (shared.hospitals_bear, shared.supplier_bears) == (Decimal("0.0001"), Decimal("0.0000"))
    shared = share_rise(Decimal("5.5"), Decimal("6.5"), supplier_share=Decimal("0.3"))
    assert (shared.hospitals_bear, shared.supplier_bears, shared.new_unit_price) == (
        Decimal("0.7000"), Decimal("0.3000"), Decimal("6.2000"))


def test_the_two_parts_always_add_up_to_the_rise():
    rng = random.Random(11)
    for _ in range(500):
        current = Decimal(rng.randint(1, 10**6)).scaleb(-4)
        requested = current + Decimal(rng.randint(1, 10**5)).scaleb(-4)
        share = Decimal(rng.randint(0, 1000)).scaleb(-3)
        shared = share_rise(current, requested, share)
        assert shared.supplier_bears + shared.hospitals_bear == shared.rise == requested - current
        assert shared.new_unit_price == current + shared.hospitals_bear
        assert all(v.as_tuple().exponent == -4 for v in (
            shared.rise, shared.supplier_bears, shared.hospitals_bear, shared.new_unit_price))


@pytest.mark.parametrize("share", [Decimal(0), Decimal(1)])
def test_a_supplier_share_of_zero_or_one_puts_the_whole_rise_on_one_side(share):
    shared = share_rise(Decimal("3"), Decimal("4"), share)
    assert shared.supplier_bears == share * shared.rise


@pytest.mark.parametrize(("current", "requested", "share", "field"), [
    ("10", "10", "0.5", "requested_unit_price"),
    ("10", "9", "0.5", "requested_unit_price"),
    ("10", "11", "1.01", "supplier_share"),
    ("10", "11", "-0.1", "supplier_share"),
    ("0", "11", "0.5", "current_unit_price"),
    ("10.00001", "11", "0.5", "current_unit_price"),
    ("10", "11.00001", "0.5", "requested_unit_price"),
])
def test_invalid_rises_are_refused_naming_the_field(current, requested, share, field):
    with pytest.raises(AdjustmentError) as err:
        share_rise(Decimal(current), Decimal(requested), Decimal(share))
    assert err.value.field == field
    assert err.value.message


def test_an_adjustment_needs_a_price_index_reference():
    with pytest.raises(AdjustmentError) as err:
        check_adjustment("  ", date(2026, 5, 1), date(2026, 5, 1))
    assert err.value.field == "index_reference"


def test_an_adjustment_cannot_take_effect_before_its_approval():
    with pytest.raises(RetroactiveAdjustment) as err:
        check_adjustment("PPI 2026-04 medical consumables", date(2026, 4, 30), date(2026, 5, 1))
    assert err.value.field == "effective_from"
    assert isinstance(err.value, AdjustmentError)


@pytest.mark.parametrize("effective_from", [date(2026, 5, 1), date(2026, 6, 1)])
def test_an_adjustment_may_take_effect_on_or_after_the_approval_day(effective_from):
    assert check_adjustment("PPI 2026-04", effective_from, date(2026, 5, 1)) is None


def test_an_overrun_caused_by_hospital_management_is_borne_by_the_hospital():
    assert attribute_overrun(12345, "hospital_management") == Attribution(12345, 0)


@pytest.mark.parametrize(("overrun", "share", "hospital", "supplier"), [
    (101, "0.5", 51, 50), (100, "0.3", 70, 30), (1, "0.5", 1, 0), (0, "0.5", 0, 0),
    (999, "1", 0, 999), (999, "0", 999, 0), (10, "0.33", 7, 3),
])
def test_a_market_overrun_is_split_in_whole_fen(overrun, share, hospital, supplier):
    assert attribute_overrun(overrun, "market", Decimal(share)) == Attribution(hospital, supplier)


@pytest.mark.parametrize(("args", "field"), [
    ((-1, "market"), "overrun_fen"),
    ((5, "weather"), "cause"),
    ((5, "market", Decimal("2")), "supplier_share"),
])
def test_invalid_overruns_are_refused_naming_the_field(args, field):
    with pytest.raises(AdjustmentError) as err:
        attribute_overrun(*args)
    assert err.value.field == field
