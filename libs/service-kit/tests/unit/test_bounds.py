"""Bounded dates, times, periods and protobuf timestamps: refused plainly at the ends of the calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import TypeAdapter, ValidationError

from alliance_service.bounds import (
    BoundedDate,
    BoundedDatetime,
    OutOfRange,
    PastDatetime,
    Period,
    bounded_datetime,
    parse_datetime,
    period_bounds,
    timestamp_to_datetime,
)

PLUS_14, MINUS_14 = timezone(timedelta(hours=14)), timezone(timedelta(hours=-14))


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00-14:00", "9999-12-31T23:00:00-14:00",
                                  "0001-01-01T00:00:00+14:00", "1899-12-31T23:59:59Z", "2200-01-01T00:00:00Z"])
def test_times_at_the_ends_of_the_calendar_are_refused_as_validation_errors(text):
    with pytest.raises(ValidationError):
        TypeAdapter(BoundedDatetime).validate_python(text)


def test_a_time_shifted_by_fourteen_hours_at_the_range_ends_is_refused_without_overflow():
    with pytest.raises(OutOfRange):
        bounded_datetime(datetime(2199, 12, 31, 23, 0, tzinfo=MINUS_14))   # 2200-01-01 in UTC
    with pytest.raises(OutOfRange):
        bounded_datetime(datetime(1900, 1, 1, 1, 0, tzinfo=PLUS_14))       # 1899 in UTC
    assert bounded_datetime(datetime(2199, 12, 31, 9, 0, tzinfo=MINUS_14)).year == 2199


def test_naive_times_are_refused():
    with pytest.raises(OutOfRange, match="offset"):
        bounded_datetime(datetime(2026, 1, 1))
    with pytest.raises(OutOfRange):
        parse_datetime("2026-01-01T00:00:00")


@pytest.mark.parametrize("text", ["0000-01", "9999-12", "1899-12", "2200-01", "2026-13", "2026-00", "26-01", ""])
def test_periods_outside_the_range_or_malformed_are_refused(text):
    with pytest.raises(ValidationError):
        TypeAdapter(Period).validate_python(text)


def test_a_period_at_the_end_of_the_range_has_a_next_month():
    assert TypeAdapter(Period).validate_python("2199-12") == "2199-12"
    assert period_bounds("2199-12") == (date(2199, 12, 1), date(2200, 1, 1))


def test_dates_outside_the_range_are_refused():
    with pytest.raises(ValidationError):
        TypeAdapter(BoundedDate).validate_python("9999-12-31")
    assert TypeAdapter(BoundedDate).validate_python("2026-12-03") == date(2026, 12, 3)


def test_a_happened_time_beyond_the_clock_skew_is_refused():
    with pytest.raises(ValidationError, match="future"):
        TypeAdapter(PastDatetime).validate_python(datetime.now(UTC) + timedelta(hours=1))
    TypeAdapter(PastDatetime).validate_python(datetime.now(UTC) + timedelta(minutes=1))


@pytest.mark.parametrize("seconds,nanos", [(-62135596801, 0), (253402300800, 0), (-(2**63), 0), (2**63 - 1, 0),
                                           (0, -1), (0, 10**9), (253402300799, 0)])
def test_protobuf_timestamps_outside_the_range_raise_a_typed_plain_error(seconds, nanos):
    with pytest.raises(OutOfRange) as e:
        timestamp_to_datetime(Timestamp(seconds=seconds, nanos=nanos), "at")
    assert str(e.value).startswith("at: ") and "Error" not in str(e.value)


def test_protobuf_timestamps_within_the_range_convert_to_aware_utc():
    ts = Timestamp()
    ts.FromDatetime(datetime(2026, 12, 3, 8, 30, 0, 123456, tzinfo=UTC))
    assert timestamp_to_datetime(ts) == datetime(2026, 12, 3, 8, 30, 0, 123456, tzinfo=UTC)
