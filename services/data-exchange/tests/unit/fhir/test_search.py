from datetime import UTC, datetime, timedelta, timezone

import pytest

from data_exchange.fhir.search import DateRange, SearchError, Token, parse_search

CST = timezone(timedelta(hours=8))


def test_a_patients_results_by_reference_or_bare_id():
    for params in ({"patient": ["Patient/pat-1"]}, {"patient": ["pat-1"]}, {"subject": ["Patient/pat-1"]},
                   {"subject:Patient": ["pat-1"]}, {"patient": ["pat-1"], "subject": ["Patient/pat-1"]}):
        assert parse_search("Observation", params).patient == "pat-1"


@pytest.mark.parametrize("params", [
    {"subject": ["Group/1"]}, {"patient": ["Patient/"]}, {"patient": ["a", "b"]},
    {"patient": ["pat-1"], "subject": ["pat-2"]}, {"patient": [""]}, {"patient": []},
])
def test_bad_patient_criteria_are_search_errors(params):
    with pytest.raises(SearchError):
        parse_search("DiagnosticReport", params)


def test_tokens_take_system_and_value_with_fhir_escapes():
    query = parse_search("Patient", {"identifier": [
        "https://alliance.example/fhir/sid/mrn/H002|0012345,0099999,|ABC,urn:oid:1.2|,a\\|b\\,c"]})
    assert query.identifiers == (
        Token("https://alliance.example/fhir/sid/mrn/H002", "0012345"), Token(None, "0099999"),
        Token("", "ABC"), Token("urn:oid:1.2", None), Token(None, "a|b,c"))


def test_codes_are_alternatives():
    query = parse_search("Observation", {"code": ["http://loinc.org|14749-6,GLU"]})
    assert query.codes == (Token("http://loinc.org", "14749-6"), Token(None, "GLU"))


@pytest.mark.parametrize("value, start, end", [
    ("2024", datetime(2024, 1, 1, tzinfo=CST), datetime(2025, 1, 1, tzinfo=CST)),
    ("2024-02", datetime(2024, 2, 1, tzinfo=CST), datetime(2024, 3, 1, tzinfo=CST)),
    ("eq2024-11-05", datetime(2024, 11, 5, tzinfo=CST), datetime(2024, 11, 6, tzinfo=CST)),
    ("2024-11-05T07:30", datetime(2024, 11, 5, 7, 30, tzinfo=CST), datetime(2024, 11, 5, 7, 31, tzinfo=CST)),
    ("2024-11-05T07:30:00Z", datetime(2024, 11, 5, 7, 30, tzinfo=UTC),
     datetime(2024, 11, 5, 7, 30, 1, tzinfo=UTC)),
    ("ge2024-11", datetime(2024, 11, 1, tzinfo=CST), None),
    ("gt2024-11", datetime(2024, 12, 1, tzinfo=CST), None),
    ("le2024-11", None, datetime(2024, 12, 1, tzinfo=CST)),
    ("lt2024-11", None, datetime(2024, 11, 1, tzinfo=CST)),
    ("ge2024-11-05T08:00:00 08:00", datetime(2024, 11, 5, 8, tzinfo=CST), None),
])
def test_a_date_is_a_half_open_range_given_by_its_precision_and_prefix(value, start, end):
    query = parse_search("Observation", {"date": [value]})
    assert query.date == DateRange(start, end)
    assert query.date_element == "effectiveDateTime"


def test_repeated_dates_intersect():
    query = parse_search("Encounter", {"date": ["ge2024-11-01", "lt2024-12-01", "le2024-11-30"]})
    assert query.date == DateRange(datetime(2024, 11, 1, tzinfo=CST), datetime(2024, 12, 1, tzinfo=CST))
    assert query.date.contains(datetime(2024, 11, 30, 23, 59, tzinfo=CST))
    assert not query.date.contains(datetime(2024, 12, 1, tzinfo=CST))
    assert query.date_element == "period"
    assert parse_search("Encounter", {"date": ["lt2024-01-01", "gt2024-06"]}).date.is_empty()


@pytest.mark.parametrize("value", ["ne2024", "ap2024", "zz2024", "2024-13", "2024-11-05T25:00", "yesterday",
                                   "2024-11-05T08:00+15:00", "2024-11-05T08:00:61"])
def test_unsupported_prefixes_and_bad_dates_are_search_errors(value):
    with pytest.raises(SearchError) as err:
        parse_search("Observation", {"date": [value]})
    assert err.value.param == "date"


def test_count_is_bounded_and_defaults_to_fifty():
    assert parse_search("Patient", {}).count == 50
    assert parse_search("Patient", {"_count": ["1000"]}).count == 1000
    for bad in ("0", "1001", "-1", "ten", "1.5", "１０"):
        with pytest.raises(SearchError):
            parse_search("Patient", {"_count": [bad]})


def test_ids_are_alternatives_of_valid_ids():
    assert parse_search("ServiceRequest", {"_id": ["a,b-2"]}).ids == ("a", "b-2")
    with pytest.raises(SearchError):
        parse_search("ServiceRequest", {"_id": ["a b"]})


@pytest.mark.parametrize("resource_type, name", [
    ("Patient", "patient"), ("Patient", "subject"), ("Patient", "date"), ("Patient", "code"),
    ("Encounter", "code"), ("ServiceRequest", "date"), ("Observation", "authored"),
    ("Observation", "name"), ("Observation", "code:text"), ("Observation", "identifier:of-type"),
    ("Observation", "_sort"),
])
def test_parameters_that_do_not_apply_to_the_type_are_search_errors(resource_type, name):
    with pytest.raises(SearchError) as err:
        parse_search(resource_type, {name: ["x"]})
    assert err.value.param == name


def test_service_requests_search_by_authored_date():
    query = parse_search("ServiceRequest", {"authored": ["2024-11-06"]})
    assert (query.date.start, query.date_element) == (datetime(2024, 11, 6, tzinfo=CST), "authoredOn")


def test_only_dates_may_repeat_and_only_json_is_served():
    with pytest.raises(SearchError):
        parse_search("Patient", {"identifier": ["a", "b"]})
    assert parse_search("Patient", {"_format": ["application/fhir+json"]}).resource_type == "Patient"
    with pytest.raises(SearchError):
        parse_search("Patient", {"_format": ["xml"]})


def test_unsearchable_types_are_search_errors():
    with pytest.raises(SearchError):
        parse_search("Bundle", {})


@pytest.mark.parametrize("value", ["|", "a,,b", "a|b|c", ",".join("x" * 101)])
def test_malformed_token_lists_are_search_errors(value):
    with pytest.raises(SearchError):
        parse_search("Observation", {"code": [value]})
