"""Well-known alliance roles; roles stay plain strings so the set remains open."""

from __future__ import annotations

from typing import Final


class Roles:
    """Role names carried in the `roles` claim."""

    HOSPITAL: Final = "hospital"
    ALLIANCE_ADMIN: Final = "alliance_admin"
    QC_CENTER: Final = "qc_center"
    REGULATOR: Final = "regulator"
    SUPPLIER: Final = "supplier"
    KNOWN: Final = frozenset({HOSPITAL, ALLIANCE_ADMIN, QC_CENTER, REGULATOR, SUPPLIER})
    CROSS_HOSPITAL: Final = frozenset({ALLIANCE_ADMIN, REGULATOR})
