"""Write events to the outbox inside the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from .envelope import CloudEvent


@dataclass(frozen=True)
class OutgoingEvent:
    """An event bound for a topic, keyed by its aggregate id."""

    topic: str
    key: str
    event: CloudEvent


async def add_to_outbox(conn: AsyncConnection, outbox: Table, events: Iterable[OutgoingEvent]) -> int:
    """Insert events as outbox rows; the caller commits them with its state change."""
    rows = [
        {
            "event_id": uuid.UUID(e.event.id),
            "topic": e.topic,
            "message_key": e.key,
            "event_type": e.event.type,
            "payload": e.event.to_json_bytes(),
            "traceparent": e.event.traceparent,
        }
        for e in events
    ]
    if rows:
        await conn.execute(insert(outbox), rows)
    return len(rows)
