"""Administrators' patient-index API: the review queue, merge and unmerge (each publishes an event)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select

from alliance_auth import Principal, Roles
from alliance_auth.fastapi import require_roles
from alliance_service import Problem, Runtime, not_found

from ..adapters.orm import match_reviews
from ..domain.mpi import MergeRefused, UnmergeRefused
from ..service import patient_admin

Admin = Annotated[Principal, Depends(require_roles(Roles.ALLIANCE_ADMIN))]


class MergeRequest(BaseModel):
    absorbed_patient_id: str = Field(min_length=1, max_length=64)


def router(runtime: Runtime) -> APIRouter:
    r = APIRouter(prefix="/v1", tags=["master patient index"])

    @r.get("/patient-reviews", summary="Open match reviews: possible duplicates the matcher would not decide")
    async def reviews(_: Admin) -> list[dict]:
        async with runtime.engine.connect() as conn:
            rows = await conn.execute(select(match_reviews).where(match_reviews.c.status == "open")
                                      .order_by(match_reviews.c.created_at))
            return [{"review_id": str(row.review_id), "hospital_id": row.hospital_id, "mrn": row.mrn,
                     "provisional_patient_id": row.provisional_patient_id, "candidates": row.candidates,
                     "reasons": row.reasons, "created_at": row.created_at.isoformat()} for row in rows]

    async def _act(action, survivor_id: str, body: MergeRequest, principal: Principal) -> dict:
        try:
            await action(runtime.uow(), survivor_id, body.absorbed_patient_id, principal.subject, datetime.now(UTC))
        except patient_admin.PatientNotFound as exc:
            raise not_found(f"patient {exc.args[0]}") from exc
        except (MergeRefused, UnmergeRefused) as exc:
            raise Problem(409, exc.code, "Conflict", str(exc)) from exc
        return {"survivor_patient_id": survivor_id, "absorbed_patient_id": body.absorbed_patient_id}

    @r.post("/patients/{survivor_id}/merge", summary="Merge a duplicate into this patient (PatientsMerged)")
    async def merge(survivor_id: str, body: MergeRequest, principal: Admin) -> dict:
        return await _act(patient_admin.merge_patients, survivor_id, body, principal)

    @r.post("/patients/{survivor_id}/unmerge", summary="Undo a merge exactly (PatientsUnmerged)")
    async def unmerge(survivor_id: str, body: MergeRequest, principal: Admin) -> dict:
        return await _act(patient_admin.unmerge_patients, survivor_id, body, principal)

    return r
