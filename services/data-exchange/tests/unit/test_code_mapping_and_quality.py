from datetime import UTC, datetime, timedelta

import pytest

from data_exchange.adapters.clinical_events import events_for, length_of_stay_days
from data_exchange.domain.clinical import (
    Code,
    CostLine,
    Diagnosis,
    EncounterKind,
    EncounterRecord,
    Observation,
    PatientIdentity,
    ResultCategory,
    ResultReport,
)
from data_exchange.domain.code_mapping import CodeKind, InvalidMapping, MapEntry, map_record
from data_exchange.domain.quality import check
from data_exchange.domain.serialization import record_from_json, record_to_json

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PATIENT = PatientIdentity(mrn="MRN001", name="张三丰")


def _report(*items: str) -> ResultReport:
    return ResultReport("H002", "R1", ResultCategory.LABORATORY, Code("CBC", "L"), PATIENT, NOW,
                        tuple(Observation(i + 1, Code(c, "L", c.lower()), "5.6", "NM", "10*9/L", "3.5-9.5", "N")
                              for i, c in enumerate(items)))


def _stay(days: int, costs: tuple[CostLine, ...] = (), **kw) -> EncounterRecord:
    return EncounterRecord("H002", EncounterKind.DISCHARGED, "V1", PATIENT, "I", Code("CARD", "L"),
                           NOW - timedelta(days=days), NOW, (Diagnosis(Code("I21.900", "ICD-10"), True),),
                           cost_lines=costs, **kw)


def _lookup(table):
    return lambda kind, code: table.get((kind, code))


def test_unmapped_codes_are_reported_and_kept_as_sent_never_guessed():
    record = _report("WBC", "RBC")
    mapped, unmapped = map_record(record, _lookup({(CodeKind.ITEM, "WBC"): Code("LAB-WBC", "item")}))
    assert [u.code.code for u in unmapped] == ["CBC", "RBC"]
    assert [o.item.code for o in mapped.observations] == ["LAB-WBC", "RBC"]


def test_standard_icd_codes_pass_through_but_local_diagnoses_need_a_map():
    record = _stay(3)
    mapped, unmapped = map_record(record, _lookup({(CodeKind.DEPARTMENT, "CARD"): Code("DEP-CARD", "department")}))
    assert mapped.diagnoses[0].code == Code("I21.900", "diagnosis", "")
    assert unmapped == []
    local = EncounterRecord(
        "H002", EncounterKind.DISCHARGED, "V1", PATIENT, "I", None, NOW, NOW,
        (Diagnosis(Code("GXY01", "LOCAL"), True),))
    _, unmapped = map_record(local, _lookup({}))
    assert [(u.kind, u.code.code) for u in unmapped] == [(CodeKind.DIAGNOSIS, "GXY01")]


@pytest.mark.parametrize("entry", [
    MapEntry(CodeKind.CHARGE, "X1", "snacks"),
    MapEntry(CodeKind.DIAGNOSIS, "X1", "not-icd"),
    MapEntry(CodeKind.ITEM, " ", "LAB-1"),
    MapEntry(CodeKind.ITEM, "X1", "bad code!"),
    MapEntry(CodeKind.ITEM, "X\x001", "LAB-1"),
    MapEntry(CodeKind.ITEM, "X1", "LAB-1", "显示\x00"),
])
def test_map_entries_that_cannot_be_right_are_refused(entry):
    with pytest.raises(InvalidMapping):
        entry.validated()


def test_discharge_before_admission_is_rejected_and_a_long_stay_flagged():
    backwards = EncounterRecord("H002", EncounterKind.DISCHARGED, "V1", PATIENT, "I", None, NOW, NOW - timedelta(1))
    assert [i.code for i in check(backwards, NOW) if i.severity == "error"] == ["discharge-before-admission"]
    assert [i.code for i in check(_stay(31), NOW)] == ["long-stay"]
    assert check(_stay(30), NOW) == []


def test_a_stay_that_is_almost_all_drugs_is_flagged():
    costs = (CostLine(Code("D1"), 96_00), CostLine(Code("B1"), 4_00))
    issues = check(_stay(7, costs), NOW, {"D1": "drugs", "B1": "bed"})
    assert [(i.code, i.details["drug_share_pct"]) for i in issues] == [("drug-share", "96")]


def test_records_survive_a_json_round_trip():
    for record in (_report("WBC"), _stay(3, (CostLine(Code("D1", "L", "药"), 12345, 2),))):
        assert record_from_json(record_to_json(record)) == record


def test_a_mapped_discharge_becomes_one_event_with_categories_fen_and_length_of_stay():
    costs = (CostLine(Code("D1"), 120_50), CostLine(Code("B1"), 300_00, 3))
    record = _stay(3, costs)
    table = {(CodeKind.DEPARTMENT, "CARD"): Code("DEP-CARD", "department"),
             (CodeKind.CHARGE, "D1"): Code("drugs", "charge"), (CodeKind.CHARGE, "B1"): Code("bed", "charge")}
    mapped, unmapped = map_record(record, _lookup(table))
    assert unmapped == []
    [event] = events_for(record, mapped, patient_id="P1", hospital_id="H002", source="hl7v2")
    assert event.length_of_stay_days == 3 == length_of_stay_days(record)
    assert event.total_cost_fen == 420_50
    assert [(c.category, c.item.local_code) for c in event.cost_lines] == [("drugs", "D1"), ("bed", "B1")]
    assert event.diagnoses[0].principal and event.diagnoses[0].code.code == "I21.900"
