"""HL7 v2 records readable over FHIR: when a record is published, its FHIR resources are written in the same
transaction (ids derived from the record, version bumped on change, stale ones removed).

Only published records are exposed: a held record (unmapped codes) has no FHIR resource until it is
re-published; a record that goes back to held (a resent message with a new unmapped code) leaves the last
published version in place, as the event stream does. Resources that arrived as FHIR are stored by the
FHIR endpoint itself and are not derived again.

Every HL7 v2 message with a PID also writes the hospital's Patient of that MRN (held or not: the patient is
not coded data), and the derived resources reference it by server id (`subject.reference`). When the MRN's
Patient came first by FHIR, that Patient is refreshed instead of a second one being derived (patient.py).
"""

from __future__ import annotations

import logging

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from ..adapters import code_maps, fhir_patients, fhir_store
from ..adapters.orm import clinical_records
from ..domain.clinical import EncounterRecord, Record, ResultReport
from ..domain.code_mapping import local_codes, map_record
from ..domain.mpi import IdentifierProtector
from ..domain.serialization import record_from_json
from ..fhir import derived

SOURCE = "hl7v2"
log = logging.getLogger(__name__)


async def publish_patient(conn: AsyncConnection, protector: IdentifierProtector | None, record: Record, *,
                          hospital_id: str, patient_id: str) -> str:
    """Create or refresh the hospital's Patient from a message's PID; returns the Patient's server id."""
    return await fhir_patients.save_from_hl7(conn, protector, record.patient, hospital_id=hospital_id,
                                             patient_id=patient_id)


async def publish_as_fhir(conn: AsyncConnection, *, record_id: str, record: Record, mapped: Record,
                          hospital_id: str, patient_id: str, patient: str | None = None) -> None:
    """Write (or update) the FHIR resources of one just-published HL7 v2 record.

    `patient` is the Patient's server id; without it, the MRN's Patient is looked up (made if missing).
    """
    if not isinstance(record, ResultReport | EncounterRecord):
        return
    if patient is None:
        patient = await publish_patient(conn, None, record, hospital_id=hospital_id, patient_id=patient_id)
    match record, mapped:
        case ResultReport(), ResultReport():
            key = record_id
            await _lock(conn, key)
            items = derived.result_resources(record, mapped, hospital_id=hospital_id, record_key=key, patient=patient)
        case EncounterRecord(), EncounterRecord():
            key = derived.visit_key(hospital_id, record.visit_number)
            await _lock(conn, key)
            stages = [(record, mapped), *await _rest_of_visit(conn, hospital_id, record.visit_number, record_id)]
            items = [derived.visit_encounter(stages, hospital_id=hospital_id, patient=patient)]
        case _:
            return
    meta = derived.meta(hospital_id)
    for item in items:
        if await fhir_store.save_derived(conn, item, hospital_id=hospital_id, patient_id=patient_id,
                                         meta=meta) is None:
            log.warning("derived FHIR resource not written: its id is held by another resource",
                        extra={"resource_type": item.resource_type, "resource_id": item.id})
    await fhir_store.drop_derived(conn, key, {(i.resource_type, i.id) for i in items})


async def _lock(conn: AsyncConnection, key: str) -> None:
    """Serialise the writers of one record's (one visit's) resources, so none is built from a stale read."""
    await conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"fhir|{key}"})


async def _rest_of_visit(conn: AsyncConnection, hospital_id: str, visit_number: str,
                         record_id: str) -> list[tuple[EncounterRecord, EncounterRecord]]:
    """The visit's other published HL7 v2 encounter records, as sent and as mapped now."""
    rows = (await conn.execute(select(clinical_records.c.body).where(
        clinical_records.c.hospital_id == hospital_id, clinical_records.c.kind == "encounter",
        clinical_records.c.status == "published", clinical_records.c.source == SOURCE,
        clinical_records.c.record_id != record_id,
        clinical_records.c.body["record"]["visit_number"].astext == visit_number))).all()
    others = [r for r in (record_from_json(row.body) for row in rows) if isinstance(r, EncounterRecord)]
    if not others:
        return []
    lookup = await code_maps.lookup_for(conn, hospital_id, (c for r in others for c in local_codes(r)))
    mapped = [(other, map_record(other, lookup)[0]) for other in others]
    return [(other, done) for other, done in mapped if isinstance(done, EncounterRecord)]
