"""Idempotent consumer: read_committed, one DB transaction per partition batch, offsets after commit, DLQ."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from opentelemetry import trace
from sqlalchemy import Table, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from alliance_telemetry import OUTAGES, extract_kafka_context
from alliance_telemetry.metrics import ServiceMetrics

from .envelope import CloudEvent, InvalidEnvelope
from .failures import dependency_of, is_transient
from .kafka import PLAINTEXT, KafkaSecurity, bounded, dlq_topic, idempotent_producer

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

Handler = Callable[[AsyncConnection, CloudEvent], Awaitable[None]]
# Applies a run of consecutive events of one type in one go (the fast path); the per-event Handler of the
# same type stays the fallback that isolates a failing event (retries, then the DLQ).
BatchHandler = Callable[[AsyncConnection, list[CloudEvent]], Awaitable[None]]


class PoisonMessage(Exception):
    """A handler's verdict that retrying can never help: dead-letter at once."""


def _parse(record: ConsumerRecord) -> CloudEvent | InvalidEnvelope:
    """The record's event, or why it is not one (the per-record path dead-letters it)."""
    try:
        return CloudEvent.from_json_bytes(record.value)
    except InvalidEnvelope as exc:
        return exc


class _Revocations(ConsumerRebalanceListener):
    """Waits for the in-flight batch before partitions are handed to another consumer."""

    def __init__(self, lock: asyncio.Lock) -> None:
        self._lock = lock

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._lock:
            log.info("partitions revoked", extra={"fields": {"partitions": [str(tp) for tp in revoked]}})

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("partitions assigned", extra={"fields": {"partitions": [str(tp) for tp in assigned]}})


