"""The clinical part of a patient summary (the referral handoff): the most recent discharges, across hospitals."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import DateTime, cast, select
from sqlalchemy.ext.asyncio import AsyncConnection

from alliance.data_exchange.v1 import clinical_pb2 as pb

from ..adapters import code_maps
from ..adapters.clinical_events import recent_discharges
from ..adapters.orm import clinical_records
from ..domain.clinical import EncounterKind, EncounterRecord
from ..domain.code_mapping import local_codes, map_record
from ..domain.serialization import record_from_json

RECENT_ENCOUNTERS = 5


async def recent_encounters(conn: AsyncConnection, patient_ids: Sequence[str], *, patient_id: str,
                            limit: int = RECENT_ENCOUNTERS) -> list[pb.EncounterDischarged]:
    """The patient's last `limit` published discharges (HL7 v2 or FHIR, any hospital, any merged-in id),
    newest first, as EncounterDischarged events with codes mapped as they are now, under `patient_id`.

    Held discharges (codes not mapped yet) are left out: they have not been published.
    """
    discharged_at = cast(clinical_records.c.body["record"]["discharged_at"].astext, DateTime(timezone=True))
    rows = (await conn.execute(
        select(clinical_records.c.hospital_id, clinical_records.c.body)
        .where(clinical_records.c.patient_id.in_(list(patient_ids)), clinical_records.c.kind == "encounter",
               clinical_records.c.status == "published",
               clinical_records.c.body["record"]["kind"].astext == EncounterKind.DISCHARGED.value)
        .order_by(discharged_at.desc().nulls_last(), clinical_records.c.record_id)
        .limit(limit))).all()
    by_hospital: dict[str, list[EncounterRecord]] = {}
    for row in rows:
        record = record_from_json(row.body)
        if isinstance(record, EncounterRecord):
            by_hospital.setdefault(row.hospital_id, []).append(record)
    items = []
    for hospital_id, records in by_hospital.items():
        lookup = await code_maps.lookup_for(conn, hospital_id, (c for r in records for c in local_codes(r)))
        for record in records:
            mapped, _ = map_record(record, lookup)
            if isinstance(mapped, EncounterRecord):
                items.append((hospital_id, record, mapped))
    return recent_discharges(items, patient_id=patient_id, limit=limit)
