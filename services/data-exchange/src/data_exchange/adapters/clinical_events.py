"""Normalised records (as sent, and as mapped) → the protobuf events other services consume."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from google.protobuf.message import Message

from alliance.data_exchange.v1 import clinical_pb2 as pb
from alliance_messaging import proto_time

from ..domain.clinical import (
    Code,
    EncounterKind,
    EncounterRecord,
    OrderRecord,
    Record,
    ResultReport,
)


def _ts(value: datetime | None):
    return None if value is None else proto_time(value)


def _coded(mapped: Code, local: Code) -> pb.CodedValue:
    return pb.CodedValue(code=mapped.code, system=mapped.system, display=mapped.display or local.display,
                         local_code=local.code)


def events_for(original: Record, mapped: Record, *, patient_id: str, hospital_id: str,
               source: str) -> list[Message]:
    """The events a fully mapped record publishes (none for demographics-only records)."""
    match original, mapped:
        case ResultReport(), ResultReport():
            return _results(original, mapped, patient_id, hospital_id, source)
        case EncounterRecord(), EncounterRecord():
            return _encounter(original, mapped, patient_id, hospital_id)
        case OrderRecord(), OrderRecord():
            return [pb.OrderPlaced(
                order_id=f"{hospital_id}/{original.placer_order_id}", patient_id=patient_id, hospital_id=hospital_id,
                items=[_coded(m, o) for o, m in zip(original.items, mapped.items, strict=True)],
                control=original.control, ordered_at=_ts(original.ordered_at))]
    return []


def _results(original: ResultReport, mapped: ResultReport, patient_id: str, hospital_id: str,
             source: str) -> list[Message]:
    report_ref = f"{hospital_id}/{original.report_id}"
    return [
        pb.ResultRecorded(
            result_id=f"{report_ref}/{o.sequence}", patient_id=patient_id, hospital_id=hospital_id,
            lab_id=o.performing_lab or hospital_id, category=original.category.value, item=_coded(m.item, o.item),
            value=o.value, value_type=o.value_type, unit=o.unit or "", reference_range=o.reference_range or "",
            abnormal_flag=o.abnormal_flag or "", status=o.status,
            effective_at=_ts(o.effective_at or original.observed_at), report_ref=report_ref, source=source,
            mrn=original.patient.mrn)
        for o, m in zip(original.observations, mapped.observations, strict=True)
    ]


def length_of_stay_days(e: EncounterRecord) -> int:
    """Calendar days from admission to discharge; an inpatient stay counts at least one day."""
    if not (e.admitted_at and e.discharged_at):
        return 0
    days = (e.discharged_at.date() - e.admitted_at.date()).days
    return max(days, 1) if e.patient_class == "I" else max(days, 0)


def _encounter(original: EncounterRecord, mapped: EncounterRecord, patient_id: str,
               hospital_id: str) -> list[Message]:
    encounter_id = f"{hospital_id}/{original.visit_number}"
    department = _coded(mapped.department, original.department) if original.department and mapped.department else None
    if original.kind in (EncounterKind.ADMITTED, EncounterKind.REGISTERED):
        return [pb.EncounterAdmitted(encounter_id=encounter_id, patient_id=patient_id, hospital_id=hospital_id,
                                     patient_class=original.patient_class, department=department,
                                     admitted_at=_ts(original.admitted_at))]
    if original.kind is EncounterKind.DISCHARGED:
        lines = [pb.CostLine(category=m.item.code, item=_coded(m.item, o.item), amount_fen=o.amount_fen,
                             quantity=o.quantity)
                 for o, m in zip(original.cost_lines, mapped.cost_lines, strict=True)]
        return [pb.EncounterDischarged(
            encounter_id=encounter_id, patient_id=patient_id, hospital_id=hospital_id,
            patient_class=original.patient_class, department=department, admitted_at=_ts(original.admitted_at),
            discharged_at=_ts(original.discharged_at), length_of_stay_days=length_of_stay_days(original),
            diagnoses=[pb.Diagnosis(code=_coded(m.code, o.code), principal=o.principal)
                       for o, m in zip(original.diagnoses, mapped.diagnoses, strict=True)],
            procedures=[pb.Procedure(code=_coded(m.code, o.code), performed_at=_ts(o.performed_at))
                        for o, m in zip(original.procedures, mapped.procedures, strict=True)],
            cost_lines=lines, total_cost_fen=sum(c.amount_fen for c in lines))]
    return []


def recent_discharges(items: Iterable[tuple[str, EncounterRecord, EncounterRecord]], *, patient_id: str,
                      limit: int) -> list[pb.EncounterDischarged]:
    """The `limit` most recent discharged encounters (hospital, as sent, as mapped), newest first, one per
    encounter, as the EncounterDischarged events they published — under `patient_id` (the merge survivor)."""
    latest: dict[str, tuple[str, EncounterRecord, EncounterRecord]] = {}
    for hospital_id, original, mapped in items:
        if original.kind is not EncounterKind.DISCHARGED or original.discharged_at is None:
            continue
        key = f"{hospital_id}/{original.visit_number}"
        seen = latest.get(key)
        if seen is None or seen[1].discharged_at is None or original.discharged_at > seen[1].discharged_at:
            latest[key] = (hospital_id, original, mapped)
    ordered = sorted(latest.items(), key=lambda kv: (kv[1][1].discharged_at, kv[0]), reverse=True)
    out: list[pb.EncounterDischarged] = []
    for _, (hospital_id, original, mapped) in ordered[:limit]:
        out += [e for e in _encounter(original, mapped, patient_id, hospital_id)
                if isinstance(e, pb.EncounterDischarged)]
    return out
