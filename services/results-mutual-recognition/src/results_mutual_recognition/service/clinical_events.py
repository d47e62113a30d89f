"""Keeps the result index and the patient relations current from data-exchange's clinical events."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from alliance.data_exchange.v1 import clinical_pb2 as pb
from alliance.referral.v1 import referral_pb2 as referral_pb
from alliance_messaging import CloudEvent, Handler, PoisonMessage, event_type

from ..adapters.orm import patient_relations, result_index


async def on_result_recorded(conn: AsyncConnection, event: CloudEvent) -> None:
    """Index a result (a corrected result replaces the line it corrects: same result id)."""
    r = event.data_as(pb.ResultRecorded)
    if not (r.result_id and r.patient_id and r.item.code and r.HasField("effective_at")):
        raise PoisonMessage("ResultRecorded without result id, patient, item or time")
    row = {"result_id": r.result_id, "patient_id": r.patient_id, "item_code": r.item.code,
           "hospital_id": r.hospital_id, "lab_id": r.lab_id or r.hospital_id, "value": r.value, "unit": r.unit,
           "effective_at": r.effective_at.ToDatetime(tzinfo=UTC),
           "report_ref": r.report_ref, "status": r.status or "F"}
    stmt = insert(result_index).values(row)
    await conn.execute(stmt.on_conflict_do_update(index_elements=[result_index.c.result_id],
                                                  set_={k: stmt.excluded[k] for k in row if k != "result_id"}))


async def on_patient_linked(conn: AsyncConnection, event: CloudEvent) -> None:
    """A hospital has this patient under an MRN: it is treating them and may ask about their results."""
    link = event.data_as(pb.PatientLinked)
    await conn.execute(insert(patient_relations).values(hospital_id=link.hospital_id, patient_id=link.patient_id)
                       .on_conflict_do_nothing())


async def on_patients_merged(conn: AsyncConnection, event: CloudEvent) -> None:
    """Results and relations of the absorbed patient now belong to the survivor."""
    m = event.data_as(pb.PatientsMerged)
    await conn.execute(update(result_index).where(result_index.c.patient_id == m.absorbed_patient_id)
                       .values(patient_id=m.survivor_patient_id))
    for hospital_row in (await conn.execute(patient_relations.select().where(
            patient_relations.c.patient_id == m.absorbed_patient_id))).all():
        await conn.execute(insert(patient_relations).values(hospital_id=hospital_row.hospital_id,
                                                            patient_id=m.survivor_patient_id)
                           .on_conflict_do_nothing())


async def on_referral_accepted(conn: AsyncConnection, event: CloudEvent) -> None:
    """A hospital that accepted a referral may ask about the referred patient's results."""
    accepted = event.data_as(referral_pb.ReferralAccepted)
    if not (accepted.receiving_hospital and accepted.referral.patient_id):
        raise PoisonMessage("ReferralAccepted without receiving hospital or patient")
    await conn.execute(insert(patient_relations).values(hospital_id=accepted.receiving_hospital,
                                                        patient_id=accepted.referral.patient_id)
                       .on_conflict_do_nothing())


REFERRAL_TOPIC = "alliance.referral.v1"


def handlers() -> dict[str, Handler]:
    return {event_type(pb.ResultRecorded): on_result_recorded, event_type(pb.PatientLinked): on_patient_linked,
            event_type(pb.PatientsMerged): on_patients_merged,
            event_type(referral_pb.ReferralAccepted): on_referral_accepted}
