"""Money in procurement: Decimal yuan or integer fen, never float. Pure domain, no I/O.

Rounding rules (part of the contract):

* Every rounding is ROUND_HALF_UP (halves away from zero), computed on the exact rational value,
  so no intermediate result is ever rounded by a Decimal context.
* Amounts are kept in fen (0.01 yuan) as ``int``; :func:`to_fen` is the only way from yuan to fen.
* Unit prices normalised to a base unit are kept to 0.0001 yuan (:data:`UNIT_PRICE_QUANTUM`): a box
  of 10 at 3.33 is 0.3330 per each.
* A line total is the exact product of unit price and quantity, rounded to fen once per line; line
  totals are then summed in fen (never re-rounded).
* ``float`` is refused with ``TypeError`` wherever money enters.
"""

from __future__ import annotations

from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
    localcontext,
)

FEN = Decimal("0.01")
UNIT_PRICE_QUANTUM = Decimal("0.0001")


def exact():
    """A Decimal context in which any rounding raises: sums, differences and products stay exact."""
    traps = [Inexact, Rounded, InvalidOperation, DivisionByZero, Overflow]
    return localcontext(Context(prec=400, rounding=ROUND_HALF_UP, traps=traps))


def ratio(value: Decimal | int) -> tuple[int, int]:
    """Exact (numerator, positive denominator) of a Decimal or int; refuses float and non-finite."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"expected Decimal or int, got {type(value).__name__}")
    if isinstance(value, int):
        return value, 1
    if not value.is_finite():
        raise ValueError(f"not a finite number: {value}")
    return value.as_integer_ratio()


def round_half_up(numerator: int, denominator: int) -> int:
    """The integer nearest to numerator/denominator, halves away from zero."""
    if denominator == 0:
        raise ZeroDivisionError("denominator is zero")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def _quantum_exponent(quantum: Decimal) -> int:
    """The exponent of a quantum such as 0.01 (-2); only powers of ten are quanta."""
    sign, digits, exponent = quantum.as_tuple()
    if sign or digits != (1,) or not isinstance(exponent, int):
        raise ValueError(f"quantum must be a power of ten such as 0.01, got {quantum}")
    return exponent


def divide_rounded(
    numerator: Decimal | int, denominator: Decimal | int, quantum: Decimal = UNIT_PRICE_QUANTUM
) -> Decimal:
    """numerator / denominator exactly, rounded half-up once to ``quantum``."""
    n1, d1 = ratio(numerator)
    n2, d2 = ratio(denominator)
    if n2 == 0:
        raise ZeroDivisionError("division by zero")
    exponent = _quantum_exponent(quantum)
    num, den = n1 * d2, d1 * n2
    if exponent <= 0:
        num *= 10**-exponent
    else:
        den *= 10**exponent
    return Decimal(round_half_up(num, den)).scaleb(exponent)


def multiply_rounded(
    a: Decimal | int, b: Decimal | int, quantum: Decimal = UNIT_PRICE_QUANTUM
) -> Decimal:
    """a × b exactly, rounded half-up once to ``quantum``."""
    n1, d1 = ratio(a)
    n2, d2 = ratio(b)
    return divide_rounded(Decimal(n1 * n2), Decimal(d1 * d2), quantum)


def to_fen(yuan: Decimal) -> int:
    """Yuan to integer fen, half-up."""
    numerator, denominator = ratio(yuan)
    return round_half_up(numerator * 100, denominator)


def fen_to_yuan(fen: int) -> Decimal:
    """Integer fen to yuan with two decimal places (123 -> 1.23)."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"fen must be int, got {type(fen).__name__}")
    return Decimal(fen).scaleb(-2)


def round_unit_price(d: Decimal) -> Decimal:
    """A unit price rounded half-up to 0.0001 yuan."""
    return divide_rounded(d, 1, UNIT_PRICE_QUANTUM)


def line_total_fen(unit_price: Decimal, quantity: int | Decimal) -> int:
    """The exact unit price × quantity, rounded half-up to fen once."""
    n1, d1 = ratio(unit_price)
    n2, d2 = ratio(quantity)
    return round_half_up(n1 * n2 * 100, d1 * d2)
