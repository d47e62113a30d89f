"""Hospital repository on SQLAlchemy Core."""

from __future__ import annotations

from sqlalchemy import Row, any_, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.facilities import Hospital, HospitalLevel, HospitalProfile
from .orm import hospitals


def _to_domain(row: Row) -> Hospital:
    profile = HospitalProfile(name=row.name, level=HospitalLevel(row.level), region_code=row.region_code,
                              specialties=tuple(row.specialties), total_beds=row.total_beds, active=row.active)
    return Hospital(row.hospital_id, profile, row.version, tuple(row.interface_facility_codes))


def _values(h: Hospital) -> dict:
    p = h.profile
    return {"name": p.name, "level": p.level.value, "region_code": p.region_code,
            "specialties": list(p.specialties), "total_beds": p.total_beds, "active": p.active,
            "interface_facility_codes": list(h.interface_facility_codes), "version": h.version}


class HospitalRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, hospital_id: str, *, for_update: bool = False) -> Hospital | None:
        stmt = select(hospitals).where(hospitals.c.hospital_id == hospital_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = (await self._conn.execute(stmt)).first()
        return _to_domain(row) if row else None

    async def add(self, h: Hospital) -> None:
        await self._conn.execute(insert(hospitals).values(hospital_id=h.hospital_id, **_values(h)))

    async def save(self, h: Hospital) -> None:
        await self._conn.execute(update(hospitals).where(hospitals.c.hospital_id == h.hospital_id)
                                 .values(**_values(h), updated_at=func.now()))

    async def list(self, level: HospitalLevel | None = None, region_code: str | None = None) -> list[Hospital]:
        stmt = select(hospitals).order_by(hospitals.c.hospital_id)
        if level:
            stmt = stmt.where(hospitals.c.level == level.value)
        if region_code:
            stmt = stmt.where(hospitals.c.region_code == region_code)
        return [_to_domain(r) for r in (await self._conn.execute(stmt)).all()]


async def hospital_for_facility(conn: AsyncConnection, facility: str) -> str | None:
    """The active member hospital a sending-facility code (MSH-4 / FHIR source) belongs to."""
    row = (await conn.execute(
        select(hospitals.c.hospital_id).where(
            hospitals.c.active,
            (hospitals.c.hospital_id == facility) | (literal(facility) == any_(hospitals.c.interface_facility_codes))))).first()
    return row.hospital_id if row else None
