"""Revoking a referral's access grant: who may, what is audited, and the event that tells the other services."""

from __future__ import annotations

from datetime import datetime

from alliance.data_exchange.v1 import clinical_pb2 as pb
from alliance_auth import Principal
from alliance_messaging import proto_time
from alliance_service import UnitOfWork

from ..adapters import grants
from ..adapters.audit import record_access
from ..adapters.events import TOPIC

RESOURCE = "PatientAccessGrant"


class NotRevocable(Exception):
    """The caller may see the grant but may not revoke it (only administrators and the referring hospital)."""


class GrantNotFound(Exception):
    """No grant of this referral that the caller can see."""


async def revoke_grant(uow: UnitOfWork, principal: Principal, referral_id: str, reason: str,
                       now: datetime) -> list:
    """Revoke the referral's grants (administrators, or the referring hospital holding the patient's MRN).

    Every attempt is audited, refused ones too; each revocation publishes PatientAccessRevoked (keyed by patient)
    in the same transaction. Revoking twice changes nothing and answers the grants as they stand.
    """
    async with uow:
        if not await grants.may_revoke(uow.conn, principal, referral_id):
            visible = await grants.list_grants(uow.conn, principal, now, referral_id=referral_id)
            for row in visible or [None]:
                await record_access(uow.conn, principal, action="revoke", resource=f"{RESOURCE}/{referral_id}",
                                    patient_id=row.patient_id if row else None, purpose=reason,
                                    outcome="denied-or-unknown")
            await uow.commit()
            raise NotRevocable(referral_id) if visible else GrantNotFound(referral_id)
        for hospital_id, patient_id in await grants.revoke(uow.conn, referral_id, by=principal.subject,
                                                           reason=reason, at=now):
            await record_access(uow.conn, principal, action="revoke", resource=f"{RESOURCE}/{referral_id}",
                                patient_id=patient_id, purpose=f"{reason} (hospital {hospital_id})",
                                outcome="applied")
            uow.publish(TOPIC, patient_id, pb.PatientAccessRevoked(
                referral_id=referral_id, hospital_id=hospital_id, patient_id=patient_id, by=principal.subject,
                occurred_at=proto_time(now)))
        rows = await grants.list_grants(uow.conn, principal, now, referral_id=referral_id)
        await uow.commit()
    return rows
