from decimal import Decimal

import pytest

from procurement.domain.money import (
    FEN,
    UNIT_PRICE_QUANTUM,
    divide_rounded,
    fen_to_yuan,
    line_total_fen,
    round_half_up,
    round_unit_price,
    to_fen,
)


@pytest.mark.parametrize(("yuan", "fen"), [
    ("0.005", 1), ("0.0049999", 0), ("1.004", 100), ("1.005", 101), ("-0.005", -1), ("12", 1200),
    ("123456789012345678901234567.125", 12345678901234567890123456713),
])
def test_yuan_become_fen_rounding_half_up(yuan, fen):
    assert to_fen(Decimal(yuan)) == fen


def test_fen_become_yuan_with_two_decimal_places():
    assert fen_to_yuan(123) == Decimal("1.23")
    assert str(fen_to_yuan(100)) == "1.00"
    assert str(fen_to_yuan(-5)) == "-0.05"
    assert FEN == Decimal("0.01")


def test_unit_prices_keep_four_decimal_places():
    assert UNIT_PRICE_QUANTUM == Decimal("0.0001")
    assert round_unit_price(Decimal("3.33") / 10) == Decimal("0.3330")
    assert str(round_unit_price(Decimal("0.33335"))) == "0.3334"
    assert str(round_unit_price(Decimal("2"))) == "2.0000"


def test_a_line_is_rounded_once_not_per_unit():
    assert line_total_fen(Decimal("0.335"), 3) == 101  # 1.005 exactly; per unit it would be 102
    assert line_total_fen(Decimal("0.3330"), Decimal("2.5")) == 83  # 0.8325
    assert line_total_fen(Decimal("35.00"), 4) == 14000


def test_divisions_are_exact_before_the_single_rounding():
    assert divide_rounded(Decimal("1"), Decimal("3")) == Decimal("0.3333")
    assert divide_rounded(Decimal("2"), Decimal("3")) == Decimal("0.6667")
    assert divide_rounded(Decimal("0.00005"), 1) == Decimal("0.0001")
    assert divide_rounded(Decimal("1"), 8, FEN) == Decimal("0.13")
    assert round_half_up(-3, 2) == -2
    assert round_half_up(5, -2) == -3


@pytest.mark.parametrize("call", [
    lambda: to_fen(0.1),
    lambda: round_unit_price(1.5),
    lambda: line_total_fen(Decimal("1"), 2.0),
    lambda: fen_to_yuan(1.0),
])
def test_float_is_refused_wherever_money_enters(call):
    with pytest.raises(TypeError):
        call()


def test_non_finite_amounts_are_refused():
    with pytest.raises(ValueError):
        to_fen(Decimal("NaN"))
