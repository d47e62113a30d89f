"""The summary's recent encounters (adapters/clinical_events.recent_discharges): newest first, discharged only."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from data_exchange.adapters.clinical_events import recent_discharges
from data_exchange.domain.clinical import (
    Code,
    CostLine,
    EncounterKind,
    EncounterRecord,
    PatientIdentity,
)

CN = timezone(timedelta(hours=8))


def stay(hospital: str, visit: str, day: int, kind: EncounterKind = EncounterKind.DISCHARGED):
    record = EncounterRecord(
        sending_facility=hospital, kind=kind, visit_number=visit, patient=PatientIdentity(mrn="M-1"),
        patient_class="I", admitted_at=datetime(2026, 10, day, 8, tzinfo=CN),
        discharged_at=datetime(2026, 10, day + 2, 9, tzinfo=CN) if kind is EncounterKind.DISCHARGED else None,
        cost_lines=(CostLine(Code("BED"), 15000, 3), CostLine(Code("LAB"), 2501)))
    mapped = EncounterRecord(**{**record.__dict__, "cost_lines": (CostLine(Code("bed", "charge"), 15000, 3),
                                                                   CostLine(Code("laboratory", "charge"), 2501))})
    return hospital, record, mapped


def test_newest_discharges_first_limited_under_the_survivor_id():
    items = [stay("H001", "V-1", 1), stay("H002", "V-9", 20), stay("H001", "V-2", 10),
             stay("H003", "V-3", 15, EncounterKind.ADMITTED), stay("H001", "V-4", 5)]
    out = recent_discharges(items, patient_id="AP-SURVIVOR", limit=3)
    assert [e.encounter_id for e in out] == ["H002/V-9", "H001/V-2", "H001/V-4"]
    assert {e.patient_id for e in out} == {"AP-SURVIVOR"}
    first = out[0]
    assert (first.hospital_id, first.length_of_stay_days, first.total_cost_fen) == ("H002", 2, 17501)
    assert [(c.category, c.amount_fen, c.item.local_code) for c in first.cost_lines] == [
        ("bed", 15000, "BED"), ("laboratory", 2501, "LAB")]
    assert first.discharged_at.ToDatetime(tzinfo=CN) == datetime(2026, 10, 22, 9, tzinfo=CN)


def test_one_entry_per_encounter_and_nothing_without_discharges():
    assert recent_discharges([stay("H001", "V-1", 1), stay("H001", "V-1", 3)], patient_id="P", limit=5)[0] \
        .discharged_at.ToDatetime(tzinfo=CN).day == 5
    assert len(recent_discharges([stay("H001", "V-1", 1), stay("H001", "V-1", 3)], patient_id="P", limit=5)) == 1
    assert recent_discharges([stay("H001", "V-1", 1, EncounterKind.ADMITTED)], patient_id="P", limit=5) == []
    assert recent_discharges([], patient_id="P", limit=5) == []
