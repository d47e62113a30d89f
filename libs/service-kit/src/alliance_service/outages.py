"""A lost database or broker is a 503 with Retry-After (never a 500), reported once to the outage log.

`install_outage_handlers(app, engine)` registers exception handlers for connection failures (SQLAlchemy,
asyncpg, OS-level, Kafka): problem+json, or an OperationOutcome with code `transient` under /fhir. It also
tells the outage registry when the engine hands out a connection again, so "database back" is logged.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Sequence
from typing import Any

from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

from alliance_messaging import dependency_of
from alliance_telemetry import OUTAGES

from .problems import problem_response

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5
FHIR_JSON = "application/fhir+json"
# the classes whose instances may be an outage; dependency_of decides for each instance
_CANDIDATES: tuple[type[BaseException], ...] = (sa_exc.DBAPIError, sa_exc.DisconnectionError, OSError, KafkaError)


def unavailable_body(dependency: str, fhir: bool) -> dict[str, Any]:
    what = {"kafka": "message broker"}.get(dependency, dependency)
    text = f"the {what} is unavailable for a moment; retry the same request after {RETRY_AFTER_S} s"
    if fhir:
        return {"resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "transient", "diagnostics": text}]}
    return {"type": "https://alliance.example/problems/service-unavailable", "title": "Service Unavailable",
            "status": 503, "detail": text, "dependency": dependency}


def unavailable_response(request: Request, dependency: str) -> JSONResponse:
    """503 + Retry-After: problem+json, or an OperationOutcome (code transient) under /fhir."""
    headers = {"Retry-After": str(RETRY_AFTER_S)}
    if request.url.path.startswith("/fhir"):
        return JSONResponse(unavailable_body(dependency, True), status_code=503, media_type=FHIR_JSON,
                            headers=headers)
    body = unavailable_body(dependency, False)
    return problem_response(503, "service-unavailable", body["title"], body["detail"], headers=headers,
                            dependency=dependency)


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    dependency = dependency_of(exc)
    if dependency is None:
        raise exc       # not an outage: the generic 500 path answers it
    OUTAGES.failed(dependency, exc)
    return unavailable_response(request, dependency)


def watch_engine(engine: AsyncEngine) -> None:
    """Report the database as back whenever the pool hands out a (pre-pinged) connection."""
    sync_engine = engine.sync_engine
    if event.contains(sync_engine, "checkout", _checked_out):
        return
    event.listen(sync_engine, "checkout", _checked_out)


def _checked_out(*_: Any) -> None:
    OUTAGES.recovered("database")


def install_outage_handlers(app: FastAPI, engine: AsyncEngine | None = None) -> None:
    """Connection failures → 503 + Retry-After on every route; the engine's successes end a database outage."""
    OUTAGES.classify = dependency_of      # tracebacks of a lost database/broker become outage summaries
    for cls in _CANDIDATES:
        app.add_exception_handler(cls, _handle)
    if engine is not None:
        watch_engine(engine)


def follow_in_grpc_health(servicer: Any, services: Sequence[str]) -> None:
    """gRPC health follows the database: NOT_SERVING while it is down, SERVING again when it is back."""
    from grpc_health.v1 import health_pb2

    ref = weakref.ref(servicer)
    remove = None

    def changed(name: str, available: bool) -> None:
        target = ref()
        if target is None:
            if remove is not None:
                remove()
            return
        if name != "database":
            return      # without the broker the service still answers (the outbox holds its events)
        status = health_pb2.HealthCheckResponse.SERVING if available else health_pb2.HealthCheckResponse.NOT_SERVING
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        for service in services:
            loop.create_task(target.set(service, status))

    remove = OUTAGES.add_listener(changed)
