"""`GET /metrics` (public: no patient data) and the service-wide gauges: dependency reachability."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from alliance_telemetry.metrics import PROMETHEUS_CONTENT_TYPE, ServiceMetrics


def metrics_router(metrics: ServiceMetrics) -> APIRouter:
    """The Prometheus scrape endpoint; samples the gauges (outbox, lag, ledger, ...) first."""
    router = APIRouter(tags=["health"])

    @router.get("/metrics", summary="Metrics in the Prometheus text format (public: no patient data)",
                response_class=PlainTextResponse,
                responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
    async def scrape() -> PlainTextResponse:
        await metrics.sample()
        return PlainTextResponse(metrics.render(), media_type=PROMETHEUS_CONTENT_TYPE)

    return router


def watch_dependencies(metrics: ServiceMetrics, checks: Mapping[str, Callable[[], Awaitable[None]]],
                       timeout: float = 3.0) -> None:
    """`alliance_dependency_up{dependency}`: 1 while the readiness check of that dependency passes, else 0."""
    up = metrics.gauge("alliance_dependency_up",
                       "1 while the dependency (database, kafka) answers the readiness check, else 0")

    async def sample() -> None:
        async def one(name: str, check: Callable[[], Awaitable[None]]) -> None:
            try:
                await asyncio.wait_for(check(), timeout)
                up.set(1, dependency=name)
            except Exception:  # noqa: BLE001 - the gauge says it
                up.set(0, dependency=name)

        await asyncio.gather(*(one(n, c) for n, c in checks.items()))

    metrics.add_sampler("dependencies", sample)
