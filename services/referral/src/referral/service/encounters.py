"""Discharged stays from data-exchange: the eligible cases and the siphoning signal's input."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from alliance.data_exchange.v1 import clinical_pb2 as pb
from alliance_messaging import CloudEvent, Handler, event_type

from ..adapters.orm import encounters


async def on_encounter_discharged(conn: AsyncConnection, event: CloudEvent) -> None:
    """Keep the stay's principal diagnosis; stays without one cannot be judged and are skipped."""
    e = event.data_as(pb.EncounterDischarged)
    principal = next((d.code.code for d in e.diagnoses if d.principal), None)
    if not (principal and e.encounter_id and e.HasField("discharged_at")):
        return
    await conn.execute(insert(encounters).values(
        encounter_id=e.encounter_id, patient_id=e.patient_id, hospital_id=e.hospital_id, diagnosis_code=principal,
        discharged_at=e.discharged_at.ToDatetime(tzinfo=UTC)).on_conflict_do_nothing())


def handlers() -> dict[str, Handler]:
    return {event_type(pb.EncounterDischarged): on_encounter_discharged}
