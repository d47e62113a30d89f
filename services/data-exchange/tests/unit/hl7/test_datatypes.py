from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from data_exchange.hl7.datatypes import (
    CHINA_TZ,
    check_decimal,
    money_to_fen,
    parse_date,
    parse_decimal,
    parse_dtm,
    parse_int,
)
from data_exchange.hl7.errors import Hl7Error

LOC = {"segment": "OBR", "field": 7}


@pytest.mark.parametrize("value, expected", [
    ("2026", datetime(2026, 1, 1, tzinfo=CHINA_TZ)),
    ("202611", datetime(2026, 11, 1, tzinfo=CHINA_TZ)),
    ("20261123", datetime(2026, 11, 23, tzinfo=CHINA_TZ)),
    ("2026112315", datetime(2026, 11, 23, 15, tzinfo=CHINA_TZ)),
    ("202611231530", datetime(2026, 11, 23, 15, 30, tzinfo=CHINA_TZ)),
    ("20261123153045", datetime(2026, 11, 23, 15, 30, 45, tzinfo=CHINA_TZ)),
    ("20261123153045.1", datetime(2026, 11, 23, 15, 30, 45, 100000, tzinfo=CHINA_TZ)),
    ("20261123153045.1234", datetime(2026, 11, 23, 15, 30, 45, 123400, tzinfo=CHINA_TZ)),
    ("20261123153045+0000", datetime(2026, 11, 23, 15, 30, 45, tzinfo=UTC)),
    ("202611231530-0530", datetime(2026, 11, 23, 15, 30,
                                   tzinfo=timezone(-timedelta(hours=5, minutes=30)))),
    ("20240229", datetime(2024, 2, 29, tzinfo=CHINA_TZ)),
])
def test_dtm_values_of_every_precision_parse_to_aware_datetimes(value, expected):
    parsed = parse_dtm(value, **LOC)
    assert parsed == expected and parsed.utcoffset() == expected.utcoffset()


def test_a_dtm_without_offset_is_in_china_time_unless_told_otherwise():
    assert parse_dtm("20261123080000", **LOC).utcoffset() == timedelta(hours=8)
    utc = parse_dtm("20261123080000", **LOC, default_tz=UTC)
    assert utc.utcoffset() == timedelta(0)


@pytest.mark.parametrize("value", [
    "20261301", "20260230", "20250229", "2026112325", "202611231260", "20261123153060",
    "2026-11-23", "20261123T1530", "2026112", "abcd", "20261123153045.12345", "20261123+08",
    "20261123+2500", "20261123+0860", "２０２６", "0000", "1' OR '1'='1", "20261123 1530",
])
def test_invalid_dtm_values_raise_a_data_type_error_naming_the_field(value):
    with pytest.raises(Hl7Error) as err:
        parse_dtm(value, segment="OBX", field=14, segment_seq=3)
    e = err.value
    assert (e.code, e.segment, e.field, e.segment_seq, e.ack_code) == (102, "OBX", 14, 3, "AE")
    assert value not in e.reason


def test_an_empty_dtm_is_none():
    assert parse_dtm("", **LOC) is None and parse_dtm("  ", **LOC) is None


def test_dates_parse_strictly_and_a_full_timestamp_keeps_the_date_as_written():
    assert parse_date("19491231", segment="PID", field=7) == date(1949, 12, 31)
    assert parse_date("1949", segment="PID", field=7) == date(1949, 1, 1)
    assert parse_date("194912312330-0500", segment="PID", field=7) == date(1949, 12, 31)
    assert parse_date("", segment="PID", field=7) is None
    for bad in ("19490230", "19491300", "1949-12-31", "abc"):
        with pytest.raises(Hl7Error) as err:
            parse_date(bad, segment="PID", field=7)
        assert (err.value.code, err.value.segment, err.value.field) == (102, "PID", 7)


@pytest.mark.parametrize("value, expected", [
    ("1", Decimal("1")), ("+1.5", Decimal("1.5")), ("-0.25", Decimal("-0.25")),
    (".5", Decimal("0.5")), ("10.", Decimal("10")), ("007", Decimal("7")), (" 3.2 ", Decimal("3.2")),
])
def test_numbers_parse_to_decimals(value, expected):
    assert parse_decimal(value, segment="OBX", field=5) == expected


@pytest.mark.parametrize("value", ["1e5", "NaN", "Infinity", "1,000", "--1", "<0.5", "١٢", "1.2.3",
                                   "0x10", "12 mg"])
def test_non_numbers_raise_a_data_type_error(value):
    with pytest.raises(Hl7Error) as err:
        parse_decimal(value, segment="OBX", field=5)
    assert (err.value.code, err.value.field) == (102, 5)
    with pytest.raises(Hl7Error):
        check_decimal(value, segment="OBX", field=5)


def test_whole_numbers_parse_to_ints_and_fractions_are_refused():
    assert parse_int("12", segment="OBX", field=1) == 12
    assert parse_int("-3", segment="OBX", field=1) == -3
    assert parse_int("4.0", segment="OBX", field=1) == 4
    assert parse_int("", segment="OBX", field=1) is None
    for bad in ("1.5", "x", "9" * 40):
        with pytest.raises(Hl7Error):
            parse_int(bad, segment="OBX", field=1)


@pytest.mark.parametrize("value, fen", [
    ("123.45", 12345), ("0.1", 10), ("100", 10000), ("-5.50", -550), ("150.0000", 15000),
    ("0", 0), (".01", 1), ("99999999.99", 9999999999),
])
def test_money_converts_yuan_to_integer_fen_exactly(value, fen):
    assert money_to_fen(value) == fen


@pytest.mark.parametrize("value", ["12.345", "abc", "1e3", "12,00", "NaN", "1" * 30, "¥12"])
def test_money_with_fractions_of_a_fen_or_junk_is_a_data_type_error(value):
    with pytest.raises(Hl7Error) as err:
        money_to_fen(value, segment="FT1", field=11, component=1, segment_seq=2)
    assert (err.value.code, err.value.segment, err.value.field, err.value.segment_seq) == (
        102, "FT1", 11, 2)


def test_missing_money_is_a_required_field_error():
    with pytest.raises(Hl7Error) as err:
        money_to_fen("", segment="FT1", field=11)
    assert err.value.code == 101


@pytest.mark.parametrize("value,field", [("99991231235959-1400", 14), ("00010101000000+1400", 14), ("99991231", 7),
                                         ("21991231230000-1400", 14), ("19000101000000+1400", 14), ("18991231", 7)])
def test_times_outside_1900_to_2199_are_a_data_type_error_naming_the_field(value, field):
    """Issue 12 finding 4: a TS at the end of the calendar (±14 h) overflowed behind the parser."""
    with pytest.raises(Hl7Error) as err:
        parse_dtm(value, segment="OBX", field=field, segment_seq=3)
    assert (err.value.code, err.value.segment, err.value.field, err.value.ack_code) == (102, "OBX", field, "AE")
    assert "1900..2199" in err.value.reason


@pytest.mark.parametrize("value", ["99991231", "00010101", "18991231", "22000101"])
def test_dates_outside_1900_to_2199_are_a_data_type_error_naming_the_field(value):
    with pytest.raises(Hl7Error) as err:
        parse_date(value, segment="PID", field=7)
    assert (err.value.code, err.value.segment, err.value.field) == (102, "PID", 7)
