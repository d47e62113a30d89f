"""Facility registry: member hospitals of the alliance. Pure domain, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from enum import StrEnum

HOSPITAL_ID = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")
REGION_CODE = re.compile(r"^\d{6}$")
SPECIALTY = re.compile(r"^[a-z][a-z0-9_-]{1,47}$")
FACILITY_CODE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class HospitalLevel(StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"
    TERTIARY = "tertiary"


class RegistryError(Exception):
    """Base of facility-registry rule violations."""


class InvalidHospital(RegistryError):
    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field_name = field_name
        self.reason = reason


class AlreadyRegistered(RegistryError):
    """A different hospital already holds this id."""


class VersionMismatch(RegistryError):
    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"expected version {expected}, current is {actual}")
        self.expected, self.actual = expected, actual


@dataclass(frozen=True)
class HospitalProfile:
    """The public, administrator-maintained description of a member hospital."""

    name: str
    level: HospitalLevel
    region_code: str
    specialties: tuple[str, ...] = ()
    total_beds: int = 0
    active: bool = True

    def validated(self) -> HospitalProfile:
        name = self.name.strip()
        if not name or len(name) > 200:
            raise InvalidHospital("name", "must be 1-200 characters")
        if any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise InvalidHospital("name", "must not contain control characters")
        if not REGION_CODE.match(self.region_code):
            raise InvalidHospital("region_code", "must be a 6-digit administrative division code")
        for s in self.specialties:
            if not SPECIALTY.match(s):
                raise InvalidHospital("specialties", f"{s!r} is not a specialty code (lowercase, a-z0-9_-)")
        if not 0 <= self.total_beds <= 100_000:
            raise InvalidHospital("total_beds", "must be between 0 and 100000")
        return replace(self, name=name, specialties=tuple(sorted(set(self.specialties))))


@dataclass(frozen=True)
class HospitalRegistered:
    hospital: Hospital
    at: datetime


@dataclass(frozen=True)
class HospitalUpdated:
    hospital: Hospital
    changed_fields: tuple[str, ...]
    at: datetime


Event = HospitalRegistered | HospitalUpdated


@dataclass
class Hospital:
    """A member hospital; `version` increases by one on every public change."""

    hospital_id: str
    profile: HospitalProfile
    version: int = 1
    interface_facility_codes: tuple[str, ...] = ()
    events: list[Event] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def register(cls, hospital_id: str, profile: HospitalProfile, now: datetime) -> Hospital:
        if not HOSPITAL_ID.match(hospital_id):
            raise InvalidHospital("hospital_id", "must be 2-32 characters of A-Z, 0-9 and '-'")
        hospital = cls(hospital_id=hospital_id, profile=profile.validated())
        hospital.events.append(HospitalRegistered(hospital.snapshot(), now))
        return hospital

    def matches(self, profile: HospitalProfile) -> bool:
        """True when registering `profile` again would change nothing (an idempotent repeat)."""
        return self.profile == profile.validated()

    def update(self, profile: HospitalProfile, now: datetime, expected_version: int | None = None) -> bool:
        """Apply a new profile; False (and no event) when nothing changed."""
        if expected_version is not None and expected_version != self.version:
            raise VersionMismatch(expected_version, self.version)
        new = profile.validated()
        changed = tuple(f.name for f in fields(HospitalProfile)
                        if getattr(new, f.name) != getattr(self.profile, f.name))
        if not changed:
            return False
        self.profile = new
        self.version += 1
        self.events.append(HospitalUpdated(self.snapshot(), changed, now))
        return True

    def set_interface_codes(self, codes: tuple[str, ...]) -> None:
        """Set the HL7 sending-facility codes (MSH-4) this hospital's systems use; private, no event."""
        for code in codes:
            if not FACILITY_CODE.match(code):
                raise InvalidHospital("interface_facility_codes", f"{code!r} is not a valid facility code")
        self.interface_facility_codes = tuple(sorted(set(codes)))

    def snapshot(self) -> Hospital:
        return Hospital(self.hospital_id, self.profile, self.version, self.interface_facility_codes)
