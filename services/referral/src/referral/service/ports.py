"""What the referral use cases need from outside the service, as Protocols (a fake in tests, gRPC in production)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Caller:
    """Who asks: the hospital from the verified token, and the token itself (peers authorise it again)."""

    hospital_id: str
    token: str


class NoCareRelationship(Exception):
    """The patient is unknown, or the caller has no care relationship with them (the two are not told apart)."""


class CareCheckUnavailable(Exception):
    """The care relationship could not be checked now (peer unreachable or not configured): retry later."""


class CareRelationships(Protocol):
    """Resolves a patient the caller has a care relationship with: its own MRN, or an active referral grant."""

    async def by_patient_id(self, caller: Caller, patient_id: str) -> str:
        """The surviving alliance id, or NoCareRelationship / CareCheckUnavailable."""
        ...

    async def by_mrn(self, caller: Caller, mrn: str) -> str:
        """The alliance id of the caller's own MRN, or NoCareRelationship / CareCheckUnavailable."""
        ...
