"""HTTP API of referral."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from alliance_service import Runtime
from alliance_service.read_models import read_model_router

from ..adapters.orm import member_hospitals


class MemberHospital(BaseModel):
    """This service's copy of a member hospital (the fields it uses)."""

    hospital_id: str
    name: str
    level: str
    region_code: str
    specialties: list[str]
    total_beds: int
    active: bool
    version: int


def router(runtime: Runtime) -> APIRouter:
    return read_model_router(runtime.engine, member_hospitals, MemberHospital, prefix="/v1/member-hospitals",
                             key="hospital_id", noun="hospital", tags=["member hospitals (read model)"])
