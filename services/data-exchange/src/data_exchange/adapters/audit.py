"""Append-only audit of reads of patient data: who, what, when, why, and whether it was allowed."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from alliance_auth import Principal

from .orm import audit_log


async def record_access(conn: AsyncConnection, principal: Principal, *, action: str, resource: str,
                        patient_id: str | None, purpose: str, outcome: str) -> None:
    await conn.execute(insert(audit_log).values(
        subject=principal.subject, hospital_id=principal.hospital_id, roles=sorted(principal.roles),
        action=action, resource=resource, patient_id=patient_id, purpose=purpose[:500] or "unspecified",
        outcome=outcome))
