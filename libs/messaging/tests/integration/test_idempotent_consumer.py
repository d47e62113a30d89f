"""The idempotent consumer against the real broker and database: redelivery, replays, poison, crashes."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from google.protobuf.struct_pb2 import Struct
from sqlalchemy import func, select, text

from alliance_messaging import (
    CloudEvent,
    EventConsumer,
    dlq_topic,
    ensure_topics,
    event_from_proto,
    upsert_if_newer,
)
from alliance_testing.helpers import eventually, read_all

from .conftest import items, tables

TYPE = "google.protobuf.Struct"


def _event(event_id: str | None = None, **data) -> CloudEvent:
    s = Struct()
    s.update(data)
    return event_from_proto(s, source="/test", subject=str(data.get("item")), event_id=event_id)


async def _count_applied(conn, event: CloudEvent) -> None:
    """Not idempotent on its own: a second application would be visible."""
    item = event.data["item"]
    await conn.execute(text(
        "INSERT INTO items (item_id, value, version, applied) VALUES (:i, '', 0, 1) "
        "ON CONFLICT (item_id) DO UPDATE SET applied = items.applied + 1"), {"i": item})


async def _latest_wins(conn, event: CloudEvent) -> None:
    d = event.data
    await upsert_if_newer(conn, items, {"item_id": d["item"], "value": d["value"], "version": int(d["version"]),
                                        "applied": 1}, key="item_id")


async def _fail_when_asked(conn, event: CloudEvent) -> None:
    if event.data.get("fail"):
        raise ValueError("cannot apply this event")
    await _count_applied(conn, event)


def _consumer(engine, bootstrap, group, topic, handler, cls=EventConsumer) -> EventConsumer:
    return cls(engine=engine, processed_events=tables.processed_events, bootstrap=bootstrap, group_id=group,
               topics=[topic], handlers={TYPE: handler}, max_attempts=3, backoff_initial=0.01,
               backoff_max=0.2)


async def _running(consumer: EventConsumer):
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))

    async def finish():
        stop.set()
        await asyncio.wait_for(task, 30)

    return finish


async def _processed(engine) -> dict[str, str]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(tables.processed_events.c.event_id,
                                          tables.processed_events.c.outcome))).all()
    return {str(r.event_id): r.outcome for r in rows}


@pytest.fixture
async def topic(kafka_bootstrap, unique):
    name = unique("events")
    await ensure_topics(kafka_bootstrap, [name, dlq_topic(name)], partitions=1)
    return name


class _CrashBeforeOffsetCommit(EventConsumer):
    crashes = 1

    async def _commit_offset(self, consumer, tp, offset):
        if self.crashes:
            self.crashes -= 1
            raise RuntimeError("process killed after the database commit, before the offset commit")
        await super()._commit_offset(consumer, tp, offset)


async def test_a_crash_before_the_offset_commit_redelivers_but_changes_nothing(
        engine, producer, kafka_bootstrap, topic, unique):
    events = [_event(item=f"i{i % 3}") for i in range(10)]
    for e in events:
        await producer.send_and_wait(topic, e.to_json_bytes(), key=b"k")
    consumer = _consumer(engine, kafka_bootstrap, unique("g"), topic, _count_applied, _CrashBeforeOffsetCommit)
    finish = await _running(consumer)
    await eventually(lambda: _done(consumer, lambda c: c.duplicates >= 1 and c.crashes == 0))
    await asyncio.sleep(0.5)
    await finish()
    async with engine.connect() as conn:
        total = await conn.scalar(select(func.sum(items.c.applied)))
    assert total == 10
    assert len(await _processed(engine)) == 10


async def _done(consumer, predicate):
    return predicate(consumer)


async def test_duplicates_and_out_of_order_replays_are_applied_once_and_the_newest_state_wins(
        engine, producer, kafka_bootstrap, topic, unique):
    v1, v2, v3 = (_event(item="H001", value=f"v{n}", version=n) for n in (1, 2, 3))
    duplicate_of_v2 = CloudEvent.from_json_bytes(v2.to_json_bytes())
    replay_v1, replay_v2 = _event(item="H001", value="v1", version=1), _event(item="H001", value="v2", version=2)
    for e in (v1, v2, v3, duplicate_of_v2, replay_v1, replay_v2):
        await producer.send_and_wait(topic, e.to_json_bytes(), key=b"H001")
    consumer = _consumer(engine, kafka_bootstrap, unique("g"), topic, _latest_wins)
    finish = await _running(consumer)
    await eventually(lambda: _done(consumer, lambda c: c.applied + c.duplicates == 6))
    await finish()
    async with engine.connect() as conn:
        row = (await conn.execute(select(items))).one()
    assert (row.value, row.version) == ("v3", 3)
    assert consumer.duplicates == 1
    assert set(await _processed(engine)) == {v1.id, v2.id, v3.id, replay_v1.id, replay_v2.id}


async def test_poison_messages_go_to_the_dead_letter_topic_and_the_partition_moves_on(
        engine, producer, kafka_bootstrap, topic, unique):
    failing = _event(item="bad", fail=True)
    good = [_event(item=f"ok{i}") for i in range(3)]
    await producer.send_and_wait(topic, b"{not json", key=b"k")
    await producer.send_and_wait(topic, failing.to_json_bytes(), key=b"k")
    for e in good:
        await producer.send_and_wait(topic, e.to_json_bytes(), key=b"k")
    group = unique("g")
    consumer = _consumer(engine, kafka_bootstrap, group, topic, _fail_when_asked)
    finish = await _running(consumer)
    await eventually(lambda: _done(consumer, lambda c: c.applied == 3 and c.dead_lettered == 2))
    await finish()

    dead = await read_all(kafka_bootstrap, dlq_topic(topic), expected=2, timeout=10)
    assert [r.value for r in dead] == [b"{not json", failing.to_json_bytes()]
    headers = [dict(r.headers) for r in dead]
    assert headers[0]["dlq.error.type"] == b"InvalidEnvelope"
    assert headers[1]["dlq.error.type"] == b"ValueError"
    assert headers[1]["dlq.error.message"] == b"cannot apply this event"
    assert headers[1]["dlq.original.topic"] == topic.encode()
    assert headers[1]["dlq.original.offset"] == b"1"
    assert headers[1]["dlq.consumer.group"] == group.encode()
    assert headers[1]["dlq.attempts"] == b"3"
    assert (await _processed(engine))[failing.id] == "dead_lettered"
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(items)) == 3


async def test_a_database_outage_is_retried_not_dead_lettered(
        engine, producer, kafka_bootstrap, topic, unique, infra_control):
    consumer = _consumer(engine, kafka_bootstrap, unique("g"), topic, _count_applied)
    finish = await _running(consumer)
    first = _event(item="a")
    await producer.send_and_wait(topic, first.to_json_bytes(), key=b"k")
    await eventually(lambda: _done(consumer, lambda c: c.applied == 1))
    await infra_control.stop_pg()
    later = [_event(item=f"b{i}") for i in range(5)]
    try:
        for e in later:
            await producer.send_and_wait(topic, e.to_json_bytes(), key=b"k")
        await asyncio.sleep(2)
    finally:
        await infra_control.start_pg()
    await eventually(lambda: _done(consumer, lambda c: c.applied == 6), timeout=60)
    await finish()
    assert consumer.dead_lettered == 0
    assert set(await _processed(engine)) == {first.id, *(e.id for e in later)}


def test_event_ids_are_uuids():
    assert uuid.UUID(_event(item="x").id)


async def test_a_batch_handler_applies_runs_once_and_a_failing_run_falls_back_to_one_event_at_a_time(
        engine, producer, kafka_bootstrap, topic, unique):
    runs: list[int] = []

    async def apply_run(conn, events: list[CloudEvent]) -> None:
        if any(e.data.get("fail") for e in events):
            raise ValueError("one event in this run cannot be applied")
        runs.append(len(events))
        for e in events:
            await _count_applied(conn, e)

    first = [_event(item=f"a{i}") for i in range(20)]
    repeated = CloudEvent.from_json_bytes(first[3].to_json_bytes())      # the same event id again, in the run
    failing = _event(item="bad", fail=True)
    second = [_event(item=f"b{i}") for i in range(5)]
    for e in [*first, repeated, failing, *second]:
        await producer.send_and_wait(topic, e.to_json_bytes(), key=b"k")
    consumer = EventConsumer(engine=engine, processed_events=tables.processed_events, bootstrap=kafka_bootstrap,
                             group_id=unique("g"), topics=[topic], handlers={TYPE: _fail_when_asked},
                             batch_handlers={TYPE: apply_run}, max_attempts=2, backoff_initial=0.01,
                             backoff_max=0.05)
    finish = await _running(consumer)
    await eventually(lambda: _done(consumer, lambda c: c.applied + c.duplicates + c.dead_lettered == 27))
    await finish()
    async with engine.connect() as conn:
        applied = dict((await conn.execute(select(items.c.item_id, items.c.applied))).all())
    assert applied == {**{f"a{i}": 1 for i in range(20)}, **{f"b{i}": 1 for i in range(5)}}
    assert consumer.dead_lettered == 1 and consumer.duplicates == 1
    [dead] = await read_all(kafka_bootstrap, dlq_topic(topic), expected=1)
    assert CloudEvent.from_json_bytes(dead.value).id == failing.id
    assert sum(runs) <= 25 and max(runs, default=0) > 1     # runs were applied together where they could be
