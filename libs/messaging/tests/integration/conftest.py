"""A tiny schema of its own: outbox, processed_events and a table the handlers write to."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from aiokafka import AIOKafkaProducer
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
