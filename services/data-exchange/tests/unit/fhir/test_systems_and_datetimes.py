from datetime import UTC, datetime, timedelta, timezone

import pytest

from data_exchange.fhir import systems
from data_exchange.fhir.datetimes import (
    CHINA_TZ,
    not_before,
    parse_date,
    parse_datetime,
    parse_instant,
    parse_search_date,
)

CST = timezone(timedelta(hours=8))


def test_an_mrn_system_names_its_hospital_and_parses_back():
    system = systems.mrn_system("H002")
    assert system == "https://alliance.example/fhir/sid/mrn/H002"
    assert systems.hospital_of_mrn_system(system) == "H002"


@pytest.mark.parametrize("system", [
    "https://alliance.example/fhir/sid/mrn/", "https://alliance.example/fhir/sid/mrn/H002/extra",
    "https://alliance.example/fhir/sid/insurance", "urn:oid:2.16.156.10011.1.1", "", None, 42,
])
def test_other_systems_are_not_mrn_systems(system):
    assert systems.hospital_of_mrn_system(system) is None


@pytest.mark.parametrize("hospital", ["", "H/1", "-H1", "H 1", "x" * 65])
def test_an_mrn_system_cannot_be_built_for_an_invalid_hospital_id(hospital):
    with pytest.raises(ValueError):
        systems.mrn_system(hospital)


def test_local_item_systems_name_their_hospital_and_parse_back():
    system = systems.local_items_system("H001")
    assert system == "https://alliance.example/fhir/CodeSystem/local/H001/items"
    assert systems.hospital_of_local_items_system(system) == "H001"
    assert systems.hospital_of_local_items_system(systems.mrn_system("H001")) is None


def test_the_resident_id_system_is_the_alliance_oid_and_the_ws_t_500_oid_is_an_accepted_alias():
    assert systems.NATIONAL_ID == "urn:oid:2.16.156.10011.1.1"
    assert systems.NATIONAL_ID_SYSTEMS == {"urn:oid:2.16.156.10011.1.1", "urn:oid:2.16.156.10011.1.3"}


@pytest.mark.parametrize("value, precision, start, end", [
    ("2024", "year", datetime(2024, 1, 1, tzinfo=CST), datetime(2025, 1, 1, tzinfo=CST)),
    ("2024-02", "month", datetime(2024, 2, 1, tzinfo=CST), datetime(2024, 3, 1, tzinfo=CST)),
    ("2024-12", "month", datetime(2024, 12, 1, tzinfo=CST), datetime(2025, 1, 1, tzinfo=CST)),
    ("2024-02-29", "day", datetime(2024, 2, 29, tzinfo=CST), datetime(2024, 3, 1, tzinfo=CST)),
    ("2024-11-05T07:30:00+08:00", "second", datetime(2024, 11, 5, 7, 30, tzinfo=CST),
     datetime(2024, 11, 5, 7, 30, 1, tzinfo=CST)),
    ("2024-11-05T07:30:00.25Z", "fraction", datetime(2024, 11, 5, 7, 30, 0, 250_000, tzinfo=UTC),
     datetime(2024, 11, 5, 7, 30, 0, 250_001, tzinfo=UTC)),
])
def test_a_date_time_covers_the_half_open_range_of_its_precision_with_bare_dates_in_china_time(
        value, precision, start, end):
    moment = parse_datetime(value)
    assert (moment.precision, moment.start, moment.end) == (precision, start, end)
    assert moment.start.utcoffset() == timedelta(hours=8) or moment.start.tzinfo is UTC


@pytest.mark.parametrize("value", [
    "2023-02-29", "2024-13-01", "2024-11-31", "24-11-05", "2024-11-05T07:30:00", "2024-11-05T07:30+08:00",
    "2024-11-05T24:00:00Z", "2024-11-05 07:30:00+08:00", "2024-11-05T07:30:00+15:00", "0000", "２０２４",
    "", "2024-11-05T07:30:00+08:00" + "0" * 100, 20241105, None,
])
def test_invalid_date_times_are_rejected(value):
    assert parse_datetime(value) is None


def test_a_leap_second_is_accepted_as_the_last_instant_of_its_minute():
    moment = parse_instant("2016-12-31T23:59:60Z")
    assert moment.start == datetime(2016, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)


def test_a_date_has_no_time_and_an_instant_needs_one():
    assert parse_date("2024-11-05").precision == "day"
    assert parse_date("2024-11-05T07:30:00Z") is None
    assert parse_instant("2024-11-05") is None


def test_the_last_year_does_not_overflow():
    assert parse_date("2199").end == datetime(2200, 1, 1, tzinfo=CHINA_TZ)
    assert parse_datetime("2199-12-31T23:59:59+14:00") is not None


@pytest.mark.parametrize("value", ["9999", "9999-12-31T23:59:59+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01",
                                   "0001-01-01T00:00:00+14:00", "1899-12-31", "2199-12-31T23:00:00-14:00"])
def test_dates_outside_1900_to_2199_in_their_zone_or_in_utc_are_invalid(value):
    assert parse_datetime(value) is None and parse_search_date(value) is None


def test_search_dates_may_omit_seconds_and_zone_which_then_is_china_time():
    moment = parse_search_date("2024-11-05T07:30")
    assert (moment.precision, moment.start) == ("minute", datetime(2024, 11, 5, 7, 30, tzinfo=CHINA_TZ))


def test_an_end_compares_with_a_start_at_the_coarser_precision():
    start = parse_datetime("2024-11-05T09:12:00+08:00")
    assert not_before(parse_datetime("2024-11-05"), start)
    assert not_before(parse_datetime("2024-11-05T09:12:00+08:00"), start)
    assert not not_before(parse_datetime("2024-11-05T09:11:59+08:00"), start)
    assert not not_before(parse_datetime("2024-11-05T01:11:59Z"), start)
