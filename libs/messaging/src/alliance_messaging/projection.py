"""Version-guarded upsert: the mechanism behind read models that must survive out-of-order replays."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection


async def upsert_if_newer(conn: AsyncConnection, table: Table, row: dict[str, Any], *,
                          key: str, version: str = "version") -> bool:
    """Insert the row, or overwrite it only when its version is higher; True if anything changed."""
    stmt = insert(table).values(**row)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c[key]],
        set_={name: stmt.excluded[name] for name in row if name != key},
        where=table.c[version] < stmt.excluded[version],
    )
    result = await conn.execute(stmt)
    return result.rowcount > 0
