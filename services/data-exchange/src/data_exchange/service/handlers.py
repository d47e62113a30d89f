"""Facility-registry use cases: load, call one domain method, commit with the events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alliance_service import UnitOfWork

from ..adapters.events import TOPIC, to_message
from ..adapters.repository import HospitalRepository
from ..domain.facilities import AlreadyRegistered, Hospital, HospitalProfile


class HospitalNotFound(Exception):
    pass


@dataclass(frozen=True)
class RegisterHospital:
    hospital_id: str
    profile: HospitalProfile
    at: datetime


@dataclass(frozen=True)
class UpdateHospital:
    hospital_id: str
    profile: HospitalProfile
    at: datetime
    expected_version: int | None = None


@dataclass(frozen=True)
class SetInterfaceCodes:
    hospital_id: str
    codes: tuple[str, ...]


def _publish(uow: UnitOfWork, hospital: Hospital) -> None:
    for event in hospital.events:
        uow.publish(TOPIC, hospital.hospital_id, to_message(event))
    hospital.events.clear()


async def register_hospital(cmd: RegisterHospital, uow: UnitOfWork) -> tuple[Hospital, bool]:
    """Register a member hospital; repeating an identical registration is a no-op (returns created=False)."""
    async with uow:
        repo = HospitalRepository(uow.conn)
        existing = await repo.get(cmd.hospital_id, for_update=True)
        if existing is not None:
            if existing.matches(cmd.profile):
                return existing, False
            raise AlreadyRegistered(f"hospital {cmd.hospital_id} is already registered with other details")
        hospital = Hospital.register(cmd.hospital_id, cmd.profile, cmd.at)
        await repo.add(hospital)
        _publish(uow, hospital)
        await uow.commit()
        return hospital, True


async def update_hospital(cmd: UpdateHospital, uow: UnitOfWork) -> Hospital:
    """Change a hospital's public profile; publishes HospitalUpdated only when something changed."""
    async with uow:
        repo = HospitalRepository(uow.conn)
        hospital = await repo.get(cmd.hospital_id, for_update=True)
        if hospital is None:
            raise HospitalNotFound(cmd.hospital_id)
        if hospital.update(cmd.profile, cmd.at, cmd.expected_version):
            await repo.save(hospital)
            _publish(uow, hospital)
            await uow.commit()
        return hospital


async def set_interface_codes(cmd: SetInterfaceCodes, uow: UnitOfWork) -> Hospital:
    async with uow:
        repo = HospitalRepository(uow.conn)
        hospital = await repo.get(cmd.hospital_id, for_update=True)
        if hospital is None:
            raise HospitalNotFound(cmd.hospital_id)
        hospital.set_interface_codes(cmd.codes)
        await repo.save(hospital)
        await uow.commit()
        return hospital
