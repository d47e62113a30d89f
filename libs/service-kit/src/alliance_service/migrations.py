"""Alembic per service: shared env.py body, upgrade command and the start-up check."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


class NotMigrated(RuntimeError):
    """The database is not at the migrations' head revision."""


def alembic_config(service_dir: Path, url: str | None = None) -> Config:
    """Config for a service's alembic.ini, optionally pointing at a given database."""
    cfg = Config(str(service_dir / "alembic.ini"))
    cfg.set_main_option("script_location", str(service_dir / "migrations"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def head_revisions(service_dir: Path) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(service_dir)).get_heads())


async def current_revisions(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_heads()))


async def assert_migrated(engine: AsyncEngine, service_dir: Path) -> None:
    """Refuse to run on a database that is not at head."""
    current, heads = await current_revisions(engine), head_revisions(service_dir)
    if current != heads:
        raise NotMigrated(
            f"database is at {sorted(current) or 'no revision'}, code expects {sorted(heads)}; "
            "run the service's `migrate` command first"
        )


async def upgrade(service_dir: Path, url: str, revision: str = "head") -> None:
    """Run `alembic upgrade` (in a thread: env.py runs its own event loop)."""
    await asyncio.to_thread(command.upgrade, alembic_config(service_dir, url), revision)


def run_env(target_metadata: MetaData, url_env_var: str) -> None:
    """The body of every service's migrations/env.py."""
    config = context.config
    url = config.get_main_option("sqlalchemy.url") or os.environ.get(url_env_var)
    if not url:
        raise SystemExit(f"set {url_env_var} (postgresql+asyncpg://...) to migrate")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    def migrate(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()

    async def online() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as conn:
            await conn.run_sync(migrate)
            await conn.commit()
        await engine.dispose()

    asyncio.run(online())
