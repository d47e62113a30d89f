from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import fhir_samples as s
import pytest

from data_exchange.domain.clinical import (
    Code,
    EncounterKind,
    EncounterRecord,
    OrderRecord,
    PatientRecord,
    ResultCategory,
    ResultReport,
    Sex,
)
from data_exchange.fhir.mapping import to_records

CST = timezone(timedelta(hours=8))


def _one(resource, facility=s.HOSPITAL, lookup=None):
    records, issues = to_records(resource, sending_facility=facility, contained_lookup=lookup)
    assert issues == []
    assert len(records) == 1
    return records[0]


def _issues(resource, facility=s.HOSPITAL, lookup=None):
    records, issues = to_records(resource, sending_facility=facility, contained_lookup=lookup)
    assert records == []
    return {(i.code, i.location) for i in issues}


def test_a_patient_maps_to_demographics_with_the_sending_hospitals_mrn():
    record = _one(s.patient())
    assert record == PatientRecord("H002", record.patient)
    p = record.patient
    assert (p.mrn, p.national_id, p.insurance_number) == ("0012345", "330122196503121232", "ZJ330122000012345")
    assert (p.name, p.birth_date, p.sex, p.phone) == ("张建国", date(1965, 3, 12), Sex.MALE, "13900000001")


def test_the_same_patient_sent_by_another_hospital_carries_that_hospitals_mrn():
    assert _one(s.patient(), facility="H001").patient.mrn == "A9988"


def test_a_patient_without_an_mrn_of_the_sending_hospital_is_an_error():
    assert _issues(s.patient(), facility="H003") == {("required", "Patient.identifier")}


def test_the_name_text_wins_and_latin_names_keep_spaces():
    patient = s.patient()
    patient["name"] = [{"text": " 欧阳 娜娜 ", "family": "欧阳", "given": ["娜娜"]}]
    assert _one(patient).patient.name == "欧阳 娜娜"
    patient["name"] = [{"family": "Smith", "given": ["John", "Paul"]}]
    assert _one(patient).patient.name == "Smith John Paul"
    patient["name"] = [{"family": "欧阳", "given": ["娜", "娜"]}]
    assert _one(patient).patient.name == "欧阳娜娜"


def test_a_partial_birth_date_and_an_unknown_gender_map_to_nothing_known():
    patient = s.patient()
    patient.update(birthDate="1965", gender="unknown", telecom=[{"system": "phone", "value": "0571-00000001"}])
    p = _one(patient).patient
    assert (p.birth_date, p.sex, p.phone) == (None, Sex.UNKNOWN, "0571-00000001")


def test_a_resident_id_under_the_ws_t_500_oid_is_read_as_the_national_id():
    patient = s.patient()
    patient["identifier"][1]["system"] = "urn:oid:2.16.156.10011.1.3"
    assert _one(patient).patient.national_id == "330122196503121232"


def test_a_standalone_observation_is_a_one_line_report():
    report = _one(s.glucose())
    assert isinstance(report, ResultReport)
    assert (report.report_id, report.category, report.placer_order_id) == (
        "LIS20241105-0007", ResultCategory.LABORATORY, "SQ20241105003")
    assert report.service == Code("GLU", s.ITEMS, "空腹血糖")
    assert report.observed_at == datetime(2024, 11, 5, 7, 30, tzinfo=CST)
    [line] = report.observations
    assert (line.sequence, line.value, line.value_type, line.unit) == (1, "7.8", "NM", "mmol/L")
    assert (line.reference_range, line.abnormal_flag, line.status) == ("3.9-6.1", "H", "F")


def test_the_local_item_code_is_preferred_over_loinc_whatever_the_order():
    obs = s.glucose()
    obs["code"]["coding"].reverse()
    assert _one(obs).observations[0].item.code == "GLU"


def test_an_observation_without_identifier_uses_its_id_as_report_id():
    obs = s.glucose()
    obs.pop("identifier")
    assert _one(obs).report_id == "obs-glu-20241105"
    obs.pop("id")
    assert ("required", "Observation.identifier") in _issues(obs)


