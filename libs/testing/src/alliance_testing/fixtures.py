"""pytest fixtures: real Kafka, real PostgreSQL, dev signing keys, whole services in-process."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from .infra import Databases, Infra, InfraUnavailable


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    resolved = Infra()
    yield resolved
    resolved.close()


@pytest.fixture(scope="session")
def kafka_bootstrap(infra: Infra) -> str:
    try:
        return infra.kafka_bootstrap()
    except InfraUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def pg_admin_dsn(infra: Infra) -> str:
    try:
        return infra.pg_admin_dsn()
    except InfraUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest_asyncio.fixture(scope="session")
async def databases(pg_admin_dsn: str) -> AsyncIterator[Databases]:
    dbs = Databases(pg_admin_dsn)
    yield dbs
    await dbs.drop_all()


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Unique names for topics, groups and databases, so tests never see each other's data."""
    run = uuid.uuid4().hex[:8]
    return lambda name: f"test.{run}.{name}"


@pytest.fixture(scope="session")
def dev_keys(tmp_path_factory: pytest.TempPathFactory):
    from alliance_auth.dev import DevKeys

    return DevKeys.create(tmp_path_factory.mktemp("keys"))


@pytest_asyncio.fixture
async def start_service(databases: Databases, kafka_bootstrap: str, dev_keys, unique
                        ) -> AsyncIterator[Callable[..., Awaitable]]:
    """Start a service (ServiceSpec) in-process on a fresh migrated database and the real broker.

    All services started in one test share a topic prefix, so they talk to each other and to nobody else.
    """
    from alliance_service import build_runtime, upgrade

    started = []
    prefix = unique("")

    async def start(spec, *, start: bool = True, **overrides):
        url = await databases.create(spec.name)
        await upgrade(Path(spec.service_dir), url)
        ports = {name: 0 for name in spec.settings_type.model_fields if name.endswith("_port")}  # never collide
        settings = spec.settings_type(**{
            **ports, "database_url": url, "kafka_bootstrap": kafka_bootstrap,
            "jwks": str(dev_keys.jwks_path), "topic_prefix": prefix, "consumer_group": f"{prefix}{spec.name}",
            "environment": "test", **overrides})
        runtime = build_runtime(spec, settings)
        if start:
            await runtime.start()
        started.append(runtime)
        return runtime

    yield start
    for runtime in reversed(started):
        await runtime.stop()
    await drop_topics(kafka_bootstrap, prefix)


async def drop_topics(bootstrap: str, prefix: str) -> None:
    """Delete a test's topics (best effort): a broker shared by thousands of tests otherwise runs out of files."""
    import asyncio
    import contextlib

    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(admin.start(), 10)
        try:
            mine = [t for t in await asyncio.wait_for(admin.list_topics(), 10) if t.startswith(prefix)]
            if mine:
                await asyncio.wait_for(admin.delete_topics(mine, timeout_ms=10_000), 15)
        finally:
            await admin.close()


class InfraControl:
    """Stops and starts the local broker and database (the no-Docker local mode) for fault tests."""

    def __init__(self, script: str) -> None:
        self._script = script

    async def _run(self, command: str, *args: str) -> str:
        import asyncio
        import sys

        proc = await asyncio.create_subprocess_exec(sys.executable, self._script, command, *args,
                                                    stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"{command} failed: {(out + err).decode(errors='replace')[-2000:]}")
        return out.decode()

    async def kafka_user(self, name: str, *, read: tuple[str, ...] = (), own_prefix: str | None = None,
                         password: str | None = None) -> dict[str, str]:
        """A SCRAM user on the broker's SASL listener; its KAFKA_* connection settings."""
        args = [name, *(a for t in read for a in ("--read", t))]
        if own_prefix:
            args += ["--own-prefix", own_prefix]
        if password:
            args += ["--password", password]
        out = await self._run("kafka-user", *args)
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    async def stop_kafka(self) -> None:
        await self._run("stop-kafka")

    async def kill_kafka(self) -> None:
        await self._run("kill-kafka")

    async def start_kafka(self, attempts: int = 12) -> None:
        """Start the broker again. A client's outgoing connection (or a TCP self-connect to the stopped broker) can
        hold its port for a few seconds and the start fails ('already in use', or Kafka's own bind error): wait
        that out instead of failing the test."""
        import asyncio

        for attempt in range(attempts):
            try:
                await self._run("start-kafka")
                return
            except RuntimeError:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(5)

    async def stop_pg(self) -> None:
        await self._run("stop-pg")

    async def start_pg(self) -> None:
        await self._run("start-pg")


@pytest.fixture(scope="session")
def infra_control() -> InfraControl:
    """Needs ALLIANCE_INFRA_CTL (set by `make test`) pointing at infra/local/localinfra.py."""
    import os

    script = os.environ.get("ALLIANCE_INFRA_CTL")
    if not script:
        pytest.skip("broker/database restarts need the local infra mode (ALLIANCE_INFRA_CTL); `make test` sets it")
    return InfraControl(script)
