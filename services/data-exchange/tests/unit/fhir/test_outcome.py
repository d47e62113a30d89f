from data_exchange.domain.clinical import Issue
from data_exchange.fhir.outcome import (
    bad_request,
    conflict,
    not_found,
    operation_outcome,
    outcome_response,
    outcome_status,
)
from data_exchange.fhir.validation import validate


def test_a_profile_violation_is_422_with_one_issue_per_finding():
    issues = validate({"resourceType": "Patient", "identifier": [{"system": "urn:x", "value": "1"}],
                       "gender": "M"})
    status, outcome = outcome_response(issues)
    assert status == 422
    assert outcome["resourceType"] == "OperationOutcome"
    assert {"severity": "error", "code": "code-invalid", "expression": ["Patient.gender"]}.items() <= \
        outcome["issue"][-1].items()
    assert all(i["diagnostics"] for i in outcome["issue"])


def test_a_body_that_is_not_a_resource_of_the_endpoints_type_is_400():
    assert outcome_status(validate([])) == 400
    assert outcome_status(validate({"resourceType": "Medication"})) == 400
    assert outcome_status(validate({"resourceType": "Patient"}, expected_type="Observation")) == 400


def test_warnings_alone_do_not_fail_a_request():
    warning = Issue("warning", "code-invalid", "Encounter.contained[0].code.coding", "odd ICD-10 code")
    assert outcome_status([warning]) == 200
    assert operation_outcome([warning])["issue"][0]["severity"] == "warning"


def test_not_found_and_conflict_issues_pick_their_statuses():
    assert outcome_status([Issue("error", "not-found", "", "gone")]) == 404
    assert outcome_status([Issue("error", "conflict", "", "clash"), Issue("error", "required", "x", "y")]) == 409


def test_our_own_issue_codes_become_business_rule_with_the_code_in_details():
    outcome = operation_outcome([Issue("warning", "los-over-30-days", "Encounter.period", "long stay")])
    assert outcome["issue"][0]["code"] == "business-rule"
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "los-over-30-days"


def test_an_outcome_without_issues_still_has_one():
    assert operation_outcome([])["issue"] == [
        {"severity": "information", "code": "informational", "diagnostics": "all OK"}]
    assert operation_outcome([], status_hint=404)["issue"][0]["code"] == "not-found"


def test_the_helpers_pair_a_status_with_an_outcome():
    status, outcome = not_found("Patient", "pat-404")
    assert status == 404 and outcome["issue"][0]["diagnostics"] == "Patient/pat-404 is not known"
    assert conflict("visit number already used")[0] == 409
    status, outcome = bad_request("body is not JSON")
    assert status == 400 and outcome["issue"][0]["code"] == "invalid"
    assert len(not_found("Patient", "x" * 10_000)[1]["issue"][0]["diagnostics"]) < 300