@pytest.mark.parametrize("change, value, value_type, unit", [
    (lambda o: o["valueQuantity"].update(comparator="<", value=Decimal("0.50")), "<0.50", "SN", "mmol/L"),
    (lambda o: o["valueQuantity"].update(value=6.1), "6.1", "NM", "mmol/L"),
    (lambda o: o["valueQuantity"].update(value=Decimal("1E+2")), "100", "NM", "mmol/L"),
    (lambda o: o.pop("valueQuantity") and o.update(valueString="乳糜血"), "乳糜血", "ST", None),
    (lambda o: o.pop("valueQuantity") and o.update(valueCodeableConcept={
        "coding": [{"system": s.ITEMS, "code": "NEG", "display": "阴性"}]}), "NEG", "CWE", None),
    (lambda o: o.pop("valueQuantity") and o.update(status="cancelled", dataAbsentReason={"coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "error"}]}),
     "", "ST", None),
])
def test_each_value_kind_maps_to_its_hl7_value_type(change, value, value_type, unit):
    obs = s.glucose()
    change(obs)
    line = _one(obs).observations[0]
    assert (line.value, line.value_type, line.unit) == (value, value_type, unit)


def test_status_maps_to_the_hl7_result_status():
    obs = s.glucose()
    for status, hl7 in [("preliminary", "P"), ("corrected", "C"), ("amended", "C"), ("entered-in-error", "W"),
                        ("cancelled", "X")]:
        obs["status"] = status
        assert _one(obs).observations[0].status == hl7


def test_a_report_maps_its_contained_observations_in_result_order_at_the_report_time():
    report = _one(s.blood_count())
    assert (report.report_id, report.category, report.placer_order_id) == (
        "LIS20241105-0012", ResultCategory.LABORATORY, "SQ20241105002")
    assert [(o.sequence, o.item.code, o.value, o.abnormal_flag) for o in report.observations] == [
        (1, "WBC", "12.5", "H"), (2, "HGB", "135", None), (3, "PLT", "210", None)]
    assert {o.effective_at for o in report.observations} == {datetime(2024, 11, 5, 8, 10, tzinfo=CST)}


def test_a_radiology_report_is_imaging_with_a_text_finding():
    report = _one(s.chest_ct())
    assert report.category == ResultCategory.IMAGING
    assert report.observations[0].value_type == "ST"
    assert report.observations[0].value.startswith("右肺下叶")


def test_report_results_are_resolved_through_the_lookup():
    report = s.blood_count()
    stored = {f"Observation/{o['id']}": o for o in report.pop("contained")}
    report["result"] = [{"reference": ref} for ref in stored]
    assert len(_one(report, lookup=stored.get).observations) == 3
    assert ("required", "DiagnosticReport.result[0]") in _issues(report, lookup={}.get)


def test_a_result_about_another_patient_is_an_error():
    report = s.blood_count()
    report["contained"][0]["subject"] = {"identifier": {"system": s.MRN, "value": "0099999"}}
    assert ("invariant", "DiagnosticReport.result[0]") in _issues(report)


def test_the_subject_resolves_to_a_full_patient_through_the_lookup():
    obs = s.glucose()
    obs["subject"] = {"reference": "Patient/pat-0012345"}
    assert _one(obs, lookup={"Patient/pat-0012345": s.patient()}.get).patient.name == "张建国"


def test_a_bare_patient_reference_that_cannot_be_resolved_is_a_required_error_at_the_subject():
    obs = s.glucose()
    obs["subject"] = {"reference": "Patient/unknown"}
    assert _issues(obs) == {("required", "Observation.subject")}
    assert _issues(obs, lookup=lambda ref: None) == {("required", "Observation.subject")}


def test_a_subject_identifier_of_another_hospital_is_rejected():
    obs = s.glucose()
    obs["subject"] = {"identifier": {"system": "https://alliance.example/fhir/sid/mrn/H001", "value": "A9988"}}
    assert _issues(obs) == {("value", "Observation.subject.identifier.system")}


def test_a_contained_patient_is_the_subject():
    obs = s.glucose()
    obs["contained"] = [s.patient() | {"id": "p"}]
    obs["subject"] = {"reference": "#p"}
    assert _one(obs).patient.national_id == "330122196503121232"


def test_an_inpatient_stay_maps_diagnoses_procedures_and_costs_in_fen():
    record = _one(s.inpatient_stay())
    assert isinstance(record, EncounterRecord)
    assert (record.kind, record.visit_number, record.patient_class) == (
        EncounterKind.DISCHARGED, "ZY202411050012", "I")
    assert record.department == Code("0301", s.ITEMS, "心血管内科")
    assert (record.admitted_at, record.discharged_at) == (
        datetime(2024, 11, 5, 9, 12, tzinfo=CST), datetime(2024, 11, 12, 10, tzinfo=CST))
    assert [(d.code.code, d.principal) for d in record.diagnoses] == [
        ("I21.000", False), ("I21.000", True), ("E11.900", False)]
    [procedure] = record.procedures
    assert (procedure.code.code, procedure.performed_at) == ("36.07", datetime(2024, 11, 5, 11, 40, tzinfo=CST))
    assert [(c.item.code, c.amount_fen, c.quantity) for c in record.cost_lines] == [
        ("Y0001", 1260, 30), ("C0101", 35000, 7), ("S3607", 865050, 1)]


def test_an_admission_diagnosis_is_principal_while_there_is_no_discharge_diagnosis():
    stay = s.inpatient_stay()
    stay["diagnosis"] = [d for d in stay["diagnosis"] if "use" not in d or d["use"]["coding"][0]["code"] == "AD"]
    assert [d.principal for d in _one(stay).diagnoses] == [True]


def test_float_amounts_become_exact_fen():
    stay = s.inpatient_stay()
    for ext, amount in zip(stay["extension"], (19.99, 0.1, 1234567.89), strict=True):
        ext["extension"][1]["valueMoney"]["value"] = amount
    assert [c.amount_fen for c in _one(stay).cost_lines] == [1999, 10, 123456789]


@pytest.mark.parametrize("status, klass, kind", [
    ("in-progress", "IMP", EncounterKind.ADMITTED),
    ("in-progress", "AMB", EncounterKind.REGISTERED),
    ("in-progress", "EMER", EncounterKind.REGISTERED),
    ("arrived", "AMB", EncounterKind.REGISTERED),
    ("onleave", "IMP", EncounterKind.UPDATED),
    ("finished", "AMB", EncounterKind.DISCHARGED),
])
def test_status_and_class_decide_the_encounter_kind(status, klass, kind):
    visit = s.emergency_visit()
    visit.update(status=status)
    visit["class"]["code"] = klass
    visit["period"]["end"] = "2024-11-07T23:00:00+08:00"
    assert _one(visit).kind == kind


def test_a_visit_starting_on_a_bare_date_starts_at_midnight_china_time():
    record = _one(s.emergency_visit())
    assert (record.patient_class, record.admitted_at) == ("E", datetime(2024, 11, 7, tzinfo=CST))
    assert record.admitted_at.utcoffset() == timedelta(hours=8)


def test_an_order_maps_with_its_visit_number():
    record = _one(s.ct_order())
    assert isinstance(record, OrderRecord)
    assert (record.placer_order_id, record.control, record.visit_number) == ("SQ20241106001", "NW", "ZY202411050012")
    assert record.items == (Code("CT-CHEST", s.ITEMS, "胸部CT平扫"),)
    assert record.ordered_at == datetime(2024, 11, 6, 10, 20, tzinfo=CST)


def test_a_revoked_order_is_a_cancel():
    order = s.ct_order()
    order["status"] = "revoked"
    assert _one(order).control == "CA"


def test_other_resource_types_and_bad_facilities_are_issues_not_exceptions():
    assert _issues({"resourceType": "Condition"}) == {("not-supported", "Condition.resourceType")}
    assert _issues(s.patient(), facility="H 002") == {("value", "")}
    assert _issues("not a resource") == {("structure", "")}


def test_the_performing_lab_and_textual_or_open_reference_ranges_are_kept():
    obs = s.glucose()
    obs["performer"] = [{"reference": "Practitioner/doc-1"},
                        {"reference": "Organization/lab-9", "identifier": {"value": "H009-LAB"}}]
    obs["referenceRange"] = [{"text": "3.9～6.1 mmol/L"}]
    line = _one(obs).observations[0]
    assert (line.performing_lab, line.reference_range) == ("H009-LAB", "3.9～6.1 mmol/L")
    obs["referenceRange"] = [{"low": {"value": 3.9}}]
    assert _one(obs).observations[0].reference_range == ">=3.9"
