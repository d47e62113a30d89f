"""Sharing a market-driven price rise between supplier and hospitals (风险共担). Pure domain.

Decisions documented here are part of the contract:

* Unit prices carry at most 4 decimal places (0.0001 yuan). Of a rise, the hospitals bear
  ``rise × (1 - supplier_share)`` rounded half-up to 0.0001 and the supplier bears the exact rest,
  so the two always add up to the rise; the new price is the current price plus the hospitals' part.
* An adjustment must cite a price index (non-blank reference) and cannot take effect before the
  day it is approved (same day is fine): no retroactive price changes.
* A budget overrun caused by hospital management is borne wholly by the hospital; a market-driven
  one is split by the supplier share in whole fen, the hospital's part rounded half-up and the
  supplier taking the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from .errors import DomainError
from .money import UNIT_PRICE_QUANTUM, exact, multiply_rounded, ratio, round_half_up


class AdjustmentError(DomainError):
    """A price adjustment or cost attribution is invalid; names the offending field."""

    slug = "invalid-adjustment"


class RetroactiveAdjustment(AdjustmentError):
    """An adjustment would take effect before it was approved."""

    slug = "retroactive-adjustment"


def _unit_price(value: Decimal, field: str) -> Decimal:
    """A positive Decimal unit price with at most 4 decimal places."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise AdjustmentError(field, "must be a decimal number")
    if value <= 0:
        raise AdjustmentError(field, "must be greater than 0")
    numerator, denominator = value.as_integer_ratio()
    if (10_000 * numerator) % denominator:
        raise AdjustmentError(field, "must have at most 4 decimal places")
    return value


def _share(value: Decimal) -> Decimal:
    """A supplier share between 0 and 1 inclusive."""
    if not isinstance(value, Decimal) or not value.is_finite() or not 0 <= value <= 1:
        raise AdjustmentError("supplier_share", "must be a decimal between 0 and 1")
    return value


@dataclass(frozen=True, slots=True)
class SharedRise:
    """How one unit's price rise is split; supplier_bears + hospitals_bear == rise."""

    rise: Decimal
    supplier_bears: Decimal
    hospitals_bear: Decimal
    new_unit_price: Decimal


def share_rise(
    current_unit_price: Decimal, requested_unit_price: Decimal,
    supplier_share: Decimal = Decimal("0.5"),
) -> SharedRise:
    """Split a requested price rise: the supplier absorbs its share, the hospitals pay the rest."""
    current = _unit_price(current_unit_price, "current_unit_price")
    requested = _unit_price(requested_unit_price, "requested_unit_price")
    share = _share(supplier_share)
    if requested <= current:
        raise AdjustmentError("requested_unit_price", "must exceed the current unit price")
    with exact():
        rise = (requested - current).quantize(UNIT_PRICE_QUANTUM)
        hospitals = multiply_rounded(rise, 1 - share)
        supplier = (rise - hospitals).quantize(UNIT_PRICE_QUANTUM)
        new_price = (current + hospitals).quantize(UNIT_PRICE_QUANTUM)
    return SharedRise(rise, supplier, hospitals, new_price)


def check_adjustment(index_reference: str, effective_from: date, approved_on: date) -> None:
    """Refuse an adjustment without a price-index reference or taking effect before approval."""
    if not isinstance(index_reference, str) or not index_reference.strip():
        raise AdjustmentError("index_reference", "a price index reference is required")
    if effective_from < approved_on:
        raise RetroactiveAdjustment(
            "effective_from", f"{effective_from.isoformat()} is before the approval on "
                              f"{approved_on.isoformat()}; adjustments cannot be retroactive")


@dataclass(frozen=True, slots=True)
class Attribution:
    """Who bears an overrun, in fen; the parts add up to the overrun."""

    hospital_fen: int
    supplier_fen: int


def attribute_overrun(
    overrun_fen: int, cause: Literal["market", "hospital_management"],
    supplier_share: Decimal = Decimal("0.5"),
) -> Attribution:
    """Split a budget overrun by its cause."""
    if isinstance(overrun_fen, bool) or not isinstance(overrun_fen, int):
        raise AdjustmentError("overrun_fen", "must be a whole number of fen")
    if overrun_fen < 0:
        raise AdjustmentError("overrun_fen", "must not be negative")
    share = _share(supplier_share)
    if cause == "hospital_management":
        return Attribution(overrun_fen, 0)
    if cause != "market":
        raise AdjustmentError("cause", "must be 'market' or 'hospital_management'")
    numerator, denominator = ratio(1 - share)
    hospital = round_half_up(overrun_fen * numerator, denominator)
    return Attribution(hospital, overrun_fen - hospital)
