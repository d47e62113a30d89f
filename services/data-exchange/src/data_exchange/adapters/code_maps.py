"""Per-hospital code maps and the unmapped-code report, on SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.clinical import Code
from ..domain.code_mapping import CodeKind, Lookup, MapEntry, Unmapped
from .orm import code_maps, unmapped_codes


async def lookup_for(conn: AsyncConnection, hospital_id: str, wanted: Iterable[tuple[CodeKind, Code]]) -> Lookup:
    """One query for every code a batch of records needs; returns a pure lookup function."""
    keys = {(kind.value, code.code) for kind, code in wanted}
    found: dict[tuple[str, str], Code] = {}
    if keys:
        rows = await conn.execute(
            select(code_maps.c.kind, code_maps.c.local_code, code_maps.c.alliance_code, code_maps.c.display)
            .where(code_maps.c.hospital_id == hospital_id,
                   tuple_(code_maps.c.kind, code_maps.c.local_code).in_(sorted(keys))))
        for r in rows:
            found[(r.kind, r.local_code)] = Code(r.alliance_code, r.kind, r.display)
    return lambda kind, local: found.get((kind.value, local))


async def note_unmapped(conn: AsyncConnection, hospital_id: str, unmapped: Iterable[Unmapped]) -> None:
    rows = list({(u.kind.value, u.code.code): {"hospital_id": hospital_id, "kind": u.kind.value,
                                                 "local_code": u.code.code, "display": u.code.display[:200]}
                 for u in unmapped}.values())      # one row per key: ON CONFLICT cannot touch a row twice
    if not rows:
        return
    stmt = insert(unmapped_codes).values(rows)
    await conn.execute(stmt.on_conflict_do_update(
        index_elements=[unmapped_codes.c.hospital_id, unmapped_codes.c.kind, unmapped_codes.c.local_code],
        set_={"occurrences": unmapped_codes.c.occurrences + 1, "last_seen": func.now()}))


async def save_entries(conn: AsyncConnection, hospital_id: str, entries: list[MapEntry]) -> None:
    """Insert or replace map entries, and drop them from the unmapped report."""
    if not entries:
        return
    stmt = insert(code_maps).values([
        {"hospital_id": hospital_id, "kind": e.kind.value, "local_code": e.local_code,
         "alliance_code": e.alliance_code, "display": e.display} for e in entries])
    await conn.execute(stmt.on_conflict_do_update(
        index_elements=[code_maps.c.hospital_id, code_maps.c.kind, code_maps.c.local_code],
        set_={"alliance_code": stmt.excluded.alliance_code, "display": stmt.excluded.display,
              "updated_at": func.now()}))
    await conn.execute(unmapped_codes.delete().where(
        unmapped_codes.c.hospital_id == hospital_id,
        tuple_(unmapped_codes.c.kind, unmapped_codes.c.local_code).in_(
            sorted({(e.kind.value, e.local_code) for e in entries}))))


async def list_entries(conn: AsyncConnection, hospital_id: str, kind: CodeKind | None = None) -> list[MapEntry]:
    stmt = select(code_maps).where(code_maps.c.hospital_id == hospital_id).order_by(
        code_maps.c.kind, code_maps.c.local_code)
    if kind:
        stmt = stmt.where(code_maps.c.kind == kind.value)
    return [MapEntry(CodeKind(r.kind), r.local_code, r.alliance_code, r.display) for r in await conn.execute(stmt)]


async def list_unmapped(conn: AsyncConnection, hospital_id: str | None = None) -> list[dict]:
    stmt = select(unmapped_codes).order_by(unmapped_codes.c.hospital_id, unmapped_codes.c.occurrences.desc())
    if hospital_id:
        stmt = stmt.where(unmapped_codes.c.hospital_id == hospital_id)
    return [dict(r._mapping) for r in await conn.execute(stmt)]
