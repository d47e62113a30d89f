"""Referral access grants over HTTP: who may read which referred patient, until when; revocation. Audited."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from alliance_auth import Principal, Roles
from alliance_auth.fastapi import require_roles
from alliance_service import Problem, Runtime, not_found

from ..adapters import grants
from ..adapters.audit import record_access
from ..service import access_grants
from ..service.access_grants import RESOURCE


class Grant(BaseModel):
    """A referral's grant: the receiving hospital may read the patient's data while it is active."""

    referral_id: str
    hospital_id: str = Field(description="the receiving hospital, which holds the grant")
    patient_id: str
    origin_hospital: str | None = Field(description="the referring hospital")
    granted_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None
    status: Literal["active", "expired", "revoked"]


class RevokeIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


def _view(row) -> Grant:
    status = "active" if row.active else "revoked" if row.revoked_at else "expired"
    return Grant(referral_id=row.referral_id, hospital_id=row.hospital_id, patient_id=row.patient_id,
                 origin_hospital=row.origin_hospital, granted_at=row.granted_at, expires_at=row.expires_at,
                 revoked_at=row.revoked_at, revoked_by=row.revoked_by, revoke_reason=row.revoke_reason,
                 status=status)


Reader = Annotated[Principal, Depends(require_roles(Roles.HOSPITAL, Roles.ALLIANCE_ADMIN, Roles.REGULATOR,
                                                    scoped=True))]
Revoker = Annotated[Principal, Depends(require_roles(Roles.HOSPITAL, Roles.ALLIANCE_ADMIN, scoped=True))]


def router(runtime: Runtime) -> APIRouter:
    r = APIRouter(prefix="/v1/patient-access-grants", tags=["patient access grants"])

    @r.get("", summary="Referral access grants: a hospital's own and those on its patients (all for administrators "
                       "and regulators)", responses={403: {"description": "other roles"}})
    async def list_grants(principal: Reader,
                          patient_id: str | None = Query(None, min_length=1, max_length=64),
                          referral_id: str | None = Query(None, min_length=1, max_length=64)) -> list[Grant]:
        now = datetime.now(UTC)
        async with runtime.engine.begin() as conn:
            rows = await grants.list_grants(conn, principal, now, patient_id=patient_id, referral_id=referral_id)
            await record_access(conn, principal, action="list", resource=RESOURCE, patient_id=patient_id,
                                purpose="grant list", outcome="allowed")
        return [_view(row) for row in rows]

    @r.post("/{referral_id}/revoke", summary="Revoke a referral's grant (administrators, or the referring hospital "
                                             "holding the patient's MRN)",
            responses={403: {"description": "a role or hospital that may not revoke it"},
                       404: {"description": "no grant of this referral that the caller can see"}})
    async def revoke(referral_id: str, body: RevokeIn, principal: Revoker) -> list[Grant]:
        try:
            rows = await access_grants.revoke_grant(runtime.uow(), principal, referral_id, body.reason,
                                                    datetime.now(UTC))
        except access_grants.NotRevocable as exc:
            raise Problem(403, "forbidden", "Forbidden", "only administrators and the referring hospital holding "
                          "the patient's MRN revoke") from exc
        except access_grants.GrantNotFound as exc:
            raise not_found(f"grant {referral_id}") from exc
        return [_view(row) for row in rows]

    return r
