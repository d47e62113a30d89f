"""Bounded dates, times and periods for every edge: a business range far from the ends of the calendar.

Values outside 1900-01-01..2199-12-31 are refused where they enter (HTTP, gRPC, HL7, FHIR, CSV), so the arithmetic
behind the edge (±14 h zone shifts, +1 month for a period's end, days between two dates) can never overflow.
"What happened" times may also not lie in the future beyond a small clock skew.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, WithJsonSchema

MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2199, 12, 31)
MIN_DATETIME = datetime(1900, 1, 1, tzinfo=UTC)
MAX_DATETIME = datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
CLOCK_SKEW = timedelta(minutes=5)
PERIOD_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_RANGE = f"{MIN_DATE.isoformat()}..{MAX_DATE.isoformat()}"


class OutOfRange(ValueError):
    """A date, time or period outside what the alliance can hold; the message is plain and names the field."""

    grpc_status = "INVALID_ARGUMENT"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.reason = message


def _named(field: str | None) -> str:
    return field or "value"


def bounded_date(value: date, field: str | None = None) -> date:
    """The date itself if within the business range, else OutOfRange."""
    day = value.date() if isinstance(value, datetime) else value
    if not MIN_DATE <= day <= MAX_DATE:
        raise OutOfRange(f"date must lie within {_RANGE}", field)
    return value


def bounded_datetime(value: datetime, field: str | None = None) -> datetime:
    """An aware datetime within the business range (checked both in its own zone and in UTC), else OutOfRange."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise OutOfRange("a time zone offset is required", field)
    if not MIN_DATE <= value.date() <= MAX_DATE:     # its local date first: converting year 1 or 9999 may overflow
        raise OutOfRange(f"time must lie within {_RANGE}", field)
    if not MIN_DATETIME <= value.astimezone(UTC) <= MAX_DATETIME:
        raise OutOfRange(f"time must lie within {_RANGE}", field)
    return value


def not_in_future(value: datetime, field: str | None = None, *, now: datetime | None = None,
                  skew: timedelta = CLOCK_SKEW) -> datetime:
    """A bounded aware datetime no later than now plus the clock skew (for times something happened)."""
    bounded_datetime(value, field)
    if value > (now or datetime.now(UTC)) + skew:
        raise OutOfRange("time lies in the future", field)
    return value


def day_not_in_future(value: date, field: str | None = None, *, today: date | None = None) -> date:
    """A bounded date no later than tomorrow (UTC: a hospital east of UTC may already be a day ahead)."""
    bounded_date(value, field)
    if value > (today or datetime.now(UTC).date()) + timedelta(days=1):
        raise OutOfRange("date lies in the future", field)
    return value


def bounded_period(value: str, field: str | None = None) -> str:
    """A 'YYYY-MM' period within the business range, else OutOfRange."""
    m = PERIOD_PATTERN.match(value) if isinstance(value, str) else None
    if m is None:
        raise OutOfRange("period must be YYYY-MM", field)
    if not MIN_DATE.year <= int(m.group(1)) <= MAX_DATE.year:
        raise OutOfRange(f"period must lie within {MIN_DATE.year}-01..{MAX_DATE.year}-12", field)
    return value


def period_bounds(period: str) -> tuple[date, date]:
    """First day of a bounded period and first day of the next (never overflows inside the range)."""
    bounded_period(period)
    year, month = int(period[:4]), int(period[5:])
    return date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)


def parse_datetime(text: str, field: str | None = None) -> datetime:
    """An ISO 8601 aware datetime within the range; any unreadable or out-of-range text is OutOfRange."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00") if isinstance(text, str) else text)
    except (TypeError, ValueError, OverflowError):
        raise OutOfRange("not an ISO 8601 date-time", field) from None
    return bounded_datetime(value, field)


def parse_date(text: str, field: str | None = None) -> date:
    """An ISO 8601 date (YYYY-MM-DD) within the range."""
    try:
        value = date.fromisoformat(text)
    except (TypeError, ValueError, OverflowError):
        raise OutOfRange("not an ISO 8601 date", field) from None
    return bounded_date(value, field)


def timestamp_to_datetime(ts: Any, field: str | None = None) -> datetime:
    """An aware UTC datetime from a protobuf Timestamp, or OutOfRange (map it to gRPC INVALID_ARGUMENT)."""
    seconds, nanos = int(ts.seconds), int(ts.nanos)
    if not 0 <= nanos < 1_000_000_000:
        raise OutOfRange("timestamp nanos must lie within 0..999999999", field)
    lo, hi = int(MIN_DATETIME.timestamp()), int(MAX_DATETIME.timestamp())
    if not lo <= seconds <= hi:
        raise OutOfRange(f"timestamp must lie within {_RANGE}", field)
    return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=nanos // 1000)


def optional_timestamp(message: Any, name: str, default: datetime | None = None) -> datetime | None:
    """The bounded datetime of message.<name> if set, else the default."""
    return timestamp_to_datetime(getattr(message, name), name) if message.HasField(name) else default


async def abort_out_of_range(context: Any, error: OutOfRange) -> None:
    """Answer a gRPC call with INVALID_ARGUMENT and the plain message (no Python internals)."""
    import grpc

    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))


def first_duplicate(keys: Any) -> Any | None:
    """The first key that occurs twice, or None."""
    seen: set = set()
    for key in keys:
        if key in seen:
            return key
        seen.add(key)
    return None


def unique_by(*fields: str) -> AfterValidator:
    """A validator for a batch (list of models or dicts): two entries with one key are a validation error."""
    def key_of(entry: Any) -> Any:
        get = entry.get if isinstance(entry, dict) else lambda f: getattr(entry, f, None)
        values = tuple(get(f) for f in fields)
        return values[0] if len(values) == 1 else values

    def validate(entries: list) -> list:
        dup = first_duplicate(key_of(e) for e in entries)
        if dup is not None:
            raise ValueError(f"duplicate key: {'/'.join(fields)} {dup!r} appears more than once")
        return entries
    return AfterValidator(validate)


def _after(check):
    def validate(value):
        try:
            return check(value)
        except OutOfRange as e:
            raise ValueError(e.reason) from None
    return AfterValidator(validate)


BoundedDate = Annotated[date, _after(bounded_date)]
"""A date within 1900-01-01..2199-12-31."""
PastDate = Annotated[date, _after(day_not_in_future)]
"""A bounded date that is not in the future (one day of zone allowance)."""
BoundedDatetime = Annotated[AwareDatetime, _after(bounded_datetime)]
"""An aware datetime within the business range."""
PastDatetime = Annotated[AwareDatetime, _after(not_in_future)]
"""A bounded aware datetime no later than now plus the clock skew."""
Period = Annotated[str, _after(bounded_period),
                   WithJsonSchema({"type": "string", "pattern": PERIOD_PATTERN.pattern, "examples": ["2026-11"]})]
"""A 'YYYY-MM' period within 1900-01..2199-12."""
