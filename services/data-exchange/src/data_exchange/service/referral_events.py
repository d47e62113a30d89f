"""Referrals open a patient's data to the hospital that accepted them, for that episode only (domain §5: 'and
those referred to it'): granted on acceptance for a bounded time, shortened on completion, revoked on
cancellation; every change audited. Redelivered events are no-ops (the consumer's inbox, and the grant key)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from alliance.referral.v1 import referral_pb2 as pb
from alliance_auth import Principal
from alliance_messaging import CloudEvent, Handler, PoisonMessage, event_type

from ..adapters import grants
from ..adapters.audit import record_access

REFERRAL_TOPIC = "alliance.referral.v1"
REFERRAL_STREAM = Principal(subject="alliance.referral.v1", hospital_id=None, roles=frozenset())


def _occurred(message, event: CloudEvent) -> datetime:
    return message.occurred_at.ToDatetime(tzinfo=UTC) if message.HasField("occurred_at") else event.time


async def _audit(conn: AsyncConnection, action: str, referral_id: str, rows, purpose: str) -> None:
    for hospital_id, patient_id in rows:
        await record_access(conn, REFERRAL_STREAM, action=action, resource=f"PatientAccessGrant/{referral_id}",
                            patient_id=patient_id, purpose=f"{purpose} (hospital {hospital_id})", outcome="applied")


def handlers(duration: timedelta = timedelta(days=30), grace: timedelta = timedelta(days=3)) -> dict[str, Handler]:
    """The referral events that open, shorten and end access, with the configured bounds."""

    async def on_referral_accepted(conn: AsyncConnection, event: CloudEvent) -> None:
        accepted = event.data_as(pb.ReferralAccepted)
        ref = accepted.referral
        if not (accepted.receiving_hospital and ref.patient_id and ref.referral_id):
            raise PoisonMessage("ReferralAccepted without receiving hospital, patient or referral")
        at = _occurred(accepted, event)
        if await grants.grant(conn, hospital_id=accepted.receiving_hospital, patient_id=ref.patient_id,
                              referral_id=ref.referral_id, origin_hospital=ref.origin_hospital or None,
                              granted_at=at, expires_at=at + duration):
            await _audit(conn, "grant", ref.referral_id, [(accepted.receiving_hospital, ref.patient_id)],
                         f"referral accepted; expires {(at + duration).isoformat()}")

    async def on_referral_completed(conn: AsyncConnection, event: CloudEvent) -> None:
        completed = event.data_as(pb.ReferralCompleted)
        until = _occurred(completed, event) + grace
        rows = await grants.shorten(conn, completed.referral.referral_id, until)
        await _audit(conn, "shorten", completed.referral.referral_id, rows,
                     f"referral completed; expires {until.isoformat()}")

    async def on_referral_cancelled(conn: AsyncConnection, event: CloudEvent) -> None:
        cancelled = event.data_as(pb.ReferralCancelled)
        rows = await grants.revoke(conn, cancelled.referral.referral_id, by=f"referral:{cancelled.by or 'origin'}",
                                   reason=f"referral cancelled: {cancelled.reason}", at=_occurred(cancelled, event))
        await _audit(conn, "revoke", cancelled.referral.referral_id, rows, "referral cancelled")

    return {event_type(pb.ReferralAccepted): on_referral_accepted,
            event_type(pb.ReferralCompleted): on_referral_completed,
            event_type(pb.ReferralCancelled): on_referral_cancelled}
