"""The authenticated caller as seen by a service."""

from __future__ import annotations

from dataclasses import dataclass

from alliance_auth.roles import Roles


@dataclass(frozen=True, slots=True)
class Principal:
    """Subject, home hospital and roles taken from a verified token."""

    subject: str
    hospital_id: str | None
    roles: frozenset[str]

    def has_role(self, *roles: str) -> bool:
        """Return True if the principal holds any of `roles`."""
        return not self.roles.isdisjoint(roles)

    def can_see_hospital(self, hospital_id: str | None) -> bool:
        """Return True for cross-hospital roles, else only for the principal's own hospital."""
        if self.has_role(*Roles.CROSS_HOSPITAL):
            return True
        return self.hospital_id is not None and self.hospital_id == hospital_id
