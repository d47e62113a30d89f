"""FHIR date, dateTime and instant values as half-open ranges of aware datetimes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alliance_service.bounds import bounded_datetime

try:
    CHINA_TZ: tzinfo = ZoneInfo("Asia/Shanghai")
except ZoneInfoNotFoundError:  # no tz database in the image: China has had no DST since 1991
    CHINA_TZ = timezone(timedelta(hours=8), "CST")

_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_MONTH = r"(0[1-9]|1[0-2])"
_DAY = r"(0[1-9]|[1-2][0-9]|3[0-1])"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
_ZONE = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
# The regular expressions of the FHIR R4 primitive types.
DATE = re.compile(rf"{_YEAR}(-{_MONTH}(-{_DAY})?)?", re.ASCII)
DATE_TIME = re.compile(rf"{_YEAR}(-{_MONTH}(-{_DAY}(T{_TIME}{_ZONE})?)?)?", re.ASCII)
INSTANT = re.compile(rf"{_YEAR}-{_MONTH}-{_DAY}T{_TIME}{_ZONE}", re.ASCII)
# Search values: dateTime with optional seconds and optional zone (then China time).
_PARTS = re.compile(
    r"(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})(?:T(?P<H>\d{2}):(?P<M>\d{2})"
    r"(?::(?P<S>\d{2})(?:\.(?P<f>\d+))?)?(?P<z>Z|[+-]\d{2}:\d{2})?)?)?)?",
    re.ASCII,
)
_MAX_LEN = 64
_LATEST = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Moment:
    """A parsed value: its precision and the half-open range [start, end) it covers."""

    precision: str  # year | month | day | minute | second | fraction
    start: datetime
    end: datetime

    @property
    def day(self) -> date:
        """The calendar day of the start, in the value's own zone."""
        return self.start.date()


def parse_date(value: object) -> Moment | None:
    """A FHIR `date` (YYYY, YYYY-MM, YYYY-MM-DD), or None when invalid."""
    return _parse(value, DATE)


def parse_datetime(value: object) -> Moment | None:
    """A FHIR `dateTime` (a date, or a full time with zone), or None when invalid."""
    return _parse(value, DATE_TIME)


def parse_instant(value: object) -> Moment | None:
    """A FHIR `instant` (full time with zone), or None when invalid."""
    return _parse(value, INSTANT)


def parse_search_date(value: object) -> Moment | None:
    """A date search value: dateTime whose seconds and zone are optional, or None when invalid."""
    return _parse(value, None)


def _parse(value: object, strict: re.Pattern[str] | None) -> Moment | None:
    if not isinstance(value, str) or len(value) > _MAX_LEN:
        return None
    if strict is not None and strict.fullmatch(value) is None:
        return None
    m = _PARTS.fullmatch(value)
    if m is None:
        return None
    try:
        moment = _moment(m)
        bounded_datetime(moment.start)      # 1900..2199 in its own zone and in UTC: storable and comparable
    except (ValueError, OverflowError):     # OutOfRange is a ValueError
        return None
    return moment


def _moment(m: re.Match[str]) -> Moment:
    g = m.groupdict()
    tz = _zone(g["z"]) if g["z"] else CHINA_TZ
    year = int(g["y"])
    if g["m"] is None:
        start = datetime(year, 1, 1, tzinfo=tz)
        return Moment("year", start, _shift(start, years=1))
    month = int(g["m"])
    if g["d"] is None:
        start = datetime(year, month, 1, tzinfo=tz)
        return Moment("month", start, _shift(start, months=1))
    day = int(g["d"])
    if g["H"] is None:
        start = datetime(year, month, day, tzinfo=tz)
        return Moment("day", start, _add(start, timedelta(days=1)))
    hour, minute = int(g["H"]), int(g["M"])
    if hour > 23 or minute > 59:
        raise ValueError("time")
    if g["S"] is None:
        start = datetime(year, month, day, hour, minute, tzinfo=tz)
        return Moment("minute", start, _add(start, timedelta(minutes=1)))
    second = int(g["S"])
    if second > 60:
        raise ValueError("second")
    fraction = g["f"]
    micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
    if second == 60:  # a leap second: the last representable instant of the minute
        second, micro = 59, 999_999
    start = datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    if fraction:
        return Moment("fraction", start, _add(start, timedelta(microseconds=1)))
    return Moment("second", start, _add(start, timedelta(seconds=1)))


def _zone(text: str) -> tzinfo:
    if text == "Z":
        return UTC
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 14 or minutes > 59 or (hours == 14 and minutes):
        raise ValueError("zone")
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if text[0] == "-" else offset)


def _shift(start: datetime, *, years: int = 0, months: int = 0) -> datetime:
    index = start.year * 12 + start.month - 1 + years * 12 + months
    year, month = divmod(index, 12)
    if year > 9999:
        return _LATEST
    return start.replace(year=year, month=month + 1)


def _add(start: datetime, delta: timedelta) -> datetime:
    try:
        return start + delta
    except OverflowError:
        return _LATEST


def not_before(later: Moment, earlier: Moment) -> bool:
    """Whether `later` can be at or after `earlier`, comparing at the coarser precision."""
    try:
        return later.end > earlier.start
    except (OverflowError, ValueError):
        return True