class EventConsumer:
    """Applies events once per consumer group; failing events are retried, then dead-lettered."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        processed_events: Table,
        bootstrap: str,
        group_id: str,
        topics: Sequence[str],
        handlers: Mapping[str, Handler],
        batch_handlers: Mapping[str, BatchHandler] | None = None,
        max_attempts: int = 5,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
        batch_max: int = 500,
        security: KafkaSecurity = PLAINTEXT,
        metrics: ServiceMetrics | None = None,
        kafka_timeout: float = 30.0,
    ) -> None:
        self._engine = engine
        # Every broker call is bounded (client start/stop, offset commit, DLQ send): aiokafka retries some of
        # them for as long as the broker is away, and the consumer must restart its clients instead of waiting.
        self._kafka_timeout = kafka_timeout
        self._security = security
        self._processed = processed_events
        self._bootstrap = bootstrap
        self._group_id = group_id
        self._topics = list(topics)
        self._handlers = dict(handlers)
        self._batch_handlers = {t: h for t, h in (batch_handlers or {}).items() if t in self._handlers}
        self._max_attempts = max_attempts
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._batch_max = batch_max
        self._lock = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq = None
        self.applied = 0
        self.dead_lettered = 0
        self.duplicates = 0
        self._metrics = metrics
        if metrics is not None:
            self._dlq_published = metrics.counter(
                "alliance_dlq_published", "Events dead-lettered to <topic>.dlq, by consumer group and source topic")
            self._lag = metrics.gauge(
                "alliance_consumer_lag_messages",
                "Records not yet committed by the group (end offset minus committed offset), per assigned partition")
            metrics.add_sampler("consumer-lag", self.sample_lag)

    @property
    def group_id(self) -> str:
        return self._group_id

    def _new_consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            **self._security.client_options(),
            bootstrap_servers=self._bootstrap,
            group_id=self._group_id,
            client_id=self._group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_interval_ms=300000,
            session_timeout_ms=10000,
            heartbeat_interval_ms=3000,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; survives broker and database outages."""
        backoff = self._backoff_initial
        while not stop.is_set():
            try:
                await self._run_once(stop)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - restart the client on any failure
                dependency = dependency_of(exc)
                if dependency is not None:
                    OUTAGES.failed(dependency, exc)     # one line per outage, not per attempt
                else:
                    log.warning("consumer loop failed; restarting",
                                extra={"fields": {"group": self._group_id, "error": repr(exc)[:300],
                                                  "retry_in_s": backoff}})
                await self._close()
                try:
                    await asyncio.wait_for(stop.wait(), timeout=backoff)
                except TimeoutError:
                    pass
                backoff = min(backoff * 2, self._backoff_max)

    async def _run_once(self, stop: asyncio.Event) -> None:
        consumer = self._new_consumer()
        self._consumer = consumer
        self._dlq = idempotent_producer(self._bootstrap, f"{self._group_id}-dlq", self._security)
        await bounded(consumer.start(), self._kafka_timeout, "consumer start")
        await bounded(self._dlq.start(), self._kafka_timeout, "DLQ producer start")
        consumer.subscribe(self._topics, listener=_Revocations(self._lock))
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=200, max_records=self._batch_max)
                for tp, records in batches.items():
                    async with self._lock:
                        await self._process_partition_batch(tp, records)
                        await self._commit_offset(consumer, tp, records[-1].offset + 1)
                if batches:
                    OUTAGES.recovered("kafka")      # records read and offsets committed: the broker is back
        finally:
            await self._close()

    async def lag(self) -> dict[TopicPartition, int]:
        """Per partition assigned to this consumer: end offset (last stable) minus the group's committed offset."""
        consumer = self._consumer
        if consumer is None:
            return {}
        assigned = list(consumer.assignment())
        if not assigned:
            return {}
        ends = await consumer.end_offsets(assigned)
        starts = await consumer.beginning_offsets(assigned)
        lag: dict[TopicPartition, int] = {}
        for tp in assigned:
            committed = await consumer.committed(tp)
            lag[tp] = max(ends.get(tp, 0) - (committed if committed is not None else starts.get(tp, 0)), 0)
        return lag

    async def sample_lag(self) -> None:
        """Refresh the consumer lag gauge (partitions no longer assigned disappear)."""
        lag = await self.lag()
        self._lag.replace(({"group": self._group_id, "topic": tp.topic, "partition": tp.partition}, n)
                          for tp, n in lag.items())

    async def _commit_offset(self, consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> None:
        """Commit the next offset to read, only after the batch's database transaction committed."""
        await bounded(consumer.commit({tp: offset}), self._kafka_timeout, "offset commit")

    async def _close(self) -> None:
        consumer, self._consumer = self._consumer, None
        dlq, self._dlq = self._dlq, None
        for client in (consumer, dlq):
            if client is not None:
                try:
                    await bounded(client.stop(), self._kafka_timeout, "client stop")
                except Exception as exc:  # noqa: BLE001 - best effort on a broken client
                    if (dependency := dependency_of(exc)) is not None:
                        OUTAGES.failed(dependency, exc)
                    else:
                        log.warning("kafka client stop failed", exc_info=True)

    async def _process_partition_batch(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        """One transaction for the batch; each record (or run of batch-handled records) in its own savepoint."""
        parsed = [(record, _parse(record)) for record in records]
        try:
            async with self._engine.begin() as conn:
                # A transaction left open by a client that hung is ended by the server (its locks freed).
                await conn.execute(text("SELECT set_config('idle_in_transaction_session_timeout', :v, true)"),
                                   {"v": f"{int((self._kafka_timeout + 30) * 1000)}ms"})
                i = 0
                while i < len(parsed):
                    end = self._run_end(parsed, i)
                    if end - i > 1:
                        await self._process_run(conn, parsed[i:end])  # type: ignore[arg-type]
                    else:
                        await self._process_record(conn, *parsed[i])
                    i = max(end, i + 1)
        except Exception:
            # Nothing of this batch is committed: re-read it from the first record.
            if self._consumer is not None:
                self._consumer.seek(tp, records[0].offset)
            raise

    def _run_end(self, parsed: list[tuple[ConsumerRecord, CloudEvent | InvalidEnvelope]], start: int) -> int:
        """End of the consecutive events from `start` of one type that has a batch handler (order is kept)."""
        first = parsed[start][1]
        if not isinstance(first, CloudEvent) or first.type not in self._batch_handlers:
            return start
        end = start + 1
        while end < len(parsed) and isinstance(parsed[end][1], CloudEvent) and parsed[end][1].type == first.type:
            end += 1
        return end

    async def _process_run(self, conn: AsyncConnection, run: list[tuple[ConsumerRecord, CloudEvent]]) -> None:
        """Record the run's event ids and apply the new ones in one call; on failure, halve the run (down to
        single events, which take the per-event path: retries, then the DLQ)."""
        event_type = run[0][1].type
        with tracer.start_as_current_span(
            f"{run[0][0].topic} process batch", kind=trace.SpanKind.CONSUMER,
            attributes={"messaging.system": "kafka", "messaging.destination.name": run[0][0].topic,
                        "messaging.batch.message_count": len(run), "messaging.consumer.group.name": self._group_id,
                        "cloudevents.event_type": event_type},
        ):
            try:
                async with conn.begin_nested():
                    inserted = await conn.execute(
                        insert(self._processed)
                        .values([{"consumer_group": self._group_id, "event_id": uuid.UUID(e.id), "event_type": e.type,
                                  "topic": r.topic, "partition": r.partition, "offset": r.offset,
                                  "outcome": "applied"} for r, e in run])
                        .on_conflict_do_nothing()
                        .returning(self._processed.c.event_id))
                    new = {str(i) for i in inserted.scalars()}
                    fresh: list[CloudEvent] = []
                    for _, e in run:
                        if str(uuid.UUID(e.id)) in new:
                            new.discard(str(uuid.UUID(e.id)))     # a repeated id within the run counts once
                            fresh.append(e)
                    if fresh:
                        await self._batch_handlers[event_type](conn, fresh)
                    self.applied += len(fresh)
                    self.duplicates += len(run) - len(fresh)
                return
            except Exception as exc:  # noqa: BLE001 - classify below
                if is_transient(exc):
                    raise
                log.warning("batch handler failed; splitting the run to isolate the failing event",
                            extra={"fields": {"event_type": event_type, "events": len(run),
                                              "error": repr(exc)[:300]}})
        if len(run) > 2:       # halve until the failing event is alone; the rest still goes in batches
            middle = len(run) // 2
            await self._process_run(conn, run[:middle])
            await self._process_run(conn, run[middle:])
            return
        for record, event in run:
            await self._process_record(conn, record, event)

    async def _process_record(self, conn: AsyncConnection, record: ConsumerRecord,
                              event: CloudEvent | InvalidEnvelope) -> None:
        if isinstance(event, InvalidEnvelope):
            await self._dead_letter(record, event, attempts=1)
            return
        handler = self._handlers.get(event.type)
        if handler is None:
            return
        parent = extract_kafka_context(record.headers)
        attempt = 0
        while True:
            attempt += 1
            with tracer.start_as_current_span(
                f"{record.topic} process", context=parent, kind=trace.SpanKind.CONSUMER,
                attributes={"messaging.system": "kafka", "messaging.destination.name": record.topic,
                            "messaging.kafka.partition": record.partition,
                            "messaging.kafka.offset": record.offset,
                            "messaging.consumer.group.name": self._group_id,
                            "cloudevents.event_type": event.type, "cloudevents.event_id": event.id},
            ):
                try:
                    async with conn.begin_nested():
                        if await self._record(conn, record, event, "applied"):
                            await handler(conn, event)
                            self.applied += 1
                        else:
                            self.duplicates += 1
                    return
                except Exception as exc:  # noqa: BLE001 - classify below
                    if is_transient(exc):
                        raise
                    if isinstance(exc, (PoisonMessage, InvalidEnvelope)) or attempt >= self._max_attempts:
                        await self._dead_letter(record, exc, attempts=attempt, conn=conn, event=event)
                        return
                    log.warning("handler failed; retrying",
                                extra={"fields": {"event_type": event.type, "event_id": event.id,
                                                  "attempt": attempt, "error": repr(exc)[:300]}})
            await asyncio.sleep(min(self._backoff_initial * 2 ** (attempt - 1), self._backoff_max))

    async def _record(self, conn: AsyncConnection, record: ConsumerRecord, event: CloudEvent,
                      outcome: str) -> bool:
        """Insert the processed-event row; False if this group already handled the event."""
        inserted = await conn.execute(
            insert(self._processed)
            .values(consumer_group=self._group_id, event_id=uuid.UUID(event.id), event_type=event.type,
                    topic=record.topic, partition=record.partition, offset=record.offset, outcome=outcome)
            .on_conflict_do_nothing()
            .returning(self._processed.c.event_id)
        )
        return inserted.first() is not None

    async def _dead_letter(self, record: ConsumerRecord, error: BaseException, *, attempts: int,
                           conn: AsyncConnection | None = None, event: CloudEvent | None = None) -> None:
        """Send the original bytes to `<topic>.dlq` with the error and coordinates in headers."""
        headers = list(record.headers or ()) + [
            ("dlq.error.type", type(error).__name__.encode()),
            ("dlq.error.message", str(error)[:1000].encode()),
            ("dlq.original.topic", record.topic.encode()),
            ("dlq.original.partition", str(record.partition).encode()),
            ("dlq.original.offset", str(record.offset).encode()),
            ("dlq.consumer.group", self._group_id.encode()),
            ("dlq.attempts", str(attempts).encode()),
            ("dlq.failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        assert self._dlq is not None
        await bounded(self._dlq.send_and_wait(dlq_topic(record.topic), value=record.value, key=record.key,
                                              headers=headers), self._kafka_timeout, "DLQ send")
        if conn is not None and event is not None:
            async with conn.begin_nested():
                await self._record(conn, record, event, "dead_lettered")
        self.dead_lettered += 1
        if self._metrics is not None:
            self._dlq_published.add(1, {"group": self._group_id, "topic": record.topic})
        log.error("event dead-lettered",
                  extra={"fields": {"topic": record.topic, "partition": record.partition,
                                    "offset": record.offset, "error_type": type(error).__name__,
                                    "dlq": dlq_topic(record.topic)}})
