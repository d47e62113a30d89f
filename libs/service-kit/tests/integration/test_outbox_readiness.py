"""Readiness names a relay that stopped moving the outbox backlog, and is ready again once it drains."""

from __future__ import annotations

import asyncio

import pytest
from google.protobuf.struct_pb2 import Struct
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from alliance_messaging import (
    MessagingTables,
    OutboxRelay,
    OutgoingEvent,
    add_to_outbox,
    event_from_proto,
    idempotent_producer,
)
from alliance_service.health import outbox_check

metadata = MetaData()
tables = MessagingTables(metadata)


async def test_outbox_check_fails_while_the_backlog_does_not_move_and_passes_once_drained(
        databases, kafka_bootstrap, unique):
    engine = create_async_engine(await databases.create("outbox-ready"), pool_size=2)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            s = Struct()
            s.update({"n": 1})
            await add_to_outbox(conn, tables.outbox, [
                OutgoingEvent(unique("ready"), "k", event_from_proto(s, source="/test", subject=None))])

        idle = OutboxRelay(engine, tables.outbox, lambda: idempotent_producer(kafka_bootstrap, "ready"))
        await outbox_check(idle)()                  # a process without a relay running says nothing

        # a relay whose broker never answers: its passes fail, the backlog waits
        stuck = OutboxRelay(engine, tables.outbox, lambda: idempotent_producer("127.0.0.1:1", "stuck"),
                            publish_timeout=2)
        stop = asyncio.Event()
        task = asyncio.create_task(stuck.run(stop))
        await asyncio.sleep(1.5)
        with pytest.raises(RuntimeError, match="oldest unsent row"):
            await outbox_check(stuck, stalled_after=1.0)()
        stop.set()
        stuck.notify()
        await asyncio.wait_for(task, 30)
        with pytest.raises(RuntimeError, match="not running"):
            await outbox_check(stuck)()

        relay = OutboxRelay(engine, tables.outbox, lambda: idempotent_producer(kafka_bootstrap, "ready"))
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        for _ in range(100):
            if relay.published:
                break
            await asyncio.sleep(0.1)
        await outbox_check(relay, stalled_after=1.0)()
        stop.set()
        relay.notify()
        await asyncio.wait_for(task, 30)
    finally:
        await engine.dispose()
