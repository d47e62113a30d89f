"""Waiting helpers for tests against real, asynchronous infrastructure."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer


async def read_all(bootstrap: str, topic: str, expected: int, timeout: float = 30.0) -> list:
    """Read a topic from the beginning until `expected` records arrived (or time runs out), then a bit more."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"reader-{uuid.uuid4().hex}",
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                isolation_level="read_committed")
    await consumer.start()
    records: list = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(records) < expected and asyncio.get_running_loop().time() < deadline:
            for recs in (await consumer.getmany(timeout_ms=300)).values():
                records.extend(recs)
        for recs in (await consumer.getmany(timeout_ms=700)).values():  # catch duplicates beyond `expected`
            records.extend(recs)
    finally:
        await consumer.stop()
    return records


async def eventually(predicate: Callable[[], Awaitable[Any]], timeout: float = 30.0,
                     interval: float = 0.1) -> Any:
    """Poll an async predicate until it returns something truthy; fail the test after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


async def post_effective(post: Callable[[Any], Awaitable[Any]], margin: float = 1.0, attempts: int = 5) -> Any:
    """Post something effective-dated a moment ahead, then wait until it is in force; return the response.

    The server refuses a moment in its past ('backdated'); on a loaded machine the request itself can take longer
    than the margin, so a refused moment is retried later with a doubled margin — any other answer is returned.
    """
    from datetime import UTC, datetime, timedelta

    for _ in range(attempts):
        moment = datetime.now(UTC) + timedelta(seconds=margin)
        response = await post(moment)
        if response.status_code != 422 or "backdated" not in response.text:
            break
        margin *= 2
    if response.status_code < 300:
        await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.1)
    return response
