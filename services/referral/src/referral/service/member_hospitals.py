"""Keeps the member-hospital read model current from the facility registry's events."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from alliance.data_exchange.v1 import facilities_pb2 as pb
from alliance_messaging import CloudEvent, Handler, PoisonMessage, event_type, upsert_if_newer

from ..adapters.orm import member_hospitals

REGISTRY_TOPIC = "alliance.data_exchange.v1"


def level_name(level: int) -> str:
    """HOSPITAL_LEVEL_TERTIARY -> "tertiary"."""
    return pb.HospitalLevel.Name(level).removeprefix("HOSPITAL_LEVEL_").lower()


async def on_hospital_changed(conn: AsyncConnection, event: CloudEvent) -> None:
    """Apply a registration or update unless a newer version is already here (replays are harmless)."""
    message_type = pb.HospitalRegistered if event.type == event_type(pb.HospitalRegistered) else pb.HospitalUpdated
    h = event.data_as(message_type).hospital
    if not h.hospital_id or h.version < 1:
        raise PoisonMessage("hospital event without hospital_id or version")
    await upsert_if_newer(conn, member_hospitals, {
        "hospital_id": h.hospital_id,
        "name": h.name,
        "level": level_name(h.level),
        "region_code": h.region_code,
        "specialties": list(h.specialties),
        "total_beds": h.total_beds,
        "active": h.active,
        "version": h.version,
    }, key="hospital_id")


def handlers() -> dict[str, Handler]:
    return {event_type(pb.HospitalRegistered): on_hospital_changed,
            event_type(pb.HospitalUpdated): on_hospital_changed}
