"""Strict conversions of HL7 v2 primitive types (DTM/TS, DT, NM, MO) raising Hl7Error 102."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alliance_service.bounds import OutOfRange, bounded_date, bounded_datetime
from data_exchange.hl7.errors import Hl7Error

try:
    CHINA_TZ: tzinfo = ZoneInfo("Asia/Shanghai")
except ZoneInfoNotFoundError:  # no tz database in the image: China has had no DST since 1991
    CHINA_TZ = timezone(timedelta(hours=8), "CST")

_DTM = re.compile(
    r"(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,4}))?)?)?)?)?)?"
    r"(?:([+-])(\d{2})(\d{2}))?",
    re.ASCII,
)
_DT = re.compile(r"(\d{4})(?:(\d{2})(?:(\d{2}))?)?", re.ASCII)
_NM = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)
_MAX_DIGITS = 18
_CACHE_SIZE = 4096
_dtm_cache: dict[tuple[str, tzinfo], datetime] = {}  # timestamps repeat within a message


def _error(kind: str, segment: str, field: int | None, component: int | None,
           segment_seq: int) -> Hl7Error:
    where = segment if field is None else f"{segment}-{field}"
    return Hl7Error(102, f"invalid {kind} in {where}", segment=segment, segment_seq=segment_seq,
                    field=field, component=component)


def parse_dtm(value: str, *, segment: str, field: int | None, component: int | None = None,
              segment_seq: int = 1, default_tz: tzinfo = CHINA_TZ) -> datetime | None:
    """TS/DTM `YYYY[MM[DD[HH[MM[SS[.S{1,4}]]]]]][+/-ZZZZ]` to an aware datetime; None if empty."""
    key = (value, default_tz)
    cached = _dtm_cache.get(key)
    if cached is not None:
        return cached
    value = value.strip()
    if not value:
        return None
    m = _DTM.fullmatch(value)
    if m is None:
        raise _error("date/time", segment, field, component, segment_seq)
    year, month, day, hour, minute, second, frac, sign, tzh, tzm = m.groups()
    tz = default_tz
    try:
        if sign is not None:
            if int(tzh) > 14 or int(tzm) > 59:
                raise ValueError("offset")
            offset = timedelta(hours=int(tzh), minutes=int(tzm))
            tz = timezone(-offset if sign == "-" else offset)
        parsed = datetime(
            int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0),
            int(second or 0), int((frac or "0").ljust(6, "0")), tzinfo=tz,
        )
    except ValueError:
        raise _error("date/time", segment, field, component, segment_seq) from None
    try:
        bounded_datetime(parsed)
    except OutOfRange:
        raise _error("date/time (outside 1900..2199)", segment, field, component, segment_seq) from None
    if len(_dtm_cache) >= _CACHE_SIZE:
        _dtm_cache.clear()
    _dtm_cache[key] = parsed
    return parsed


def parse_date(value: str, *, segment: str, field: int | None, component: int | None = None,
               segment_seq: int = 1) -> date | None:
    """DT `YYYY[MM[DD]]` to a date (a full TS/DTM is accepted, its date kept as written)."""
    value = value.strip()
    if not value:
        return None
    m = _DT.fullmatch(value)
    if m is None:
        parsed = parse_dtm(value, segment=segment, field=field, component=component,
                           segment_seq=segment_seq)
        assert parsed is not None
        return parsed.date()
    year, month, day = m.groups()
    try:
        return bounded_date(date(int(year), int(month or 1), int(day or 1)))
    except OutOfRange:
        raise _error("date (outside 1900..2199)", segment, field, component, segment_seq) from None
    except ValueError:
        raise _error("date", segment, field, component, segment_seq) from None


def parse_decimal(value: str, *, segment: str, field: int | None, component: int | None = None,
                  segment_seq: int = 1) -> Decimal | None:
    """NM to a Decimal (no exponents, NaN or infinities); None if empty."""
    value = value.strip()
    if not value:
        return None
    if _NM.fullmatch(value) is None:
        raise _error("number", segment, field, component, segment_seq)
    return Decimal(value)


def check_decimal(value: str, *, segment: str, field: int | None, component: int | None = None,
                  segment_seq: int = 1) -> None:
    """Raise Hl7Error 102 unless `value` is empty or a valid NM."""
    if value and _NM.fullmatch(value) is None:
        raise _error("number", segment, field, component, segment_seq)


def parse_int(value: str, *, segment: str, field: int | None, component: int | None = None,
              segment_seq: int = 1) -> int | None:
    """A whole NM/SI value to an int; None if empty."""
    if value.isdigit() and value.isascii() and len(value) < _MAX_DIGITS:
        return int(value)
    number = parse_decimal(value, segment=segment, field=field, component=component,
                           segment_seq=segment_seq)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise _error("whole number", segment, field, component, segment_seq)
    if number.adjusted() >= _MAX_DIGITS:
        raise _error("number (out of range)", segment, field, component, segment_seq)
    return int(number)


def money_to_fen(value: str, *, segment: str = "FT1", field: int | None = None,
                 component: int | None = None, segment_seq: int = 1) -> int:
    """A yuan amount ("123.45") to integer fen (12345), exactly; zeros past the fen are allowed."""
    number = parse_decimal(value, segment=segment, field=field, component=component,
                           segment_seq=segment_seq)
    if number is None:
        raise Hl7Error(101, f"amount missing in {segment}-{field}", segment=segment,
                       segment_seq=segment_seq, field=field, component=component)
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # NM never yields NaN or infinity
    shift = exponent + 2
    if shift < 0:
        if any(digits[shift:]):
            raise _error("amount (more than 2 decimals)", segment, field, component, segment_seq)
        digits, shift = digits[:shift], 0
    if len(digits) + shift > _MAX_DIGITS:
        raise _error("amount (out of range)", segment, field, component, segment_seq)
    fen = int("".join(map(str, digits)) or "0") * 10**shift
    return -fen if sign else fen
