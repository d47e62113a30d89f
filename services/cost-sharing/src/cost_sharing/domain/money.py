"""Money arithmetic in integer fen (分). Pure domain, no I/O, never float.

Decisions that are part of the contract:

* Amounts are ``int`` fen; ratios and weights are ``Decimal`` (``int`` and ``Fraction`` also
  work). A ``float`` anywhere is refused, so a rounding error can never enter a settlement.
* :func:`largest_remainder` (Hamilton's method) computes every quota exactly as a rational number
  (``Decimal`` converts to ``Fraction`` without loss), so the shares sum exactly to the total even
  for weights such as ``Decimal(1) / 3`` or totals far beyond 28 significant digits.
* Leftover fen go to the largest fractional remainders; equal remainders go to the larger weight,
  then to the key that sorts first. A negative total is split as ``-largest_remainder(|total|)``,
  so the reversal of an allocation mirrors it fen for fen.
* Rounding of a single amount (:func:`round_half_up`) is half away from zero, as ``ROUND_HALF_UP``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction

from .errors import DomainError


class MoneyError(DomainError):
    """An amount or a weight is unusable; names the offending field."""


def require_fen(value: object, field: str, *, minimum: int | None = None) -> int:
    """The value as an int amount of fen (bool and float refused), at least ``minimum`` if given."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise MoneyError(field, f"must be an integer amount of fen, got {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise MoneyError(field, f"must be at least {minimum}, got {value}")
    return value


def to_fraction(value: object, field: str) -> Fraction:
    """Exact rational value of a Decimal or int (float, bool, NaN and infinity refused)."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | Fraction):
        raise MoneyError(field, f"must be a Decimal, got {type(value).__name__}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise MoneyError(field, f"must be a finite number, got {value}")
    return Fraction(value)


def round_half_up(value: Fraction) -> int:
    """The nearest integer to an exact rational, halves away from zero."""
    magnitude = abs(value)
    rounded = (2 * magnitude.numerator + magnitude.denominator) // (2 * magnitude.denominator)
    return -rounded if value < 0 else rounded


def largest_remainder(total_fen: int, weights: Mapping[str, Decimal]) -> dict[str, int]:
    """Split ``total_fen`` in proportion to ``weights`` so that the shares sum exactly to it."""
    require_fen(total_fen, "total_fen")
    if not weights:
        raise MoneyError("weights", "at least one weight is needed")
    exact: dict[str, Fraction] = {}
    for key, weight in weights.items():
        if not isinstance(key, str):
            raise MoneyError("weights", f"keys must be strings, got {key!r}")
        value = to_fraction(weight, f"weights[{key}]")
        if value < 0:
            raise MoneyError(f"weights[{key}]", f"must not be negative, got {weight}")
        exact[key] = value
    weight_sum = sum(exact.values(), Fraction(0))
    if weight_sum <= 0:
        raise MoneyError("weights", "the weights must have a positive sum")

    magnitude = abs(total_fen)
    floors: dict[str, int] = {}
    remainders: dict[str, Fraction] = {}
    for key, value in exact.items():
        quota = magnitude * value / weight_sum
        floors[key] = quota.numerator // quota.denominator
        remainders[key] = quota - floors[key]
    leftover = magnitude - sum(floors.values())
    by_claim = sorted(exact, key=lambda k: (-remainders[k], -exact[k], k))
    for key in by_claim[:leftover]:
        floors[key] += 1
    sign = -1 if total_fen < 0 else 1
    return {key: sign * floors[key] for key in weights}


def percent(part: int, whole: int) -> Decimal:
    """``part`` as a percentage of ``whole`` to 4 decimal places (half up); 0 when whole is 0."""
    require_fen(part, "part")
    require_fen(whole, "whole")
    if whole == 0:
        return Decimal("0.0000")
    scaled = round_half_up(Fraction(part * 100 * 10_000, whole))
    sign = "-" if scaled < 0 else ""
    units, decimals = divmod(abs(scaled), 10_000)
    return Decimal(f"{sign}{units}.{decimals:04d}")


def quantize_fraction(value: Fraction, places: int = 6) -> Decimal:
    """An exact rational rounded half up to ``places`` decimals, as a Decimal (exact, any size)."""
    scale = 10**places
    scaled = round_half_up(value * scale)
    sign = "-" if scaled < 0 else ""
    units, decimals = divmod(abs(scaled), scale)
    if places == 0:
        return Decimal(f"{sign}{units}")
    return Decimal(f"{sign}{units}.{decimals:0{places}d}")


def format_fen(amount_fen: int) -> str:
    """Fen as yuan with two decimals, e.g. ``12345`` → ``"123.45"``."""
    require_fen(amount_fen, "amount_fen")
    sign = "-" if amount_fen < 0 else ""
    yuan, fen = divmod(abs(amount_fen), 100)
    return f"{sign}{yuan}.{fen:02d}"
