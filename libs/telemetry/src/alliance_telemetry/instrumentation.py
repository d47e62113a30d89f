"""Thin wrappers around the OpenTelemetry FastAPI, gRPC (aio) and SQLAlchemy instrumentations."""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import grpc.aio
    from fastapi import FastAPI
    from sqlalchemy.engine import Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

#: Probe/scrape endpoints that would otherwise produce a trace every few seconds.
HEALTH_PATHS: tuple[str, ...] = ("/healthz", "/readyz", "/metrics")
#: gRPC services whose calls are not traced (health probes, reflection).
UNTRACED_GRPC_SERVICES: tuple[str, ...] = (
    "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
    "grpc.reflection.v1.ServerReflection",
)

_instrumented_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def instrument_fastapi(app: FastAPI, *, excluded_paths: Sequence[str] = HEALTH_PATHS) -> FastAPI:
    """Trace every request except ``excluded_paths``; no per-message send/receive spans."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    # Matched with re.search against scheme://host/path (no query), so anchor at the end.
    excluded = ",".join(f"{re.escape(path)}$" for path in excluded_paths)
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls=excluded, exclude_spans=["receive", "send"]
    )
    return app


def instrument_sqlalchemy(engine: AsyncEngine | Engine) -> None:
    """Trace statements of one engine (async engines via ``.sync_engine``); idempotent.

    Spans carry the statement text with placeholders, never bound parameters; sqlcommenter
    stays off. Uses the instrumentation's per-engine ``EngineTracer`` directly because
    ``SQLAlchemyInstrumentor`` is a process-wide singleton that instruments only one engine
    and also patches ``create_engine`` globally.
    """
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.instrumentation.sqlalchemy.version import __version__
    from opentelemetry.metrics import get_meter
    from opentelemetry.semconv.metrics import MetricInstruments
    from opentelemetry.trace import get_tracer

    sync_engine: Engine = getattr(engine, "sync_engine", engine)
    if sync_engine in _instrumented_engines:
        return
    scope = "opentelemetry.instrumentation.sqlalchemy"
    connections_usage = get_meter(scope, __version__).create_up_down_counter(
        name=MetricInstruments.DB_CLIENT_CONNECTIONS_USAGE,
        unit="connections",
        description="The number of connections that are currently in state described by the state attribute.",
    )
    EngineTracer(get_tracer(scope, __version__), sync_engine, connections_usage)
    _instrumented_engines.add(sync_engine)


def _untraced_filter(services: Sequence[str]) -> Any:
    """gRPC instrumentation filter that skips ``services`` (None when nothing is skipped)."""
    from opentelemetry.instrumentation.grpc.filters import any_of, negate, service_name

    if not services:
        return None
    return negate(any_of(*(service_name(name) for name in services)))


def grpc_server_interceptor(
    *, untraced_services: Sequence[str] = UNTRACED_GRPC_SERVICES
) -> grpc.aio.ServerInterceptor:
    """Interceptor for ``grpc.aio.server(interceptors=[...])``: server spans from client metadata."""
    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    return aio_server_interceptor(filter_=_untraced_filter(untraced_services))


def grpc_client_interceptors(
    *, untraced_services: Sequence[str] = UNTRACED_GRPC_SERVICES
) -> list[grpc.aio.ClientInterceptor]:
    """Interceptors for ``grpc.aio.insecure_channel(..., interceptors=...)`` (all four call kinds)."""
    from opentelemetry.instrumentation.grpc import aio_client_interceptors

    return aio_client_interceptors(filter_=_untraced_filter(untraced_services))
