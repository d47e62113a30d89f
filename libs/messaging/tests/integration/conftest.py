"""A tiny schema of its own: outbox, processed_events and a table the handlers write to."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, Text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from alliance_messaging import MessagingTables

metadata = MetaData()
tables = MessagingTables(metadata)
items = Table(
    "items", metadata,
    Column("item_id", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("applied", Integer, nullable=False),
)


@pytest_asyncio.fixture
async def engine(databases) -> AsyncIterator[AsyncEngine]:
    url = await databases.create("messaging")
    eng = create_async_engine(url, pool_size=5)
    async with eng.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield eng
    await eng.dispose()


@pytest_asyncio.fixture
async def producer(kafka_bootstrap) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await p.start()
    yield p
    await p.stop()


async def read_all(bootstrap: str, topic: str, expected: int, timeout: float = 30.0) -> list:
    """Read a topic from the beginning until `expected` records arrived (or time runs out)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"reader-{uuid.uuid4().hex}",
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                isolation_level="read_committed")
    await consumer.start()
    records: list = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(records) < expected and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for recs in batch.values():
                records.extend(recs)
        # linger a little to catch anything beyond what was expected (duplicates)
        extra = await consumer.getmany(timeout_ms=700)
        for recs in extra.values():
            records.extend(recs)
    finally:
        await consumer.stop()
    return records


async def eventually(predicate, timeout: float = 30.0, interval: float = 0.1):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)
