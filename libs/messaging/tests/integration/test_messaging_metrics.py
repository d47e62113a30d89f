"""The messaging gauges and counters against the real broker and database: outbox backlog, lag, DLQ, publish."""

from __future__ import annotations

import asyncio

from google.protobuf.struct_pb2 import Struct

from alliance_messaging import (
    EventConsumer,
    OutboxRelay,
    OutgoingEvent,
    add_to_outbox,
    dlq_topic,
    ensure_topics,
    event_from_proto,
    idempotent_producer,
)
from alliance_telemetry.metrics import ServiceMetrics
from alliance_testing.helpers import eventually

from .conftest import tables

TYPE = "google.protobuf.Struct"


def _event(**data):
    s = Struct()
    s.update(data)
    return event_from_proto(s, source="/test", subject=str(data.get("item")))


def _value(text: str, series: str) -> float | None:
    """The value of one exact series line (name and labels as rendered) in a scrape."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


async def _scrape(metrics: ServiceMetrics) -> str:
    await metrics.sample()
    return metrics.render()


async def test_outbox_backlog_and_age_grow_while_unpublished_and_fall_to_zero_once_relayed(
        engine, kafka_bootstrap, unique):
    metrics = ServiceMetrics("test")
    topic = unique("metrics-outbox")
    relay = OutboxRelay(engine, tables.outbox, lambda: idempotent_producer(kafka_bootstrap, "metrics-relay"),
                        metrics=metrics)
    text = await _scrape(metrics)
    assert _value(text, 'alliance_outbox_backlog_events{service="test"}') == 0
    assert _value(text, 'alliance_outbox_oldest_age_seconds{service="test"}') == 0

    async with engine.begin() as conn:
        await add_to_outbox(conn, tables.outbox, [OutgoingEvent(topic, f"k{i}", _event(n=i)) for i in range(7)])
    await asyncio.sleep(0.3)
    text = await _scrape(metrics)
    assert _value(text, 'alliance_outbox_backlog_events{service="test"}') == 7
    assert _value(text, 'alliance_outbox_oldest_age_seconds{service="test"}') >= 0.2

    while await relay.publish_pending():
        pass
    text = await _scrape(metrics)
    assert _value(text, 'alliance_outbox_backlog_events{service="test"}') == 0
    assert _value(text, 'alliance_outbox_oldest_age_seconds{service="test"}') == 0
    assert _value(text, f'alliance_relay_published_total{{service="test",topic="{topic}"}}') == 7
    assert _value(text, 'alliance_relay_publish_duration_seconds_count{service="test"}') >= 1
    await relay._drop_producer()


async def test_consumer_lag_counts_uncommitted_records_per_partition_and_dead_letters_are_counted(
        engine, producer, kafka_bootstrap, unique):
    topic = unique("metrics-lag")
    await ensure_topics(kafka_bootstrap, [topic, dlq_topic(topic)], partitions=1)
    release = asyncio.Event()

    async def slow(conn, event):
        if event.data.get("poison"):
            raise ValueError("never applies")
        await release.wait()

    metrics = ServiceMetrics("test")
    group = unique("g")
    consumer = EventConsumer(engine=engine, processed_events=tables.processed_events, bootstrap=kafka_bootstrap,
                             group_id=group, topics=[topic], handlers={TYPE: slow}, max_attempts=2,
                             backoff_initial=0.01, backoff_max=0.05, batch_max=1, metrics=metrics)
    series = f'alliance_consumer_lag_messages{{service="test",group="{group}",partition="0",topic="{topic}"}}'
    for i in range(5):
        await producer.send_and_wait(topic, _event(item=f"i{i}").to_json_bytes(), key=b"k")
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        # The handler holds the first record: nothing is committed, all five are lag.
        await eventually(lambda: _is(metrics, series, 5))
        release.set()
        await eventually(lambda: _is(metrics, series, 0))
        await producer.send_and_wait(topic, _event(item="p", poison=True).to_json_bytes(), key=b"k")
        await eventually(lambda: _is(metrics, series, 0, dlq=True))
        text = await _scrape(metrics)
        assert _value(text, f'alliance_dlq_published_total{{service="test",group="{group}",topic="{topic}"}}') == 1
    finally:
        stop.set()
        release.set()
        await asyncio.wait_for(task, 30)
    text = await _scrape(metrics)
    assert series not in text        # a stopped consumer reports no partitions


async def _is(metrics: ServiceMetrics, series: str, value: float, dlq: bool = False) -> bool:
    text = await _scrape(metrics)
    if dlq and "alliance_dlq_published_total{" not in text:
        return False
    return _value(text, series) == value
