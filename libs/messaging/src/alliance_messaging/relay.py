"""Outbox relay: publishes committed outbox rows with an idempotent producer, then marks them sent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from sqlalchemy import Row, Table, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from alliance_telemetry import OUTAGES, context_from_traceparent, inject_kafka_headers
from alliance_telemetry.metrics import ServiceMetrics

from .envelope import CONTENT_TYPE
from .failures import dependency_of
from .kafka import bounded

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)


class OutboxRelay:
    """Moves outbox rows to Kafka; at-least-once, in outbox order per key, never skips a crashed row.

    One relay per database publishes at a time (a transaction-scoped advisory lock), so rows leave
    in commit order even when several replicas run; the others wait as hot standbys.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        outbox: Table,
        producer_factory: Callable[[], AIOKafkaProducer],
        *,
        batch_size: int = 500,
        poll_interval: float = 0.1,
        max_backoff: float = 5.0,
        coalesce: float = 0.005,
        publish_timeout: float = 30.0,
        name: str = "outbox-relay",
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self._engine = engine
        self._outbox = outbox
        self._producer_factory = producer_factory
        self._producer: AIOKafkaProducer | None = None
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._max_backoff = max_backoff
        self._coalesce = coalesce
        self._lock_key = zlib.crc32(f"{name}:{outbox.name}".encode())
        # Every await of a pass is bounded: Kafka by `publish_timeout`, the database by server-side timeouts set
        # on the relay's own transaction (a lock it waits for, a statement, and the transaction left idle by a
        # client that hung or vanished — the server then ends it and frees the advisory lock for the next pass).
        self._publish_timeout = publish_timeout
        self._db_timeouts = {"lock": "5s", "statement": "30s", "idle": f"{int((publish_timeout + 30) * 1000)}ms"}
        self._wake = asyncio.Event()
        self.published = 0
        self.last_pass_ok: float | None = None   # loop.time() of the last pass that ended without an error
        self.running = False
        self._metrics = metrics
        if metrics is not None:
            self._published = metrics.counter("alliance_relay_published", "Outbox events published, by topic")
            self._publish_seconds = metrics.histogram(
                "alliance_relay_publish_duration_seconds",
                "Relay batch publish latency in seconds: first send to the last broker acknowledgement")
            self._backlog = metrics.gauge("alliance_outbox_backlog_events", "Outbox rows not yet published")
            self._oldest = metrics.gauge("alliance_outbox_oldest_age_seconds",
                                         "Age in seconds of the oldest unpublished outbox row (0 when none)")
            metrics.add_sampler("outbox", self.sample_backlog)

    def notify(self) -> None:
        """Wake the relay now (a use case just committed outbox rows)."""
        self._wake.set()

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = self._producer_factory()
            try:
                await bounded(producer.start(), self._publish_timeout, "producer start")
            except BaseException:
                with contextlib.suppress(Exception):
                    await bounded(producer.stop(), self._publish_timeout, "producer stop")
                raise
            self._producer = producer
        return self._producer

    async def _drop_producer(self) -> None:
        # A fresh producer (new producer id) is the way out of a stuck idempotent sequence.
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await bounded(producer.stop(), self._publish_timeout, "producer stop")
            except Exception as exc:  # noqa: BLE001 - best effort on a broken client
                _report(exc, "producer stop failed")

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished rows; returns how many were published."""
        o = self._outbox
        async with self._engine.begin() as conn:
            await conn.execute(text("SELECT set_config('lock_timeout', :lock, true),"
                                    " set_config('statement_timeout', :statement, true),"
                                    " set_config('idle_in_transaction_session_timeout', :idle, true)"),
                               self._db_timeouts)
            locked = await conn.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": self._lock_key})
            if not locked:
                return 0
            rows = (
                await conn.execute(
                    select(o.c.id, o.c.topic, o.c.message_key, o.c.payload, o.c.traceparent, o.c.event_type)
                    .where(o.c.published_at.is_(None))
                    .order_by(o.c.id)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            producer = await self._ensure_producer()
            started = time.perf_counter()
            try:
                await bounded(self._send_all(producer, rows), self._publish_timeout, "publish")
            except Exception as exc:
                # Recorded in this transaction: it holds the rows' locks, so another connection would wait for
                # this one forever (the relay stalled that way after a broker outage, last_error never written).
                await self._drop_producer()
                await self._record_failure(conn, [r.id for r in rows], exc)
                raise
            except BaseException:
                await self._drop_producer()
                raise
            self._record_published(rows, time.perf_counter() - started)
            await self._mark_published(conn, [r.id for r in rows])
        self.published += len(rows)
        return len(rows)

    def _record_published(self, rows: list, seconds: float) -> None:
        if self._metrics is None:
            return
        self._publish_seconds.record(seconds)
        by_topic: dict[str, int] = {}
        for row in rows:
            by_topic[row.topic] = by_topic.get(row.topic, 0) + 1
        for topic, n in by_topic.items():
            self._published.add(n, {"topic": topic})

    async def backlog(self) -> tuple[int, float]:
        """Unpublished rows and the age in seconds of the oldest one (0 when none), by the database's clock."""
        o = self._outbox
        async with self._engine.connect() as conn:
            row = (await conn.execute(
                select(func.count(), func.coalesce(
                    func.extract("epoch", func.now() - func.min(o.c.created_at)), 0))
                .where(o.c.published_at.is_(None)))).one()
        return int(row[0]), max(float(row[1]), 0.0)

    async def sample_backlog(self) -> None:
        """Refresh the outbox backlog gauges."""
        count, age = await self.backlog()
        self._backlog.set(count)
        self._oldest.set(age)

    async def _send_all(self, producer: AIOKafkaProducer, rows: Sequence[Row[Any]]) -> None:
        """Send every row (keyed by aggregate id, trace context in the headers) and wait for all acks."""
        futures = []
        for row in rows:
            with tracer.start_as_current_span(
                f"{row.topic} publish",
                context=context_from_traceparent(row.traceparent),
                kind=trace.SpanKind.PRODUCER,
                attributes={"messaging.system": "kafka", "messaging.destination.name": row.topic,
                            "cloudevents.event_type": row.event_type},
            ):
                headers = inject_kafka_headers([("content-type", CONTENT_TYPE.encode())])
            futures.append(await producer.send(row.topic, value=row.payload, key=row.message_key.encode(),
                                               headers=headers))
        await asyncio.gather(*futures)

    async def _mark_published(self, conn: AsyncConnection, ids: list[int]) -> None:
        o = self._outbox
        await conn.execute(update(o).where(o.c.id.in_(ids))
                           .values(published_at=func.now(), attempts=o.c.attempts + 1, last_error=None))

    async def _record_failure(self, conn: AsyncConnection, ids: list[int], exc: BaseException) -> None:
        try:
            await conn.execute(
                update(self._outbox).where(self._outbox.c.id.in_(ids))
                .values(attempts=self._outbox.c.attempts + 1, last_error=repr(exc)[:500])
            )
            await conn.commit()
        except Exception as db_exc:  # noqa: BLE001 - the database may be the thing that is down
            _report(db_exc, "could not record publish failure")

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop` is set, backing off exponentially while Kafka or the database fails."""
        backoff = self._poll_interval
        loop = asyncio.get_running_loop()
        self.running = True
        self.last_pass_ok = loop.time()
        try:
            while not stop.is_set():
                try:
                    n = await self.publish_pending()
                    self.last_pass_ok = loop.time()
                    backoff = self._poll_interval
                    if n:
                        OUTAGES.recovered("kafka")
                    if n == self._batch_size:
                        continue
                    if n:
                        # Under load, let a few more commits land so the next pass publishes them together.
                        await asyncio.sleep(self._coalesce)
                        continue
                except Exception as exc:  # noqa: BLE001 - keep relaying whatever fails
                    _report(exc, "outbox relay pass failed; retrying", retry_in_s=backoff)
                    backoff = min(backoff * 2 if backoff else 0.1, self._max_backoff)
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=backoff)
                except TimeoutError:
                    pass
        finally:
            self.running = False
            await self._drop_producer()

    async def oldest_unsent_age(self) -> float | None:
        """Seconds since the oldest unpublished row was committed; None when nothing is waiting."""
        o = self._outbox
        async with self._engine.connect() as conn:
            age = await conn.scalar(select(func.extract("epoch", func.now() - func.min(o.c.created_at)))
                                    .where(o.c.published_at.is_(None)))
        return None if age is None else float(age)

    async def pending(self) -> int:
        """Rows not yet published."""
        async with self._engine.connect() as conn:
            return await conn.scalar(
                select(func.count()).select_from(self._outbox).where(self._outbox.c.published_at.is_(None))
            ) or 0


def _report(exc: BaseException, message: str, **fields: object) -> None:
    """A lost database or broker goes to the outage summary; anything else is logged as it happens."""
    dependency = dependency_of(exc)
    if dependency is not None:
        OUTAGES.failed(dependency, exc)
    else:
        log.warning(message, extra={"fields": {"error": repr(exc)[:300], **fields}})
