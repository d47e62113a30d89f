"""Which failures are outages of which dependency, and which are not outages at all."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from alliance_messaging import dependency_of, is_transient


async def test_a_refused_database_connection_is_a_database_outage():
    engine = create_async_engine("postgresql+asyncpg://alliance@127.0.0.1:1/none")
    try:
        with pytest.raises(Exception) as caught:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    assert dependency_of(caught.value) == "database"


def test_a_server_that_is_starting_up_is_a_database_outage():
    try:
        try:
            raise asyncpg.exceptions.CannotConnectNowError("the database system is starting up")
        except Exception as inner:
            raise sa_exc.DBAPIError("connect", None, Exception("the database system is starting up")) from inner
    except sa_exc.DBAPIError as exc:
        assert is_transient(exc) and dependency_of(exc) == "database"


def test_broker_errors_are_kafka_outages():
    assert dependency_of(KafkaConnectionError("no broker")) == "kafka"


async def test_a_timeout_outside_any_client_names_no_dependency():
    with pytest.raises(TimeoutError) as caught:
        await asyncio.wait_for(asyncio.sleep(1), 0.01)
    assert dependency_of(caught.value) is None


def test_errors_that_are_not_about_connections_are_not_outages():
    assert dependency_of(FileNotFoundError(2, "No such file")) is None
    assert dependency_of(ValueError("bad")) is None
    assert dependency_of(sa_exc.IntegrityError("insert", None, Exception("duplicate key"))) is None
