"""Referral access grants: one row per accepted referral, active until it expires or is revoked.

`active` is the one definition of an active grant; every check of patient access (ResolvePatient,
GetPatientSummary, FHIR reads and searches, the grant list) uses it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from alliance_auth import Principal, Roles

from .orm import patient_access_grants as g
from .orm import patient_links


def active(now: datetime) -> Any:
    """SQL condition: the grant is neither revoked nor expired at `now`."""
    return and_(g.c.revoked_at.is_(None), g.c.expires_at > now)


def granted_patients(hospital_id: str | None, now: datetime) -> Any:
    """SELECT of the patients `hospital_id` holds an active grant for (none for a token naming no hospital)."""
    if not hospital_id:
        return select(g.c.patient_id).where(literal(False))
    return select(g.c.patient_id).where(g.c.hospital_id == hospital_id, active(now))


async def has_active_grant(conn: AsyncConnection, hospital_id: str | None, patient_id: str, now: datetime) -> bool:
    return (await conn.execute(granted_patients(hospital_id, now).where(g.c.patient_id == patient_id)
                               .limit(1))).first() is not None


async def held_any(conn: AsyncConnection, hospital_id: str | None, patient_id: str) -> bool:
    """Whether the hospital ever held a grant on the patient (to tell it that its access ended)."""
    if not hospital_id:
        return False
    return (await conn.execute(select(g.c.referral_id).where(g.c.hospital_id == hospital_id,
                                                             g.c.patient_id == patient_id).limit(1))).first() \
        is not None


async def grant(conn: AsyncConnection, *, hospital_id: str, patient_id: str, referral_id: str,
                origin_hospital: str | None, granted_at: datetime, expires_at: datetime) -> bool:
    """Record the grant of one referral; False if it was already recorded."""
    row = (await conn.execute(insert(g).values(
        hospital_id=hospital_id, patient_id=patient_id, referral_id=referral_id, origin_hospital=origin_hospital,
        granted_at=granted_at, expires_at=expires_at).on_conflict_do_nothing().returning(g.c.referral_id))).first()
    return row is not None


async def shorten(conn: AsyncConnection, referral_id: str, until: datetime) -> list:
    """The episode ended: the referral's grants expire at `until` at the latest (never extended)."""
    return (await conn.execute(update(g).where(g.c.referral_id == referral_id, g.c.revoked_at.is_(None),
                                               g.c.expires_at > until)
                               .values(expires_at=until).returning(g.c.hospital_id, g.c.patient_id))).all()


async def revoke(conn: AsyncConnection, referral_id: str, *, by: str, reason: str, at: datetime) -> list:
    """Revoke the referral's grants that are not revoked yet; the rows revoked."""
    return (await conn.execute(update(g).where(g.c.referral_id == referral_id, g.c.revoked_at.is_(None))
                               .values(revoked_at=at, revoked_by=by, revoke_reason=reason[:500])
                               .returning(g.c.hospital_id, g.c.patient_id))).all()


def _holds_mrn(hospital_id: str) -> Any:
    return g.c.patient_id.in_(select(patient_links.c.patient_id).where(patient_links.c.hospital_id == hospital_id))


def listed_for(principal: Principal) -> Any:
    """SQL condition: administrators and regulators see every grant; a hospital those it holds and those on
    patients it holds an MRN for; anyone else nothing."""
    if principal.has_role(Roles.ALLIANCE_ADMIN, Roles.REGULATOR):
        return literal(True)
    if not (principal.has_role(Roles.HOSPITAL) and principal.hospital_id):
        return literal(False)
    return or_(g.c.hospital_id == principal.hospital_id, _holds_mrn(principal.hospital_id))


async def list_grants(conn: AsyncConnection, principal: Principal, now: datetime, *, patient_id: str | None = None,
                      referral_id: str | None = None, limit: int = 500) -> list:
    stmt = select(g, active(now).label("active")).where(listed_for(principal))
    if patient_id:
        stmt = stmt.where(g.c.patient_id == patient_id)
    if referral_id:
        stmt = stmt.where(g.c.referral_id == referral_id)
    return (await conn.execute(stmt.order_by(g.c.granted_at.desc()).limit(limit))).all()


async def may_revoke(conn: AsyncConnection, principal: Principal, referral_id: str) -> list:
    """The referral's grants this principal may revoke: all for administrators; for a hospital, those of
    referrals it sent on patients it holds an MRN for."""
    stmt = select(g).where(g.c.referral_id == referral_id)
    if not principal.has_role(Roles.ALLIANCE_ADMIN):
        if not (principal.has_role(Roles.HOSPITAL) and principal.hospital_id):
            return []
        stmt = stmt.where(g.c.origin_hospital == principal.hospital_id, _holds_mrn(principal.hospital_id))
    return (await conn.execute(stmt)).all()

