"""The outbox relay against the real broker and database, including the crashes it must survive."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter

from google.protobuf.struct_pb2 import Struct
from sqlalchemy import select

from alliance_messaging import (
    OutboxRelay,
    OutgoingEvent,
    add_to_outbox,
    event_from_proto,
    idempotent_producer,
)
from alliance_testing.helpers import read_all

from .conftest import tables


def _events(topic: str, n: int, key_prefix: str = "agg") -> list[OutgoingEvent]:
    out = []
    for i in range(n):
        s = Struct()
        s.update({"n": i})
        out.append(OutgoingEvent(topic, f"{key_prefix}-{i % 7}", event_from_proto(s, source="/test", subject=None)))
    return out


def _relay(engine, bootstrap: str, **kw) -> OutboxRelay:
    return OutboxRelay(engine, tables.outbox, lambda: idempotent_producer(bootstrap, "test-relay"), **kw)


def _ids(records) -> list[str]:
    return [json.loads(r.value)["id"] for r in records]


async def test_committed_events_left_by_a_crashed_relay_are_published_exactly_once_after_restart(
        engine, kafka_bootstrap, unique):
    topic = unique("relay-crash")
    events = _events(topic, 25)
    async with engine.begin() as conn:
        await add_to_outbox(conn, tables.outbox, events)

    # The first relay cannot reach a broker (it "dies" before publishing anything).
    dead = OutboxRelay(engine, tables.outbox, lambda: idempotent_producer("127.0.0.1:1", "dead"))
    stop = asyncio.Event()
    task = asyncio.create_task(dead.run(stop))
    await asyncio.sleep(1.0)
    stop.set()
    dead.notify()
    await asyncio.wait_for(task, 30)
    assert dead.published == 0

    relay = _relay(engine, kafka_bootstrap)
    while await relay.publish_pending():
        pass
    records = await read_all(kafka_bootstrap, topic, expected=25)
    assert Counter(_ids(records)) == Counter(e.event.id for e in events)
    assert await relay.pending() == 0
    async with engine.connect() as conn:
        attempts = (await conn.execute(select(tables.outbox.c.attempts, tables.outbox.c.last_error))).all()
    assert all(a.attempts >= 1 and a.last_error is None for a in attempts)


async def test_rolled_back_transaction_publishes_nothing(engine, kafka_bootstrap, unique):
    topic = unique("rollback")
    async with engine.connect() as conn:
        await conn.begin()
        await add_to_outbox(conn, tables.outbox, _events(topic, 3))
        await conn.rollback()
    kept = _events(topic, 1)
    async with engine.begin() as conn:
        await add_to_outbox(conn, tables.outbox, kept)
    relay = _relay(engine, kafka_bootstrap)
    assert await relay.publish_pending() == 1
    records = await read_all(kafka_bootstrap, topic, expected=1, timeout=5)
    assert _ids(records) == [kept[0].event.id]


class _CrashAfterSend(OutboxRelay):
    """Dies after Kafka acknowledged the batch but before the rows were marked published."""

    async def _mark_published(self, conn, ids):
        raise RuntimeError("process killed")


async def test_a_crash_between_send_and_mark_republishes_with_the_same_event_ids(engine, kafka_bootstrap, unique):
    topic = unique("resend")
    events = _events(topic, 5)
    async with engine.begin() as conn:
        await add_to_outbox(conn, tables.outbox, events)
    crashing = _CrashAfterSend(engine, tables.outbox, lambda: idempotent_producer(kafka_bootstrap, "c"))
    try:
        await crashing.publish_pending()
    except RuntimeError:
        pass
    relay = _relay(engine, kafka_bootstrap)
    assert await relay.publish_pending() == 5
    records = await read_all(kafka_bootstrap, topic, expected=10)
    # At-least-once: every event twice, same ids, so idempotent consumers apply each once.
    assert Counter(_ids(records)) == Counter({e.event.id: 2 for e in events})


async def test_events_keep_their_order_per_key_and_carry_key_and_headers(engine, kafka_bootstrap, unique):
    topic = unique("order")
    events = _events(topic, 60)
    async with engine.begin() as conn:
        await add_to_outbox(conn, tables.outbox, events[:30])
    async with engine.begin() as conn:
        await add_to_outbox(conn, tables.outbox, events[30:])
    relay = _relay(engine, kafka_bootstrap, batch_size=7)
    while await relay.publish_pending():
        pass
    records = await read_all(kafka_bootstrap, topic, expected=60)
    by_key: dict[bytes, list[int]] = {}
    for r in records:
        by_key.setdefault(r.key, []).append(json.loads(r.value)["data"]["n"])
        assert dict(r.headers)["content-type"].startswith(b"application/cloudevents+json")
    assert len(records) == 60
    for ns in by_key.values():
        assert ns == sorted(ns)


async def test_a_broker_restart_during_publishing_loses_no_event(engine, kafka_bootstrap, unique, infra_control):
    topic = unique("broker-restart")
    relay = _relay(engine, kafka_bootstrap, max_backoff=1.0)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    written: list[str] = []

    async def write(batches: int) -> None:
        for _ in range(batches):
            events = _events(topic, 50, key_prefix=uuid.uuid4().hex[:6])
            async with engine.begin() as conn:
                await add_to_outbox(conn, tables.outbox, events)
            written.extend(e.event.id for e in events)
            relay.notify()
            await asyncio.sleep(0.05)

    await write(10)
    await infra_control.kill_kafka()
    await write(10)                       # committed while the broker is down
    await infra_control.start_kafka()
    await write(10)
    for _ in range(600):
        if await relay.pending() == 0:
            break
        await asyncio.sleep(0.1)
    stop.set()
    relay.notify()
    await asyncio.wait_for(task, 30)
    assert await relay.pending() == 0
    records = await read_all(kafka_bootstrap, topic, expected=len(written), timeout=60)
    received = set(_ids(records))
    assert len(written) == 1500
    assert received == set(written)       # count in = count out; duplicates allowed, losses not
