"""Unit of work: one database transaction holding the state change and its outbox rows."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from google.protobuf.message import Message
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from alliance_messaging import OutgoingEvent, add_to_outbox, event_from_proto
from alliance_telemetry import current_traceparent


class EventSink:
    """Collects events raised during a use case and writes them to the outbox on flush."""

    def __init__(self, outbox: Table, source: str, topic_prefix: str = "") -> None:
        self._outbox = outbox
        self._source = source
        self._topic_prefix = topic_prefix
        self._pending: list[OutgoingEvent] = []

    def publish(self, topic: str, key: str, message: Message, subject: str | None = None) -> None:
        """Record an event for `topic`, keyed (ordered) by aggregate id `key`."""
        event = event_from_proto(message, source=self._source, subject=subject or key,
                                 traceparent=current_traceparent())
        self._pending.append(OutgoingEvent(topic=self._topic_prefix + topic, key=key, event=event))

    def discard(self) -> None:
        """Forget the events collected so far (the use case decided not to change anything)."""
        self._pending = []

    async def flush(self, conn: AsyncConnection) -> int:
        """Write the collected events in the caller's transaction."""
        pending, self._pending = self._pending, []
        return await add_to_outbox(conn, self._outbox, pending)


class UnitOfWork:
    """`async with uow:` opens a transaction; `commit()` writes outbox rows and commits together."""

    def __init__(self, engine: AsyncEngine, outbox: Table, source: str,
                 on_commit: Callable[[], None] | None = None, topic_prefix: str = "") -> None:
        self._engine = engine
        self._outbox = outbox
        self._source = source
        self._on_commit = on_commit
        self._topic_prefix = topic_prefix
        self._conn: AsyncConnection | None = None
        self.events = EventSink(outbox, source, topic_prefix)

    @property
    def conn(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._conn

    async def __aenter__(self) -> UnitOfWork:
        self._conn = await self._engine.connect()
        await self._conn.begin()
        self.events = EventSink(self._outbox, self._source, self._topic_prefix)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()

    def publish(self, topic: str, key: str, message: Message, subject: str | None = None) -> None:
        self.events.publish(topic, key, message, subject)

    async def commit(self) -> None:
        """Commit state and events atomically; a rollback publishes nothing."""
        await self.events.flush(self.conn)
        await self.conn.commit()
        if self._on_commit is not None:
            self._on_commit()
