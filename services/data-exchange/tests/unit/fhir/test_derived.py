"""HL7 v2 records → FHIR resources (fhir/derived.py): profile-valid, stable ids, both codings, no identity."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from data_exchange.adapters.fhir_store import _jsonable
from data_exchange.domain.clinical import (
    Code,
    CostLine,
    Diagnosis,
    EncounterKind,
    EncounterRecord,
    Observation,
    PatientIdentity,
    Procedure,
    ResultCategory,
    ResultReport,
)
from data_exchange.domain.code_mapping import map_record
from data_exchange.fhir import derived, systems
from data_exchange.fhir.mapping import to_records
from data_exchange.fhir.validation import validate

CN = timezone(timedelta(hours=8))
H = "H002"
ITEMS = systems.local_items_system(H)
PATIENT = PatientIdentity(mrn="MRN-77")  # stored records keep only the MRN
MAPS = {("item", "CBC"): "LAB-CBC", ("item", "WBC"): "LAB-WBC", ("item", "HGB"): "LAB-HGB",
        ("item", "CRP"): "LAB-CRP", ("item", "NOTE"): "LAB-NOTE", ("department", "CARD"): "DEP-CARD",
        ("charge", "250101001"): "laboratory", ("charge", "330201001"): "consumables"}


def lookup(kind, local):
    code = MAPS.get((kind.value, local))
    return Code(code, kind.value, "") if code else None


def report(**over) -> ResultReport:
    at = datetime(2026, 11, 23, 8, 0, tzinfo=CN)
    lines = (
        Observation(1, Code("WBC", "L", "白细胞计数"), "5.6", "NM", "10*9/L", "3.5-9.5", "N", "F", at),
        Observation(2, Code("HGB", "L", "血红蛋白"), "135", "NM", "g/L", "130-175", "L", "C", at),
        Observation(3, Code("CRP", "L", "C反应蛋白"), "<0.5", "SN", "mg/L", None, None, "F", at),
        Observation(4, Code("NOTE", "L", "备注"), "复查", "TX", status="F"),
        Observation(5, Code("NOTE", "L", "备注"), "", "ST", status="F"),
    )
    fields = dict(sending_facility=H, report_id="RPT/9001 ä", category=ResultCategory.LABORATORY,
                  service=Code("CBC", "L", "血常规"), patient=PATIENT, observed_at=at, observations=lines,
                  placer_order_id="PL-1")
    return ResultReport(**(fields | over))


def resources(r: ResultReport, key: str = "H002/result/RPT-9001") -> list[derived.Derived]:
    mapped, unmapped = map_record(r, lookup)
    assert unmapped == []
    return derived.result_resources(r, mapped, hospital_id=H, record_key=key)


def test_a_report_becomes_a_diagnostic_report_and_one_observation_per_line_all_profile_valid():
    out = resources(report())
    assert [d.resource_type for d in out] == ["DiagnosticReport"] + ["Observation"] * 5
    for d in out:
        assert [i for i in validate(d.resource) if i.severity == "error"] == [], d.resource
        assert d.key == "H002/result/RPT-9001"
    dr = out[0].resource
    assert dr["result"] == [{"reference": f"Observation/{d.id}"} for d in out[1:]]
    assert dr["status"] == "corrected" and dr["effectiveDateTime"] == "2026-11-23T08:00:00+08:00"
    assert dr["identifier"] == [{"system": systems.filler_order_system(H), "value": "RPT/9001 ä"}]
    assert dr["basedOn"][0]["identifier"]["value"] == "PL-1"
    wbc = out[1].resource
    assert wbc["code"]["coding"] == [
        {"system": systems.ALLIANCE_ITEM, "code": "LAB-WBC", "display": "白细胞计数"},
        {"system": ITEMS, "code": "WBC", "display": "白细胞计数"}]
    assert wbc["valueQuantity"] == {"value": Decimal("5.6"), "unit": "10*9/L"}
    assert wbc["referenceRange"] == [{"text": "3.5-9.5"}]
    assert wbc["subject"] == {"type": "Patient", "identifier": {"system": systems.mrn_system(H), "value": "MRN-77"}}
    assert out[2].resource["status"] == "corrected"
    assert out[3].resource["valueQuantity"] == {"value": Decimal("0.5"), "comparator": "<", "unit": "mg/L"}
    assert out[4].resource["valueString"] == "复查"
    assert out[4].resource["effectiveDateTime"] == dr["effectiveDateTime"]     # the report's time by default
    assert "dataAbsentReason" in out[5].resource and "valueString" not in out[5].resource


def test_ids_are_stable_fhir_ids_derived_from_the_record_and_line():
    first, again = resources(report()), resources(report(observations=report().observations[:2]))
    assert [d.id for d in again] == [d.id for d in first[:3]]
    other = resources(report(), key="H002/result/RPT-9002")
    assert {d.id for d in other}.isdisjoint(d.id for d in first)
    for d in first:
        assert d.id.startswith(derived.ID_PREFIX) and len(d.id) <= 64
    # duplicate OBX-1 set ids still give one resource per line
    twice = report(observations=tuple(replace(o, sequence=1) for o in report().observations))
    assert len({d.id for d in resources(twice)}) == 6


def test_the_derived_observation_maps_back_to_the_same_result_line():
    out = resources(report())
    [back], issues = to_records(out[1].resource, sending_facility=H)
    assert [i for i in issues if i.severity == "error"] == []
    assert (back.patient.mrn, back.observations[0].item.code, back.observations[0].value) == ("MRN-77", "WBC", "5.6")


@pytest.mark.parametrize("statuses, expected", [
    (["F", "F"], "final"), (["F", "C"], "corrected"), (["F", "P"], "partial"), (["P", "R"], "preliminary"),
    (["X", "X"], "cancelled"), (["W"], "entered-in-error"), (["F", "X"], "final"), (["I"], "registered"),
    ([], "unknown"), (["?"], "preliminary"),
])
def test_report_status_follows_its_lines(statuses, expected):
    assert derived.report_status(statuses) == expected


def test_meta_tags_the_origin_as_hl7v2():
    meta = derived.meta(H)
    assert meta["source"] == f"{systems.HL7V2_SOURCE}/H002"
    assert meta["tag"] == [{"system": systems.DATA_ORIGIN, "code": "hl7v2", "display": "received as HL7 v2"}]


def encounter(kind: EncounterKind, **over) -> EncounterRecord:
    fields = dict(sending_facility="H001", kind=kind, visit_number="V-2001", patient=PatientIdentity(mrn="ZY-5001"),
                  patient_class="I", department=Code("CARD", display="心内科"),
                  admitted_at=datetime(2026, 11, 20, 8, 15, tzinfo=CN))
    return EncounterRecord(**(fields | over))


A03 = dict(
    discharged_at=datetime(2026, 11, 23, 9, 0, tzinfo=CN), admitted_at=None, department=None,
    diagnoses=(Diagnosis(Code("I21.9", "ICD-10", "急性心肌梗死"), principal=True),
               Diagnosis(Code("I10.x00", "ICD-10", "高血压"))),
    procedures=(Procedure(Code("36.06", "ICD-9-CM-3", "支架置入"), datetime(2026, 11, 21, 10, 30, tzinfo=CN)),),
    cost_lines=(CostLine(Code("250101001", "", "血常规"), 2500, 2),
                CostLine(Code("330201001", "", "支架"), 1234567, 1)),
)


def pairs(*records: EncounterRecord):
    return [(r, map_record(r, lookup)[0]) for r in records]


def test_a_visit_is_one_encounter_the_discharge_completed_by_the_admission():
    visit = derived.visit_encounter(pairs(encounter(EncounterKind.ADMITTED),
                                          encounter(EncounterKind.DISCHARGED, **A03)), hospital_id="H001")
    r = visit.resource
    assert [i for i in validate(r) if i.severity == "error"] == []
    assert visit.key == "H001/encounter/V-2001" and visit.id == derived.derived_id("H001/encounter/V-2001")
    assert r["status"] == "finished" and r["class"] == {"system": systems.ENCOUNTER_CLASS, "code": "IMP"}
    assert r["period"] == {"start": "2026-11-20T08:15:00+08:00", "end": "2026-11-23T09:00:00+08:00"}
    assert visit.effective_at == datetime(2026, 11, 20, 8, 15, tzinfo=CN)
    assert r["serviceType"]["coding"][0] == {"system": systems.ALLIANCE_DEPARTMENT, "code": "DEP-CARD",
                                             "display": "心内科"}
    conditions = {c["id"]: c for c in r["contained"]}
    assert conditions["dx1"]["code"]["coding"] == [{"system": systems.ICD10, "code": "I21.9", "display": "急性心肌梗死"}]
    assert [c["code"] for c in conditions["dx2"]["code"]["coding"]] == ["I10.X00"]   # passed through as ICD-10
    assert [d.get("rank") for d in r["diagnosis"]] == [1, None, None]
    amounts = [[p for p in e["extension"] if p["url"] == "amount"][0]["valueMoney"] for e in r["extension"]]
    assert amounts == [{"value": Decimal("25.00"), "currency": "CNY"}, {"value": Decimal("12345.67"), "currency": "CNY"}]
    categories = [[p for p in e["extension"] if p["url"] == "category"][0]["valueCoding"]["code"] for e in r["extension"]]
    assert categories == ["laboratory", "consumables"]
    # what the server serves maps back to the same stay (integer fen, principal diagnosis, procedure)
    served = json.loads(json.dumps(_jsonable(r)), parse_float=Decimal)     # as stored (JSONB) and served
    [back], issues = to_records(served, sending_facility="H001")
    assert [i for i in issues if i.severity == "error"] == []
    assert back.kind is EncounterKind.DISCHARGED and back.visit_number == "V-2001"
    assert [(c.item.code, c.amount_fen, c.quantity) for c in back.cost_lines] == [
        ("250101001", 2500, 2), ("330201001", 1234567, 1)]
    assert [(d.code.code, d.principal) for d in back.diagnoses] == [("I21.9", True), ("I10.X00", False)]
    assert back.procedures[0].code.code == "36.06"


def test_an_admission_alone_is_in_progress_and_an_update_alone_is_unknown():
    admitted = derived.visit_encounter(pairs(encounter(EncounterKind.ADMITTED)), hospital_id="H001").resource
    assert admitted["status"] == "in-progress" and "end" not in admitted["period"]
    assert [i for i in validate(admitted) if i.severity == "error"] == []
    assert derived.visit_encounter(pairs(encounter(EncounterKind.UPDATED)), hospital_id="H001").resource[
        "status"] == "unknown"
    later = derived.visit_encounter(pairs(encounter(EncounterKind.DISCHARGED, **A03),
                                          encounter(EncounterKind.UPDATED, department=Code("X"))), hospital_id="H001")
    assert later.resource["status"] == "finished"
    with pytest.raises(ValueError):
        derived.visit_encounter([], hospital_id="H001")


def test_no_name_or_national_id_reaches_a_derived_resource():
    full = PatientIdentity(mrn="ZY-5001", national_id="11010519491231002X", name="张三丰", phone="13812345678")
    text = json.dumps([derived.visit_encounter(pairs(encounter(EncounterKind.DISCHARGED, patient=full, **A03)),
                                               hospital_id="H001").resource,
                       *(d.resource for d in resources(report(patient=full)))], default=str, ensure_ascii=False)
    for secret in ("11010519491231002X", "张三丰", "13812345678"):
        assert secret not in text


def test_fen_become_exact_yuan():
    assert [derived.fen_to_yuan(f) for f in (0, 1, 99, 100, 1234567)] == [
        Decimal("0.00"), Decimal("0.01"), Decimal("0.99"), Decimal("1.00"), Decimal("12345.67")]
