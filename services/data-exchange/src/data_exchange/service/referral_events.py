"""Referrals open a patient's data to the hospital that accepted them (domain §5: 'and those referred to it')."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from alliance.referral.v1 import referral_pb2 as pb
from alliance_messaging import CloudEvent, Handler, PoisonMessage, event_type

from ..adapters.orm import patient_access_grants

REFERRAL_TOPIC = "alliance.referral.v1"


async def on_referral_accepted(conn: AsyncConnection, event: CloudEvent) -> None:
    accepted = event.data_as(pb.ReferralAccepted)
    if not (accepted.receiving_hospital and accepted.referral.patient_id):
        raise PoisonMessage("ReferralAccepted without receiving hospital or patient")
    await conn.execute(insert(patient_access_grants).values(
        hospital_id=accepted.receiving_hospital, patient_id=accepted.referral.patient_id,
        referral_id=accepted.referral.referral_id).on_conflict_do_nothing())


def handlers() -> dict[str, Handler]:
    return {event_type(pb.ReferralAccepted): on_referral_accepted}
