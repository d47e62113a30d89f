"""Domain events → protobuf contracts on the data-exchange stream."""

from __future__ import annotations

from alliance.data_exchange.v1 import facilities_pb2 as pb
from alliance_messaging import proto_time

from ..domain.facilities import Event, Hospital, HospitalLevel, HospitalRegistered

TOPIC = "alliance.data_exchange.v1"

LEVELS = {
    HospitalLevel.PRIMARY: pb.HOSPITAL_LEVEL_PRIMARY,
    HospitalLevel.SECONDARY: pb.HOSPITAL_LEVEL_SECONDARY,
    HospitalLevel.TERTIARY: pb.HOSPITAL_LEVEL_TERTIARY,
}
LEVELS_BACK = {v: k for k, v in LEVELS.items()}


def hospital_message(h: Hospital) -> pb.Hospital:
    p = h.profile
    return pb.Hospital(hospital_id=h.hospital_id, name=p.name, level=LEVELS[p.level],
                       region_code=p.region_code, specialties=list(p.specialties),
                       total_beds=p.total_beds, active=p.active, version=h.version)


def to_message(event: Event) -> pb.HospitalRegistered | pb.HospitalUpdated:
    at = proto_time(event.at)
    if isinstance(event, HospitalRegistered):
        return pb.HospitalRegistered(hospital=hospital_message(event.hospital), occurred_at=at)
    return pb.HospitalUpdated(hospital=hospital_message(event.hospital), occurred_at=at,
                              changed_fields=list(event.changed_fields))
