import random
from decimal import Decimal
from fractions import Fraction

import pytest

from cost_sharing.domain.money import (
    MoneyError,
    format_fen,
    largest_remainder,
    percent,
    quantize_fraction,
    round_half_up,
)

THIRD = Decimal(1) / Decimal(3)


def test_one_fen_over_three_equal_parties_goes_to_the_first_key():
    assert largest_remainder(1, {"c": Decimal(1), "a": Decimal(1), "b": Decimal(1)}) == {
        "c": 0, "a": 1, "b": 0,
    }


def test_a_hundred_fen_over_decimal_thirds_sums_exactly():
    shares = largest_remainder(100, {"a": THIRD, "b": THIRD, "c": THIRD})
    assert shares == {"a": 34, "b": 33, "c": 33}


def test_huge_totals_stay_exact_beyond_decimal_precision():
    total = 10**40 + 7
    weights = {"a": THIRD, "b": Decimal("0.1234567890123456789012345678"), "c": Decimal("7")}
    shares = largest_remainder(total, weights)
    assert sum(shares.values()) == total
    weight_sum = sum(Fraction(w) for w in weights.values())
    for key, weight in weights.items():
        assert abs(shares[key] - total * Fraction(weight) / weight_sum) < 1


def test_a_zero_weight_gets_nothing():
    assert largest_remainder(10, {"a": Decimal(0), "b": Decimal(1), "c": Decimal(2)})["a"] == 0


def test_equal_remainders_go_to_the_larger_weight_first():
    # quotas 0.5 and 1.5: one fen left over, both remainders are one half
    assert largest_remainder(2, {"a": Decimal(1), "b": Decimal(3)}) == {"a": 0, "b": 2}


def test_a_negative_total_mirrors_the_positive_split():
    weights = {"a": THIRD, "b": Decimal("0.5"), "c": Decimal("0.1666")}
    for total in (1, 2, 100, 99_999):
        positive = largest_remainder(total, weights)
        assert largest_remainder(-total, weights) == {k: -v for k, v in positive.items()}


def test_a_zero_total_gives_zero_to_everyone():
    assert largest_remainder(0, {"a": Decimal(1), "b": Decimal(2)}) == {"a": 0, "b": 0}


def test_random_splits_sum_exactly_and_respect_the_quota_rule():
    rng = random.Random(20261123)
    for _ in range(300):
        weights = {
            f"h{i}": Decimal(rng.randint(0, 10**6)) / Decimal(10 ** rng.randint(0, 8))
            for i in range(rng.randint(1, 12))
        }
        if not any(weights.values()):
            weights["h0"] = Decimal(1)
        total = rng.randint(-(10**12), 10**12)
        shares = largest_remainder(total, weights)
        assert sum(shares.values()) == total
        weight_sum = sum(Fraction(w) for w in weights.values())
        for key, weight in weights.items():
            assert abs(shares[key] - total * Fraction(weight) / weight_sum) < 1


@pytest.mark.parametrize(
    ("total", "weights", "field"),
    [
        (10, {}, "weights"),
        (10, {"a": Decimal(0), "b": Decimal(0)}, "weights"),
        (10, {"a": Decimal(-1), "b": Decimal(2)}, "weights[a]"),
        (10, {"a": 0.5, "b": Decimal(1)}, "weights[a]"),
        (10, {"a": Decimal("NaN")}, "weights[a]"),
        (10.0, {"a": Decimal(1)}, "total_fen"),
        (True, {"a": Decimal(1)}, "total_fen"),
    ],
)
def test_unusable_totals_and_weights_are_refused_naming_the_field(total, weights, field):
    with pytest.raises(MoneyError) as err:
        largest_remainder(total, weights)
    assert isinstance(err.value, ValueError)
    assert err.value.field == field
    assert err.value.message


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [(1, 3, "33.3333"), (2, 3, "66.6667"), (-1, 3, "-33.3333"), (5, 0, "0.0000"),
     (1, 8, "12.5000"), (3, 3, "100.0000"), (1, 2_000_000, "0.0001")],
)
def test_percent_has_four_decimal_places_rounded_half_up(part, whole, expected):
    result = percent(part, whole)
    assert result == Decimal(expected)
    assert result.as_tuple().exponent == -4


def test_rounding_goes_half_away_from_zero():
    assert [round_half_up(Fraction(n, 2)) for n in (-3, -1, 1, 3, 5)] == [-2, -1, 1, 2, 3]
    assert round_half_up(Fraction(7, 10)) == 1


def test_quantizing_a_fraction_is_exact_at_any_size():
    assert quantize_fraction(Fraction(10**30, 3)) == Decimal(
        "333333333333333333333333333333.333333"
    )


def test_fen_format_as_yuan():
    assert [format_fen(v) for v in (0, 5, 12345, -101)] == ["0.00", "0.05", "123.45", "-1.01"]
