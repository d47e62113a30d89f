"""The one command of a service: `run` (default), `migrate`, `check-migrations`."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from sqlalchemy.ext.asyncio import create_async_engine

from .migrations import NotMigrated, assert_migrated, upgrade
from .runtime import ServiceSpec, build_runtime


async def _serve(spec: ServiceSpec) -> int:
    runtime = build_runtime(spec)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, runtime.request_stop)
    try:
        await runtime.start()
    except NotMigrated as exc:
        print(f"{spec.name}: refusing to start: {exc}", file=sys.stderr)
        await runtime.engine.dispose()
        return 3
    await runtime.wait_stopped()
    await runtime.stop()
    return 0


async def _migrate(spec: ServiceSpec) -> int:
    await upgrade(spec.service_dir, _database_url(spec))
    print(f"{spec.name}: database at head")
    return 0


async def _check(spec: ServiceSpec) -> int:
    engine = create_async_engine(_database_url(spec))
    try:
        await assert_migrated(engine, spec.service_dir)
    except NotMigrated as exc:
        print(f"{spec.name}: {exc}", file=sys.stderr)
        return 3
    finally:
        await engine.dispose()
    print(f"{spec.name}: database at head")
    return 0


def _database_url(spec: ServiceSpec) -> str:
    prefix = spec.settings_type.model_config.get("env_prefix", "")
    url = os.environ.get(f"{prefix}DATABASE_URL")
    if not url:
        raise SystemExit(f"set {prefix}DATABASE_URL")
    return url


def main(spec: ServiceSpec, argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"alliance-{spec.name}", description=spec.title)
    parser.add_argument("command", nargs="?", default="run", choices=["run", "migrate", "check-migrations"])
    args = parser.parse_args(argv)
    action = {"run": _serve, "migrate": _migrate, "check-migrations": _check}[args.command]
    raise SystemExit(asyncio.run(action(spec)))
