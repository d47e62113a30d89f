"""The outbox relay keeps draining when the real PostgreSQL and then the real Kafka are restarted under load."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections import Counter

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from alliance_messaging import OutboxRelay, add_to_outbox, idempotent_producer
from alliance_testing.helpers import read_all

from .conftest import metadata, tables
from .test_outbox_relay import _events, _ids

DRAIN_BOUND_S = 60


def _task_dump() -> str:
    """Every task's stack: where each await is parked when the relay stops making progress."""
    out = io.StringIO()
    for task in asyncio.all_tasks():
        out.write(f"--- {task.get_name()}\n")
        coro = task.get_coro()
        while coro is not None:
            frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None)
            if frame is not None:
                out.write(f"  {frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}\n")
            coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None)
    return out.getvalue()


async def _sessions(url: str) -> str:
    """What each session of the test database is doing (a transaction left open, a lock wait)."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        rows = await conn.fetch("SELECT pid, state, wait_event_type, wait_event, now() - xact_start AS xact_age,"
                                " left(query, 80) AS query FROM pg_stat_activity WHERE datname = current_database()"
                                " AND pid <> pg_backend_pid()")
        return "\n".join(str(dict(r)) for r in rows)
    finally:
        await conn.close()


async def test_relay_drains_after_postgres_and_kafka_restart_under_load(databases, kafka_bootstrap, unique,
                                                                       infra_control):
    url = await databases.create("relay-outage")
    # the service's engine settings (runtime.build_runtime): a pool that pings and so reconnects
    engine = create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    topic = unique("relay-outage")
    relay = OutboxRelay(engine, tables.outbox, lambda: idempotent_producer(kafka_bootstrap, "outage-relay"),
                        name="relay-outage")
    stop, load_done = asyncio.Event(), asyncio.Event()
    written: list[str] = []

    async def load() -> None:
        while not load_done.is_set():
            events = _events(topic, 20, key_prefix=f"k{len(written)}")
            try:
                async with engine.begin() as conn:
                    await add_to_outbox(conn, tables.outbox, events)
                written.extend(e.event.id for e in events)
                relay.notify()
            except Exception:  # noqa: BLE001 - the database is down for a while; the writer just retries
                pass
            await asyncio.sleep(0.02)

    relay_task = asyncio.create_task(relay.run(stop), name="relay")
    writer = asyncio.create_task(load(), name="load")
    try:
        await asyncio.sleep(2)
        await infra_control.stop_pg()
        try:
            await asyncio.sleep(3)
        finally:
            await infra_control.start_pg()
        await asyncio.sleep(2)
        await infra_control.stop_kafka()
        try:
            await asyncio.sleep(5)
        finally:
            await infra_control.start_kafka()
        await asyncio.sleep(3)
        load_done.set()
        await writer

        deadline = time.monotonic() + DRAIN_BOUND_S
        left = -1
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                left = await relay.pending()
                if left == 0:
                    break
            await asyncio.sleep(0.5)
        if left != 0:
            pytest.fail(f"{left} of {len(written)} rows unpublished {DRAIN_BOUND_S} s after both came back; "
                        f"relay task done={relay_task.done()}\n{_task_dump()}\n{await _sessions(url)}")
        records = await read_all(kafka_bootstrap, topic, expected=len(written), timeout=120)
        published = Counter(_ids(records))
        assert set(published) == set(written), "an event lost"
        print(f"{len(written)} rows written under load, all published; {relay.published} marked by the relay")
    finally:
        load_done.set()
        stop.set()
        relay.notify()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(relay_task, 30)
        writer.cancel()
        await engine.dispose()
