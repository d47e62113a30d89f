from collections.abc import Callable
from decimal import Decimal

import fhir_samples as s
import pytest

from data_exchange.fhir.validation import validate


def _errors(resource, expected_type=None) -> set[tuple[str, str]]:
    return {(i.code, i.location) for i in validate(resource, expected_type=expected_type)
            if i.severity == "error"}


def _with(make: Callable[[], dict], change: Callable[[dict], object]) -> dict:
    resource = make()
    change(resource)
    return resource


@pytest.mark.parametrize("make", [s.patient, s.glucose, s.blood_count, s.chest_ct, s.inpatient_stay,
                                  s.emergency_visit, s.ct_order, s.liver_panel_transaction])
def test_the_synthetic_examples_of_every_resource_type_are_valid(make):
    resource = make()
    assert validate(resource, expected_type=resource["resourceType"]) == []


def test_floats_from_a_plain_json_decoder_are_accepted_as_decimals():
    stay = s.inpatient_stay()
    stay["extension"][0]["extension"][1]["valueMoney"]["value"] = 12.6
    assert validate(stay) == []


@pytest.mark.parametrize("body, location, code", [
    ([], "", "structure"),
    ("Patient", "", "structure"),
    (None, "", "structure"),
    ({"id": "1"}, "resourceType", "structure"),
    ({"resourceType": 5}, "resourceType", "structure"),
    ({"resourceType": "Medication"}, "resourceType", "not-supported"),
], ids=["array", "string", "null", "no-type", "numeric-type", "unknown-type"])
def test_a_body_that_is_not_a_supported_resource_gets_one_envelope_issue(body, location, code):
    issues = validate(body)
    assert [(i.code, i.location) for i in issues] == [(code, location)]
    assert issues[0].details == {"level": "envelope"}


def test_a_resource_of_another_type_than_the_endpoint_is_an_envelope_issue():
    assert _errors(s.patient(), expected_type="Observation") == {("structure", "resourceType")}


