"""Liveness and readiness: readiness really asks the database and the broker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaClient
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from alliance_messaging import PLAINTEXT, KafkaSecurity, OutboxRelay, dependency_of
from alliance_telemetry import OUTAGES

from .problems import PROBLEM_JSON

Check = Callable[[], Awaitable[None]]


def database_check(engine: AsyncEngine) -> Check:
    async def check() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    return check


def outbox_check(relay: OutboxRelay, *, stalled_after: float = 60.0, max_age: float = 300.0) -> Check:
    """The relay is alive and the backlog moves: fails when rows wait while the relay has not completed a pass
    for `stalled_after` s, or the oldest unsent row is older than `max_age` s (the message names its age)."""
    async def check() -> None:
        if relay.last_pass_ok is None:
            return                                  # this process does not run the relay
        if not relay.running:
            raise RuntimeError("outbox relay is not running")
        try:
            age = await relay.oldest_unsent_age()
        except Exception as exc:
            if dependency_of(exc) == "database":
                return                              # the database check reports that outage
            raise
        if age is None:
            return
        idle = asyncio.get_running_loop().time() - relay.last_pass_ok
        if idle > stalled_after or age > max_age:
            raise RuntimeError(f"outbox backlog not moving: oldest unsent row {age:.0f} s old, "
                               f"last completed relay pass {idle:.0f} s ago")
    return check


class KafkaProbe:
    """A long-lived metadata client; each check is one metadata round-trip to the broker."""

    def __init__(self, bootstrap: str, security: KafkaSecurity = PLAINTEXT) -> None:
        self._bootstrap = bootstrap
        self._security = security
        self._client: AIOKafkaClient | None = None

    async def __call__(self) -> None:
        if self._client is None:
            client = AIOKafkaClient(bootstrap_servers=self._bootstrap, request_timeout_ms=3000,
                                    **self._security.client_options())
            await client.bootstrap()
            self._client = client
        try:
            metadata = await self._client.fetch_all_metadata()
            if not metadata.brokers():
                raise ConnectionError("no brokers in metadata")
        except Exception:
            await self.close()
            raise

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()


def health_router(checks: dict[str, Check], timeout: float = 3.0) -> APIRouter:
    """`/healthz` (process alive) and `/readyz` (every dependency answers; an outage says since when).

    The checks also serve as the outage registry's probes: while a dependency is down they are tried every
    few seconds, so its return is noticed (and logged once) even when nothing else uses it.
    """
    router = APIRouter(tags=["health"])
    for name, check in checks.items():
        OUTAGES.register_probe(name, check)

    @router.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: database and broker reachable")
    async def readyz() -> JSONResponse:
        async def run(name: str, check: Check) -> tuple[str, str | None]:
            try:
                await asyncio.wait_for(check(), timeout)
                return name, None
            except Exception as exc:  # noqa: BLE001 - report, don't raise
                return name, f"{type(exc).__name__}: {exc}"[:200]

        results = await asyncio.gather(*(run(n, c) for n, c in checks.items()))
        failed = {n: err for n, err in results if err}
        for name, err in results:
            if err:
                OUTAGES.failed(name, err)
            else:
                OUTAGES.recovered(name)
        body = {"status": "ready" if not failed else "not-ready",
                "checks": {n: ("ok" if not err else err) for n, err in results}}
        degraded = {n: v for n, v in OUTAGES.status().items() if n in checks}
        if degraded:
            body["degraded"] = degraded   # since when, failed attempts, last error
        if failed:
            body |= {"type": "https://alliance.example/problems/not-ready", "title": "Service Unavailable",
                     "status": 503}
            return JSONResponse(body, status_code=503, media_type=PROBLEM_JSON)
        return JSONResponse(body)

    return router
