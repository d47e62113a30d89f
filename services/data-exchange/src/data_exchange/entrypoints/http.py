"""HTTP API of the facility registry: translate requests to commands and domain errors to problems."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from alliance_auth import Principal, Roles
from alliance_auth.fastapi import CurrentPrincipal, require_roles
from alliance_service import Problem, Runtime, not_found

from ..adapters.repository import HospitalRepository
from ..domain.facilities import (
    AlreadyRegistered,
    Hospital,
    HospitalLevel,
    HospitalProfile,
    InvalidHospital,
    VersionMismatch,
)
from ..service import handlers

Admin = Annotated[Principal, Depends(require_roles(Roles.ALLIANCE_ADMIN))]
Configurer = Annotated[Principal, Depends(require_roles(Roles.HOSPITAL, Roles.ALLIANCE_ADMIN, scoped=True))]


class HospitalProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, examples=["省第一人民医院"])
    level: HospitalLevel
    region_code: str = Field(pattern=r"^\d{6}$", examples=["330100"])
    specialties: list[str] = Field(default_factory=list, max_length=200, examples=[["cardiology"]])
    total_beds: int = Field(ge=0, le=100_000)
    active: bool = True

    def to_domain(self) -> HospitalProfile:
        return HospitalProfile(self.name, self.level, self.region_code, tuple(self.specialties),
                               self.total_beds, self.active)


class HospitalIn(HospitalProfileIn):
    hospital_id: str = Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$", examples=["H001"])


class HospitalOut(BaseModel):
    hospital_id: str
    name: str
    level: HospitalLevel
    region_code: str
    specialties: list[str]
    total_beds: int
    active: bool
    version: int

    @classmethod
    def of(cls, h: Hospital) -> HospitalOut:
        p = h.profile
        return cls(hospital_id=h.hospital_id, name=p.name, level=p.level, region_code=p.region_code,
                   specialties=list(p.specialties), total_beds=p.total_beds, active=p.active,
                   version=h.version)


class InterfaceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    interface_facility_codes: list[str] = Field(
        max_length=50, description="HL7 MSH-4 sending-facility codes this hospital's systems use")


class InterfaceConfigOut(InterfaceConfig):
    hospital_id: str


def _etag(h: Hospital) -> str:
    return f'"{h.version}"'


def _if_match(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip().removeprefix("W/").strip('"'))
    except ValueError as exc:
        raise Problem(400, "bad-if-match", "Bad Request", "If-Match must be a version ETag like \"3\"") from exc


def _invalid(exc: InvalidHospital) -> Problem:
    return Problem(422, "invalid-hospital", "Unprocessable Content", str(exc), field=exc.field_name)


def router(runtime: Runtime) -> APIRouter:
    r = APIRouter(prefix="/v1/hospitals", tags=["facility registry"])

    async def find(hospital_id: str) -> Hospital:
        async with runtime.engine.connect() as conn:
            hospital = await HospitalRepository(conn).get(hospital_id)
        if hospital is None:
            raise not_found(f"hospital {hospital_id}")
        return hospital

    @r.post("", status_code=201, response_model=HospitalOut, summary="Register a member hospital",
            responses={200: {"description": "identical registration repeated; nothing changed"},
                       409: {"description": "id taken by a hospital with other details"}})
    async def register(body: HospitalIn, response: Response, _: Admin) -> HospitalOut:
        cmd = handlers.RegisterHospital(body.hospital_id, body.to_domain(), datetime.now(UTC))
        try:
            hospital, created = await handlers.register_hospital(cmd, runtime.uow())
        except InvalidHospital as exc:
            raise _invalid(exc) from exc
        except AlreadyRegistered as exc:
            raise Problem(409, "already-registered", "Conflict", str(exc)) from exc
        response.status_code = 201 if created else 200
        response.headers["Location"] = f"/v1/hospitals/{hospital.hospital_id}"
        response.headers["ETag"] = _etag(hospital)
        return HospitalOut.of(hospital)

    @r.put("/{hospital_id}", response_model=HospitalOut, summary="Update a member hospital's profile",
           responses={412: {"description": "If-Match version is not current"}})
    async def update(hospital_id: str, body: HospitalProfileIn, response: Response, _: Admin,
                     if_match: Annotated[str | None, Header()] = None) -> HospitalOut:
        cmd = handlers.UpdateHospital(hospital_id, body.to_domain(), datetime.now(UTC), _if_match(if_match))
        try:
            hospital = await handlers.update_hospital(cmd, runtime.uow())
        except handlers.HospitalNotFound as exc:
            raise not_found(f"hospital {hospital_id}") from exc
        except InvalidHospital as exc:
            raise _invalid(exc) from exc
        except VersionMismatch as exc:
            raise Problem(412, "version-mismatch", "Precondition Failed", str(exc),
                          current_version=exc.actual) from exc
        response.headers["ETag"] = _etag(hospital)
        return HospitalOut.of(hospital)

    @r.get("", response_model=list[HospitalOut], summary="The alliance's member hospitals")
    async def list_hospitals(_: CurrentPrincipal, level: HospitalLevel | None = None,
                             region_code: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None
                             ) -> list[HospitalOut]:
        async with runtime.engine.connect() as conn:
            found = await HospitalRepository(conn).list(level, region_code)
        return [HospitalOut.of(h) for h in found]

    @r.get("/{hospital_id}", response_model=HospitalOut, summary="One member hospital")
    async def get_hospital(hospital_id: str, response: Response, _: CurrentPrincipal) -> HospitalOut:
        hospital = await find(hospital_id)
        response.headers["ETag"] = _etag(hospital)
        return HospitalOut.of(hospital)

    @r.get("/{hospital_id}/interface", response_model=InterfaceConfigOut,
           summary="A hospital's private interface configuration (that hospital and administrators only)")
    async def get_interface(hospital_id: str, principal: Configurer) -> InterfaceConfigOut:
        if not _may_configure(principal, hospital_id):
            raise not_found(f"hospital {hospital_id}")
        hospital = await find(hospital_id)
        return InterfaceConfigOut(hospital_id=hospital_id,
                                  interface_facility_codes=list(hospital.interface_facility_codes))

    @r.put("/{hospital_id}/interface", response_model=InterfaceConfigOut,
           summary="Set the HL7 sending-facility codes of a hospital (that hospital or administrators)")
    async def put_interface(hospital_id: str, body: InterfaceConfig,
                            principal: Configurer) -> InterfaceConfigOut:
        if not _may_configure(principal, hospital_id):
            raise not_found(f"hospital {hospital_id}")
        try:
            hospital = await handlers.set_interface_codes(
                handlers.SetInterfaceCodes(hospital_id, tuple(body.interface_facility_codes)), runtime.uow())
        except handlers.HospitalNotFound as exc:
            raise not_found(f"hospital {hospital_id}") from exc
        except InvalidHospital as exc:
            raise _invalid(exc) from exc
        return InterfaceConfigOut(hospital_id=hospital_id,
                                  interface_facility_codes=list(hospital.interface_facility_codes))

    return r


def _may_configure(principal: Principal, hospital_id: str) -> bool:
    """Administrators, or the hospital itself; another hospital gets a 404, not a 403."""
    return principal.has_role(Roles.ALLIANCE_ADMIN) or principal.hospital_id == hospital_id