CASES = [
    # common
    (s.patient, lambda r: r.update(id="bad id!"), "value", "Patient.id"),
    (s.patient, lambda r: r.update(id="x" * 65), "too-long", "Patient.id"),
    (s.patient, lambda r: r.update(modifierExtension=[{"url": "x", "valueBoolean": True}]),
     "not-supported", "Patient.modifierExtension"),
    (s.patient, lambda r: r.update(implicitRules="https://example.org/rules"), "not-supported",
     "Patient.implicitRules"),
    (s.inpatient_stay, lambda r: r["diagnosis"][0].update(modifierExtension=[{"url": "x"}]),
     "not-supported", "Encounter.diagnosis[0].modifierExtension"),
    (s.blood_count, lambda r: r["contained"][0].pop("id"), "required", "DiagnosticReport.contained[0].id"),
    (s.blood_count, lambda r: r["contained"].append(
        {"resourceType": "Specimen", "id": "spec"}), "invariant", "DiagnosticReport.contained[3]"),
    (s.blood_count, lambda r: r["contained"][1].update(id="wbc"), "invariant",
     "DiagnosticReport.contained[1].id"),
    (s.blood_count, lambda r: r["contained"][0].update(contained=[]), "invariant",
     "DiagnosticReport.contained[0].contained"),
    (s.blood_count, lambda r: r["result"][0].update(reference="#missing"), "invariant",
     "DiagnosticReport.result[0].reference"),
    (s.glucose, lambda r: r.update(subject={"reference": s.UUID_PATIENT}), "invariant",
     "Observation.subject.reference"),
    # Patient
    (s.patient, lambda r: r.pop("identifier"), "required", "Patient.identifier"),
    (s.patient, lambda r: r.update(identifier=[]), "required", "Patient.identifier"),
    (s.patient, lambda r: r["identifier"][0].pop("value"), "required", "Patient.identifier[0].value"),
    (s.patient, lambda r: r.update(identifier=r["identifier"][1:2]), "required", "Patient.identifier"),
    (s.patient, lambda r: r["identifier"].append({"system": s.MRN, "value": "0099999"}), "invariant",
     "Patient.identifier"),
    (s.patient, lambda r: r["identifier"][1].update(value="330122196503121233"), "value",
     "Patient.identifier[1].value"),
    (s.patient, lambda r: r["identifier"][1].update(value="330122196502301235"), "value",
     "Patient.identifier[1].value"),
    (s.patient, lambda r: r["identifier"][0].update(value="M" * 129), "too-long", "Patient.identifier[0].value"),
    (s.patient, lambda r: r.update(identifier={"system": s.MRN, "value": "1"}), "structure",
     "Patient.identifier"),
    (s.patient, lambda r: r.update(gender="M"), "code-invalid", "Patient.gender"),
    (s.patient, lambda r: r.update(birthDate="1965-02-30"), "value", "Patient.birthDate"),
    (s.patient, lambda r: r.update(birthDate=19650312), "structure", "Patient.birthDate"),
    (s.patient, lambda r: r["name"][0].update(given=[3]), "structure", "Patient.name[0].given[0]"),
    (s.patient, lambda r: r.update(active=False), "not-supported", "Patient.active"),
    (s.patient, lambda r: r.update(active="yes"), "structure", "Patient.active"),
    (s.patient, lambda r: r.update(link=[{"other": {"reference": "Patient/2"}, "type": "replaced-by"}]),
     "not-supported", "Patient.link"),
    # Observation
    (s.glucose, lambda r: r.pop("status"), "required", "Observation.status"),
    (s.glucose, lambda r: r.update(status="done"), "code-invalid", "Observation.status"),
    (s.glucose, lambda r: r.update(code={"text": "血糖"}), "required", "Observation.code.coding"),
    (s.glucose, lambda r: r["code"]["coding"].__setitem__(0, {"code": "GLU"}) or r["code"]["coding"].pop(),
     "required", "Observation.code.coding"),
    (s.glucose, lambda r: r.pop("subject"), "required", "Observation.subject"),
    (s.glucose, lambda r: r.update(subject={}), "required", "Observation.subject"),
    (s.glucose, lambda r: r.update(subject={"reference": "Group/1"}), "value", "Observation.subject.reference"),
    (s.glucose, lambda r: r.update(subject={"reference": "http://other/fhir/Patient/1"}), "value",
     "Observation.subject.reference"),
    (s.glucose, lambda r: r.update(subject={"identifier": {"system": s.NATIONAL_ID,
                                                           "value": "330122196503121232"}}),
     "value", "Observation.subject.identifier.system"),
    (s.glucose, lambda r: r.update(subject={"identifier": {"value": "0012345"}}), "required",
     "Observation.subject.identifier.system"),
    (s.glucose, lambda r: r.pop("effectiveDateTime"), "required", "Observation.effectiveDateTime"),
    (s.glucose, lambda r: r.update(effectiveDateTime="2024-11-05 07:30"), "value",
     "Observation.effectiveDateTime"),
    (s.glucose, lambda r: r.update(effectiveDateTime="2024-11-05T07:30:00"), "value",
     "Observation.effectiveDateTime"),
    (s.glucose, lambda r: r.update(effectiveDateTime="2024-11"), "value", "Observation.effectiveDateTime"),
    (s.glucose, lambda r: r.update(effectivePeriod={"start": "2024-11-05"}) or r.pop("effectiveDateTime"),
     "not-supported", "Observation.effectivePeriod"),
    (s.glucose, lambda r: r.update(issued="2024-11-05"), "value", "Observation.issued"),
    (s.glucose, lambda r: r["valueQuantity"].update(value="7.8"), "structure", "Observation.valueQuantity.value"),
    (s.glucose, lambda r: r["valueQuantity"].update(value=True), "structure", "Observation.valueQuantity.value"),
    (s.glucose, lambda r: r["valueQuantity"].update(value=float("nan")), "value",
     "Observation.valueQuantity.value"),
    (s.glucose, lambda r: r["valueQuantity"].update(value=Decimal("Infinity")), "value",
     "Observation.valueQuantity.value"),
    (s.glucose, lambda r: r["valueQuantity"].pop("value"), "required", "Observation.valueQuantity.value"),
    (s.glucose, lambda r: r["valueQuantity"].update(comparator="~"), "code-invalid",
     "Observation.valueQuantity.comparator"),
    (s.glucose, lambda r: r.pop("valueQuantity"), "required", "Observation.value[x]"),
    (s.glucose, lambda r: r.update(dataAbsentReason={"text": "溶血"}), "invariant",
     "Observation.dataAbsentReason"),
    (s.glucose, lambda r: r.update(valueInteger=8) or r.pop("valueQuantity"), "not-supported",
     "Observation.valueInteger"),
    (s.glucose, lambda r: r.update(valueString="偏高"), "structure", "Observation.value[x]"),
    (s.glucose, lambda r: r.update(valueString="阴" * 1_048_577) or r.pop("valueQuantity"), "too-long",
     "Observation.valueString"),
    (s.glucose, lambda r: r.update(component=[{"code": {"text": "x"}}]), "not-supported",
     "Observation.component"),
    (s.glucose, lambda r: r["referenceRange"][0]["low"].update(value="3.9"), "structure",
     "Observation.referenceRange[0].low.value"),
    (s.glucose, lambda r: r.update(category=[{"coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "lab"}]}]),
     "code-invalid", "Observation.category"),
    (s.glucose, lambda r: r.pop("valueQuantity") and r.update(valueCodeableConcept={"coding": [{"display": "阴性"}]}),
     "required", "Observation.valueCodeableConcept"),
    (s.glucose, lambda r: r["code"]["coding"][0].update(code="GLU  2"), "value", "Observation.code.coding[0].code"),
    (s.glucose, lambda r: r["code"]["coding"][0].update(system="urn:local items"), "value",
     "Observation.code.coding[0].system"),
    # DiagnosticReport
    (s.blood_count, lambda r: r.pop("identifier"), "required", "DiagnosticReport.identifier"),
    (s.blood_count, lambda r: r.pop("status"), "required", "DiagnosticReport.status"),
    (s.blood_count, lambda r: r.pop("code"), "required", "DiagnosticReport.code"),
    (s.blood_count, lambda r: r.pop("effectiveDateTime"), "required", "DiagnosticReport.effectiveDateTime"),
    (s.blood_count, lambda r: r.pop("subject"), "required", "DiagnosticReport.subject"),
    (s.blood_count, lambda r: r.update(result=[]) or r.pop("contained"), "required", "DiagnosticReport.result"),
    (s.blood_count, lambda r: r["result"].append({"identifier": {"value": "x"}}), "not-supported",
     "DiagnosticReport.result[3].identifier"),
    (s.blood_count, lambda r: r["result"].append({"reference": "Patient/1"}), "value",
     "DiagnosticReport.result[3].reference"),
    (s.blood_count, lambda r: r["contained"][0].pop("valueQuantity"), "required",
     "DiagnosticReport.contained[0].value[x]"),
    (s.blood_count, lambda r: r["contained"][0].update(status="final!"), "code-invalid",
     "DiagnosticReport.contained[0].status"),
    # Encounter
    (s.inpatient_stay, lambda r: r.pop("class"), "required", "Encounter.class"),
    (s.inpatient_stay, lambda r: r["class"].update(system="http://example.org/class"), "code-invalid",
     "Encounter.class.system"),
    (s.inpatient_stay, lambda r: r["class"].update(code="VR"), "code-invalid", "Encounter.class.code"),
    (s.inpatient_stay, lambda r: r.update(**{"class": [{"code": "IMP"}]}), "structure", "Encounter.class"),
    (s.inpatient_stay, lambda r: r.update(status="planned"), "not-supported", "Encounter.status"),
    (s.inpatient_stay, lambda r: r.update(status="closed"), "code-invalid", "Encounter.status"),
    (s.inpatient_stay, lambda r: r.pop("identifier"), "required", "Encounter.identifier"),
    (s.inpatient_stay, lambda r: r.pop("period"), "required", "Encounter.period"),
    (s.inpatient_stay, lambda r: r["period"].pop("start"), "required", "Encounter.period.start"),
    (s.inpatient_stay, lambda r: r["period"].pop("end"), "required", "Encounter.period.end"),
    (s.inpatient_stay, lambda r: r["period"].update(end="2024-11-05T09:00:00+08:00"), "invariant",
     "Encounter.period.end"),
    (s.inpatient_stay, lambda r: r["period"].update(end="2024-11-04"), "invariant", "Encounter.period.end"),
    (s.inpatient_stay, lambda r: r["diagnosis"][0]["condition"].update(reference="Condition/1"),
     "not-supported", "Encounter.diagnosis[0].condition.reference"),
    (s.inpatient_stay, lambda r: r["diagnosis"][0]["condition"].update(reference="#nope"),
     "invariant", "Encounter.diagnosis[0].condition.reference"),
    (s.inpatient_stay, lambda r: r["diagnosis"][0].pop("condition"), "required",
     "Encounter.diagnosis[0].condition"),
    (s.inpatient_stay, lambda r: r["contained"][0]["code"].update(coding=[
        {"system": "http://snomed.info/sct", "code": "22298006"}]), "code-invalid",
     "Encounter.contained[0].code.coding"),
    (s.inpatient_stay, lambda r: r["contained"][2]["code"]["coding"][0].update(system="http://hl7.org/fhir/sid/icd-10"),
     "code-invalid", "Encounter.contained[2].code.coding"),
    (s.inpatient_stay, lambda r: r["contained"][2].update(performedDateTime="2024-11-05T11:40"), "value",
     "Encounter.contained[2].performedDateTime"),
    (s.inpatient_stay, lambda r: r["diagnosis"][2].update(rank=1), "invariant", "Encounter.diagnosis[2].rank"),
    (s.inpatient_stay, lambda r: r["diagnosis"][2].update(rank=0), "value", "Encounter.diagnosis[2].rank"),
    (s.inpatient_stay, lambda r: r["diagnosis"][2].update(rank=True), "structure", "Encounter.diagnosis[2].rank"),
    (s.inpatient_stay, lambda r: r["diagnosis"][2].update(rank=2**40), "value", "Encounter.diagnosis[2].rank"),
    (s.inpatient_stay, lambda r: r["diagnosis"][0]["use"]["coding"][0].update(code="XX"), "code-invalid",
     "Encounter.diagnosis[0].use"),
    (s.inpatient_stay, lambda r: r["extension"][0]["extension"][1]["valueMoney"].update(currency="USD"),
     "code-invalid", "Encounter.extension[0].extension[1].valueMoney.currency"),
    (s.inpatient_stay, lambda r: r["extension"][0]["extension"][1]["valueMoney"].update(value=Decimal("12.345")),
     "value", "Encounter.extension[0].extension[1].valueMoney.value"),
    (s.inpatient_stay, lambda r: r["extension"][0]["extension"][1]["valueMoney"].update(value=-12),
     "value", "Encounter.extension[0].extension[1].valueMoney.value"),
    (s.inpatient_stay, lambda r: r["extension"][0]["extension"][1]["valueMoney"].update(value="12.60"),
     "structure", "Encounter.extension[0].extension[1].valueMoney.value"),
    (s.inpatient_stay, lambda r: r["extension"][0]["extension"].pop(1), "required",
     "Encounter.extension[0].extension"),
    (s.inpatient_stay, lambda r: r["extension"][0]["extension"][2].update(valueInteger=0), "value",
     "Encounter.extension[0].extension[2].valueInteger"),
    (s.inpatient_stay, lambda r: r["extension"][0]["extension"][2].update(valueInteger=1.5), "structure",
     "Encounter.extension[0].extension[2].valueInteger"),
    (s.inpatient_stay, lambda r: r["extension"][0]["extension"].append(r["extension"][0]["extension"][0]),
     "structure", "Encounter.extension[0].extension[3]"),
    (s.inpatient_stay, lambda r: r["extension"][0]["extension"][0]["valueCoding"].pop("system"), "required",
     "Encounter.extension[0].extension[0].valueCoding.system"),
    (s.inpatient_stay, lambda r: r["extension"][0].update(valueString="x"), "structure",
     "Encounter.extension[0].valueString"),
    (s.inpatient_stay, lambda r: r["extension"][0].pop("url"), "required", "Encounter.extension[0].url"),
    # ServiceRequest
    (s.ct_order, lambda r: r.update(intent="plan"), "not-supported", "ServiceRequest.intent"),
    (s.ct_order, lambda r: r.update(intent="wish"), "code-invalid", "ServiceRequest.intent"),
    (s.ct_order, lambda r: r.update(status="draft"), "not-supported", "ServiceRequest.status"),
    (s.ct_order, lambda r: r.pop("authoredOn"), "required", "ServiceRequest.authoredOn"),
    (s.ct_order, lambda r: r.pop("identifier"), "required", "ServiceRequest.identifier"),
    (s.ct_order, lambda r: r.pop("code"), "required", "ServiceRequest.code"),
    (s.ct_order, lambda r: r.update(doNotPerform=True), "not-supported", "ServiceRequest.doNotPerform"),
    (s.ct_order, lambda r: r.update(encounter={"reference": "Patient/1"}), "value",
     "ServiceRequest.encounter.reference"),
]


@pytest.mark.parametrize("make, change, code, location", CASES,
                         ids=[f"{m.__name__}-{loc}-{code}" for m, _, code, loc in CASES])
def test_each_profile_violation_is_reported_with_its_issue_type_at_its_fhirpath(make, change, code, location):
    assert (code, location) in _errors(_with(make, change))


def test_unknown_elements_are_ignored():
    patient = s.patient()
    patient.update(maritalStatus={"text": "已婚"}, communication=[{"language": {"text": "zh-CN"}}],
                   extension=[{"url": "https://example.org/ethnicity", "valueString": "汉族"}])
    assert validate(patient) == []


def test_patient_identifiers_other_than_the_mrn_may_lack_a_system():
    patient = s.patient()
    patient["identifier"].append({"value": "JZK-000123", "type": {"text": "就诊卡号"}})
    assert validate(patient) == []


def test_null_is_treated_as_absent():
    patient = s.patient()
    patient["birthDate"] = None
    assert validate(patient) == []


def test_a_malformed_icd_code_is_only_a_warning():
    stay = s.inpatient_stay()
    stay["contained"][1]["code"]["coding"][0]["code"] = "糖尿病"
    issues = validate(stay)
    assert [(i.severity, i.code, i.location) for i in issues] == [
        ("warning", "code-invalid", "Encounter.contained[1].code.coding")]


def test_the_resident_id_value_is_never_echoed_in_messages():
    patient = s.patient()
    patient["identifier"][1]["value"] = "330122196503121233"
    assert all("330122196503121233" not in i.message for i in validate(patient))


def test_excessive_nesting_is_a_structure_error_not_a_crash():
    node: object = "深"
    for _ in range(5_000):
        node = {"extension": [node]}
    patient = s.patient()
    patient["extension"] = [node]
    assert any(i.code == "structure" and "deeper" in i.message for i in validate(patient))


def test_an_oversized_array_is_too_long():
    patient = s.patient()
    patient["telecom"] = [{"system": "phone", "value": "1"}] * 1_001
    assert ("too-long", "Patient.telecom") in _errors(patient)


def test_a_flood_of_violations_is_capped_with_a_final_count():
    patient = s.patient()
    patient["name"] = [{"family": 1, "given": [2, 3]}] * 1_000
    issues = validate(patient)
    assert len(issues) <= 201
    assert issues[-1].code == "too-long" and "further issues" in issues[-1].message


def test_a_resource_with_too_many_elements_is_too_long_as_a_whole():
    patient = s.patient()
    patient["extension"] = [{"url": f"https://example.org/{i}"} for i in range(210_000)]
    assert ("too-long", "Patient") in _errors(patient)


def test_non_string_object_keys_are_structure_errors():
    patient = s.patient()
    patient["name"][0][1] = "x"
    assert ("structure", "Patient.name[0]") in _errors(patient)


def test_lone_surrogates_from_json_escapes_are_invalid_unicode_anywhere():
    patient = s.patient()
    patient["address"][0]["text"] = "杭州\ud800"
    assert ("value", "Patient.address[0].text") in _errors(patient)
