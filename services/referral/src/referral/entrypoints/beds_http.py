"""Bed status: each hospital publishes available and total beds per specialty; everyone reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from alliance.referral.v1 import referral_pb2 as pb
from alliance_auth import Principal, Roles
from alliance_auth.fastapi import CurrentPrincipal, require_roles
from alliance_messaging import proto_time
from alliance_service import Runtime, not_found

from ..adapters.orm import bed_status, member_hospitals

TOPIC = "alliance.referral.v1"
STALE_AFTER = timedelta(hours=6)


class BedsIn(BaseModel):
    available: int = Field(ge=0, le=100_000)
    total: int = Field(ge=0, le=100_000)

    @model_validator(mode="after")
    def _available_within_total(self) -> BedsIn:
        if self.available > self.total:
            raise ValueError("available beds cannot exceed total beds")
        return self


class BedsOut(BedsIn):
    hospital_id: str
    specialty: str
    reported_at: datetime
    stale: bool
    occupancy: float | None


def _out(row, now: datetime) -> BedsOut:
    return BedsOut(hospital_id=row.hospital_id, specialty=row.specialty, available=row.available, total=row.total,
                   reported_at=row.reported_at, stale=now - row.reported_at > STALE_AFTER,
                   occupancy=round(1 - row.available / row.total, 4) if row.total else None)


Reporter = Annotated[Principal, Depends(require_roles(Roles.HOSPITAL, Roles.ALLIANCE_ADMIN, scoped=True))]


def router(runtime: Runtime) -> APIRouter:
    r = APIRouter(prefix="/v1/beds", tags=["bed status"])

    @r.put("/{hospital_id}/{specialty}", response_model=BedsOut,
           summary="Publish a hospital's beds for a specialty (that hospital or an administrator)")
    async def put_beds(hospital_id: str, specialty: str, body: BedsIn, principal: Reporter) -> BedsOut:
        if not (principal.has_role(Roles.ALLIANCE_ADMIN) or principal.hospital_id == hospital_id):
            raise not_found(f"hospital {hospital_id}")
        now = datetime.now(UTC)
        uow = runtime.uow()
        async with uow:
            member = (await uow.conn.execute(select(member_hospitals.c.hospital_id).where(
                member_hospitals.c.hospital_id == hospital_id, member_hospitals.c.active))).first()
            if member is None:
                raise not_found(f"hospital {hospital_id}")
            stmt = insert(bed_status).values(hospital_id=hospital_id, specialty=specialty, available=body.available,
                                             total=body.total, reported_at=now)
            await uow.conn.execute(stmt.on_conflict_do_update(
                index_elements=[bed_status.c.hospital_id, bed_status.c.specialty],
                set_={"available": body.available, "total": body.total, "reported_at": now}))
            uow.publish(TOPIC, hospital_id, pb.BedsUpdated(hospital_id=hospital_id, specialty=specialty,
                                                          available=body.available, total=body.total,
                                                          reported_at=proto_time(now)))
            await uow.commit()
        return BedsOut(hospital_id=hospital_id, specialty=specialty, available=body.available, total=body.total,
                       reported_at=now, stale=False,
                       occupancy=round(1 - body.available / body.total, 4) if body.total else None)

    @r.get("", response_model=list[BedsOut], summary="Bed status of the alliance (stale reports flagged)")
    async def list_beds(_: CurrentPrincipal, specialty: str | None = None) -> list[BedsOut]:
        stmt = select(bed_status).order_by(bed_status.c.hospital_id, bed_status.c.specialty)
        if specialty:
            stmt = stmt.where(bed_status.c.specialty == specialty)
        now = datetime.now(UTC)
        async with runtime.engine.connect() as conn:
            return [_out(row, now) for row in await conn.execute(stmt)]

    return r
