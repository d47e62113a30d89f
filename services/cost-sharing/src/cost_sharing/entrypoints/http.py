"""HTTP API of cost-sharing."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from alliance_auth.fastapi import CurrentPrincipal
from alliance_service import Runtime, not_found

from ..adapters.orm import member_hospitals


class MemberHospital(BaseModel):
    """This service's copy of a member hospital (the fields it uses)."""

    hospital_id: str
    name: str
    level: str
    region_code: str
    active: bool
    version: int


def router(runtime: Runtime) -> APIRouter:
    r = APIRouter(prefix="/v1/member-hospitals", tags=["member hospitals (read model)"])
    columns = [c for c in member_hospitals.c if c.name != "updated_at"]

    @r.get("", response_model=list[MemberHospital], summary="Member hospitals as this service knows them")
    async def list_member_hospitals(_: CurrentPrincipal) -> list[MemberHospital]:
        async with runtime.engine.connect() as conn:
            rows = (await conn.execute(select(*columns).order_by(member_hospitals.c.hospital_id))).all()
        return [MemberHospital.model_validate(r._mapping) for r in rows]

    @r.get("/{hospital_id}", response_model=MemberHospital, summary="One member hospital")
    async def get_member_hospital(hospital_id: str, _: CurrentPrincipal) -> MemberHospital:
        async with runtime.engine.connect() as conn:
            row = (await conn.execute(select(*columns).where(member_hospitals.c.hospital_id == hospital_id))).first()
        if row is None:
            raise not_found(f"hospital {hospital_id}")
        return MemberHospital.model_validate(row._mapping)

    return r
