"""Normalised records in: identify the patient, map codes, check quality, store, publish — one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from google.protobuf.message import Message
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from alliance_service import EventSink

from ..adapters import code_maps
from ..adapters.clinical_events import events_for
from ..adapters.events import TOPIC
from ..adapters.orm import clinical_records
from ..domain import quality
from ..domain.clinical import (
    EncounterRecord,
    Issue,
    OrderRecord,
    PatientIdentity,
    PatientMerge,
    PatientRecord,
    Record,
    ResultReport,
)
from ..domain.code_mapping import CodeKind, local_codes, map_record
from ..domain.mpi import IdentifierProtector
from ..domain.serialization import record_from_json, record_to_json
from .hl7_fhir import SOURCE as HL7V2
from .hl7_fhir import publish_as_fhir, publish_patient
from .patient_admin import merge_mrns


class PatientIndex(Protocol):
    """The master patient index as the ingest pipeline needs it."""

    async def resolve(self, conn: AsyncConnection, identity: PatientIdentity, hospital_id: str,
                      now: datetime) -> tuple[str, list[Message]]:
        """The alliance patient id for this hospital's patient, and any events the linking raised."""
        ...

    async def survivor(self, conn: AsyncConnection, patient_id: str) -> str | None:
        """The patient `patient_id` is (through merges) now."""
        ...

    @property
    def protector(self) -> IdentifierProtector:
        """Hashes and masks identifiers (the national ID of a Patient resource is stored masked)."""
        ...


@dataclass(frozen=True)
class IngestOutcome:
    accepted: bool
    issues: list[Issue]
    record_ids: list[str]
    held: int = 0
    patient_ids: tuple[str, ...] = ()


def record_id(record: Record, hospital_id: str) -> str:
    match record:
        case ResultReport():
            return f"{hospital_id}/result/{record.report_id}"
        case EncounterRecord():
            return f"{hospital_id}/encounter/{record.visit_number}/{record.kind.value}"
        case OrderRecord():
            return f"{hospital_id}/order/{record.placer_order_id}/{record.control}"
        case PatientRecord():
            return f"{hospital_id}/patient/{record.patient.mrn}"
    raise TypeError(type(record))


async def ingest(conn: AsyncConnection, sink: EventSink, records: Sequence[Record], *, hospital_id: str,
                 source: str, patients: PatientIndex, now: datetime) -> IngestOutcome:
    """Validate everything first; write nothing unless every record passes (no half-written input)."""
    merges = [r for r in records if isinstance(r, PatientMerge)]
    if merges:                                   # ADT^A40: the patient index, not clinical data
        found = [i for m in merges if (i := await merge_mrns(conn, sink, m, hospital_id=hospital_id, now=now,
                                                              survivor_of=patients.survivor)) is not None]
        return IngestOutcome(not any(i.severity == "error" for i in found), found, [])
    lookup = await code_maps.lookup_for(conn, hospital_id, (c for r in records for c in local_codes(r)))
    mapped = [map_record(r, lookup) for r in records]
    issues: list[Issue] = []
    for record, (done, _) in zip(records, mapped, strict=True):
        categories = {}
        if isinstance(record, EncounterRecord) and isinstance(done, EncounterRecord):
            categories = {o.item.code: m.item.code for o, m in zip(record.cost_lines, done.cost_lines, strict=True)
                          if m.item.system == CodeKind.CHARGE.value}
        issues += quality.check(record, now, categories)
    if any(i.severity == "error" for i in issues):
        return IngestOutcome(False, issues, [])
    ids, held, patient_ids = [], 0, []
    for record, (done, unmapped) in zip(records, mapped, strict=True):
        patient_id, link_events = await patients.resolve(conn, record.patient, hospital_id, now)
        for event in link_events:
            sink.publish(TOPIC, patient_id, event)
        rid = record_id(record, hospital_id)
        ids.append(rid)
        patient_ids.append(patient_id)
        if unmapped:
            held += 1
            await code_maps.note_unmapped(conn, hospital_id, unmapped)
            issues += [Issue("warning", "unmapped-code", u.kind.value,
                             f"{u.kind.value} code {u.code.code!r} has no alliance mapping for {hospital_id}; "
                             "the data is kept and will be published once it is mapped",
                             {"kind": u.kind.value, "code": u.code.code}) for u in unmapped]
        else:
            for event in events_for(record, done, patient_id=patient_id, hospital_id=hospital_id, source=source):
                sink.publish(TOPIC, patient_id, event)
        await _store(conn, rid, record, hospital_id, patient_id, source, unmapped)
        if source == HL7V2:
            patient = await publish_patient(conn, patients.protector, record, hospital_id=hospital_id,
                                            patient_id=patient_id)
            if not unmapped:
                await publish_as_fhir(conn, record_id=rid, record=record, mapped=done, hospital_id=hospital_id,
                                      patient_id=patient_id, patient=patient)
    return IngestOutcome(True, issues, ids, held, tuple(patient_ids))


def _minimised(record: Record) -> Record:
    """Keep only the MRN of the patient on stored records: identity lives in the patient index."""
    return replace(record, patient=PatientIdentity(mrn=record.patient.mrn))


async def _store(conn: AsyncConnection, rid: str, record: Record, hospital_id: str, patient_id: str, source: str,
                 unmapped: list) -> None:
    body = record_to_json(_minimised(record))
    values = {"record_id": rid, "hospital_id": hospital_id, "kind": body["kind"], "patient_id": patient_id,
              "source": source, "status": "held" if unmapped else "published", "body": body,
              "unmapped": [{"kind": u.kind.value, "code": u.code.code} for u in unmapped]}
    stmt = insert(clinical_records).values(values)
    await conn.execute(stmt.on_conflict_do_update(
        index_elements=[clinical_records.c.record_id],
        set_={k: stmt.excluded[k] for k in ("patient_id", "status", "body", "unmapped", "source")}))


async def republish_held(conn: AsyncConnection, sink: EventSink, hospital_id: str) -> int:
    """Map held records again (after new map entries) and publish those now complete."""
    rows = (await conn.execute(
        select(clinical_records).where(clinical_records.c.hospital_id == hospital_id,
                                       clinical_records.c.status == "held").with_for_update())).all()
    if not rows:
        return 0
    records = {r.record_id: (r, record_from_json(r.body)) for r in rows}
    lookup = await code_maps.lookup_for(conn, hospital_id, (c for _, rec in records.values() for c in local_codes(rec)))
    published = 0
    for rid, (row, record) in records.items():
        done, unmapped = map_record(record, lookup)
        if unmapped:
            continue
        for event in events_for(record, done, patient_id=row.patient_id, hospital_id=hospital_id, source=row.source):
            sink.publish(TOPIC, row.patient_id, event)
        await conn.execute(update(clinical_records).where(clinical_records.c.record_id == rid)
                           .values(status="published", unmapped=[]))
        if row.source == HL7V2:
            await publish_as_fhir(conn, record_id=rid, record=record, mapped=done, hospital_id=hospital_id,
                                  patient_id=row.patient_id)
        published += 1
    return published
