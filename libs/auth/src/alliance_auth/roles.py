"""Well-known alliance roles (plain strings, so the set stays open) and the declaration of who may call what."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final


class Roles:
    """Role names carried in the `roles` claim."""

    HOSPITAL: Final = "hospital"
    ALLIANCE_ADMIN: Final = "alliance_admin"
    QC_CENTER: Final = "qc_center"
    REGULATOR: Final = "regulator"
    SUPPLIER: Final = "supplier"
    KNOWN: Final = frozenset({HOSPITAL, ALLIANCE_ADMIN, QC_CENTER, REGULATOR, SUPPLIER})
    CROSS_HOSPITAL: Final = frozenset({ALLIANCE_ADMIN, REGULATOR})


DECLARATION_ATTR: Final = "alliance_roles"
NO_ROLE: Final = "token carries no role"    # a token without any role is a defective token (401), not a caller
ROLE_ORDER: Final[tuple[str, ...]] = (
    Roles.HOSPITAL, Roles.ALLIANCE_ADMIN, Roles.QC_CENTER, Roles.REGULATOR, Roles.SUPPLIER)
ALLOWED: Final = "allowed"
OWN_HOSPITAL_ONLY: Final = "allowed, own hospital only"
SCOPED: Final = "allowed, scoped"     # any role; what each sees is scoped in the query (own hospital, own bids)
FORBIDDEN: Final = "403"


@dataclass(frozen=True, slots=True)
class RoleDeclaration:
    """Who may call an operation: `roles` (None: any authenticated role) and whether hospitals see only their own."""

    roles: frozenset[str] | None
    scoped: bool = False

    def allows(self, role: str) -> bool:
        """Return True if a caller holding `role` passes the role check."""
        return self.roles is None or role in self.roles

    def answer(self, role: str) -> str:
        """The authorisation table's cell for `role`: allowed, allowed for its own hospital only, or 403."""
        if not self.allows(role):
            return FORBIDDEN
        if self.scoped and self.roles is None:
            return SCOPED
        return OWN_HOSPITAL_ONLY if self.scoped and role == Roles.HOSPITAL else ALLOWED

    def describe(self) -> str:
        """A short human reading of the declaration, e.g. `hospital, alliance_admin; scoped`."""
        who = "any role" if self.roles is None else ", ".join(r for r in _ordered(self.roles))
        return f"{who}, scoped" if self.scoped else who

    def openapi(self) -> dict[str, Any]:
        """The declaration as the `x-alliance-roles` OpenAPI extension."""
        return {"roles": list(_ordered(self.roles)) if self.roles is not None else "any",
                "scoped": self.scoped, "answers": {role: self.answer(role) for role in ROLE_ORDER}}


ANY_ROLE_SCOPED: Final = RoleDeclaration(None, scoped=True)


def _ordered(roles: frozenset[str] | None) -> list[str]:
    """Roles in the table's column order, unknown ones last (sorted)."""
    roles = roles or frozenset()
    return [r for r in ROLE_ORDER if r in roles] + sorted(roles - set(ROLE_ORDER))

