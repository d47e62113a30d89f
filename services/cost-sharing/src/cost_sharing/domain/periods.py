"""Accounting months by the service's own clock (China time, UTC+8): which month has closed, and what it compares with.

Decisions that are part of the contract:

* A month closes at midnight China time on the first of the next month; it is evaluated ``grace`` later (late
  discharges of the month still arrive in that window), then never again by the clock.
* Growth is labelled for its basis: ``year_on_year`` compares with the same month a year before (the 8%/10% warning
  rule of the source documents), ``month_on_month`` with the month before.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from enum import StrEnum

from .errors import DomainError

CHINA = timezone(timedelta(hours=8))
PERIOD = re.compile(r"^(19\d{2}|2[01]\d{2})-(0[1-9]|1[0-2])$")


class PeriodError(DomainError):
    """A period question is invalid; names the offending field."""


class Basis(StrEnum):
    """What a growth figure compares with."""

    YEAR_ON_YEAR = "year_on_year"
    MONTH_ON_MONTH = "month_on_month"


def _parts(period: object) -> tuple[int, int]:
    if not isinstance(period, str) or not PERIOD.match(period):
        raise PeriodError("period", "must be a month YYYY-MM between 1900-01 and 2199-12")
    year, month = period.split("-")
    return int(year), int(month)


def previous_month(period: str) -> str:
    """The month before."""
    year, month = _parts(period)
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def same_month_last_year(period: str) -> str:
    """The same month a year before."""
    year, month = _parts(period)
    return f"{year - 1}-{month:02d}"


def compared_with(period: str, basis: Basis) -> str:
    """The period a growth on `basis` compares `period` with."""
    return same_month_last_year(period) if Basis(basis) is Basis.YEAR_ON_YEAR else previous_month(period)


def last_closed(now: datetime, grace: timedelta = timedelta(hours=24)) -> str:
    """The latest month whose close (plus `grace`) has passed at `now`, in China time."""
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise PeriodError("now", "must be a timezone-aware datetime")
    if not isinstance(grace, timedelta) or grace < timedelta(0) or grace > timedelta(days=27):
        raise PeriodError("grace", "must be between 0 and 27 days")
    local = (now - grace).astimezone(CHINA)
    return previous_month(f"{local.year}-{local.month:02d}")
