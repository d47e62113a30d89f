"""Idempotency-Keys bound to the request: the first use of a key records the request's hash and the resource
it created; a retry with the same hash gets that resource, the same key with another request is told apart."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from .orm import idempotency_keys


def request_hash(method: str, path: str, body: Mapping[str, Any] | None) -> str:
    """SHA-256 hex of the canonical JSON of method, path and body (keys sorted, no whitespace, UTF-8)."""
    canonical = json.dumps({"method": method.upper(), "path": path, "body": body}, sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Idempotency:
    """A request's Idempotency-Key, within its caller's scope, and the hash of the request."""

    scope: str
    key: str
    request_hash: str


@dataclass(frozen=True)
class Earlier:
    """The key was used before: for the resource named, by the same request or (same_request False) another."""

    resource_id: str
    same_request: bool


async def claim(conn: AsyncConnection, idem: Idempotency, resource_id: str, now: datetime) -> Earlier | None:
    """Record the key for this request (None: go ahead and create `resource_id`), or say what it was used for.

    A concurrent request with the same key waits on the insert until the first one's transaction ends, then
    sees its row (or, when that one rolled back, claims the key itself).
    """
    created = await conn.execute(pg_insert(idempotency_keys).values(
        scope=idem.scope, key=idem.key, request_hash=idem.request_hash, resource_id=resource_id, created_at=now)
        .on_conflict_do_nothing().returning(idempotency_keys.c.key))
    if created.first() is not None:
        return None
    row = (await conn.execute(select(idempotency_keys.c.request_hash, idempotency_keys.c.resource_id).where(
        idempotency_keys.c.scope == idem.scope, idempotency_keys.c.key == idem.key))).one()
    return Earlier(row.resource_id, row.request_hash in (None, idem.request_hash))
