"""Where the real Kafka and PostgreSQL are: configured addresses first, testcontainers when Docker runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from contextlib import ExitStack

import asyncpg

KAFKA_ENV = "ALLIANCE_KAFKA_BOOTSTRAP"
PG_ENV = "ALLIANCE_PG_DSN"


class InfraUnavailable(RuntimeError):
    pass


def _docker_available() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class Infra:
    """Resolves broker and database addresses once per test session."""

    def __init__(self) -> None:
        self._stack = ExitStack()
        self._kafka: str | None = os.environ.get(KAFKA_ENV)
        self._pg: str | None = os.environ.get(PG_ENV)

    def kafka_bootstrap(self) -> str:
        if self._kafka is None:
            if not _docker_available():
                raise InfraUnavailable(
                    f"no Kafka: set {KAFKA_ENV} (`make test` does: it starts the local broker) "
                    "or run a Docker engine for testcontainers")
            from testcontainers.kafka import KafkaContainer

            container = self._stack.enter_context(KafkaContainer().with_kraft())
            self._kafka = container.get_bootstrap_server()
        return self._kafka

    def pg_admin_dsn(self) -> str:
        """A libpq DSN of a role that may create databases."""
        if self._pg is None:
            if not _docker_available():
                raise InfraUnavailable(
                    f"no PostgreSQL: set {PG_ENV} (`make test` does: it starts a private server) "
                    "or run a Docker engine for testcontainers")
            from testcontainers.postgres import PostgresContainer

            container = self._stack.enter_context(PostgresContainer("postgres:16", driver=None))
            self._pg = container.get_connection_url()
        return self._pg

    def close(self) -> None:
        self._stack.close()


def asyncpg_url(admin_dsn: str, database: str) -> str:
    """SQLAlchemy URL for `database` on the same server as the admin DSN."""
    base = admin_dsn.split("://", 1)[1].rsplit("/", 1)[0]
    return f"postgresql+asyncpg://{base}/{database}"


class Databases:
    """Creates throwaway databases for tests and drops them at the end."""

    def __init__(self, admin_dsn: str) -> None:
        self._admin = admin_dsn
        self._created: list[str] = []

    async def create(self, prefix: str = "t") -> str:
        name = f"{prefix.replace('-', '_')}_{uuid.uuid4().hex[:10]}"
        conn = await asyncpg.connect(self._admin)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        self._created.append(name)
        return asyncpg_url(self._admin, name)

    async def drop_all(self) -> None:
        if not self._created:
            return
        conn = await asyncpg.connect(self._admin)
        try:
            for name in self._created:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
        self._created.clear()
