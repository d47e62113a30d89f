"""Composition of one service process: HTTP, gRPC, consumer and outbox relay around one engine."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import grpc
import uvicorn
from fastapi import APIRouter, FastAPI
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from alliance_auth import JwksSource, TokenVerifier
from alliance_auth.fastapi import install_auth
from alliance_auth.grpc import AuthInterceptor
from alliance_messaging import (
    BatchHandler,
    EventConsumer,
    Handler,
    MessagingTables,
    OutboxRelay,
    dlq_topic,
    ensure_topics,
    idempotent_producer,
    supervise,
)
from alliance_telemetry import (
    grpc_server_interceptor,
    instrument_fastapi,
    instrument_sqlalchemy,
    setup_telemetry,
)
from alliance_telemetry.metrics import ServiceMetrics
from alliance_telemetry.server_metrics import GrpcMetricsInterceptor, HttpMetricsMiddleware

from .edge import install_edge
from .grpc_edge import UnexpectedErrorInterceptor
from .health import KafkaProbe, database_check, health_router, outbox_check
from .metrics import metrics_router, watch_dependencies
from .migrations import assert_migrated
from .openapi import install_openapi
from .outages import follow_in_grpc_health, install_outage_handlers
from .problems import install_problem_handlers
from .settings import ServiceSettings
from .uow import UnitOfWork

log = logging.getLogger(__name__)


class ExtraServer(Protocol):
    """Another listener a service runs beside HTTP and gRPC (e.g. HL7 MLLP)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class ServiceSpec:
    """What makes a service itself; everything else is the same machinery."""

    name: str
    title: str
    settings_type: type[ServiceSettings]
    metadata: MetaData
    tables: MessagingTables
    stream_topic: str
    service_dir: Path
    routers: Callable[[Runtime], Sequence[APIRouter]]
    handlers: Callable[[Runtime], Mapping[str, Handler]] = lambda _: {}
    # optional fast paths: a run of consecutive events of one type applied in one call (see EventConsumer)
    batch_handlers: Callable[[Runtime], Mapping[str, BatchHandler]] = lambda _: {}
    subscriptions: Sequence[str] = ()
    grpc_services: Callable[[Runtime, grpc.aio.Server], Sequence[str]] = lambda _rt, _srv: ()
    servers: Callable[[Runtime], Sequence[ExtraServer]] = lambda _: ()
    configure: Callable[[Runtime], None] = lambda _: None   # builds service-specific parts into extras
    customize_app: Callable[[FastAPI], None] = lambda _: None  # e.g. protocol-specific error bodies
    # routes (by path template) that legitimately take bodies above MAX_REQUEST_BYTES, e.g. {"/fhir": 16 MiB}
    body_limits: Mapping[str, int] = field(default_factory=dict)
    description: str = ""
    version: str = "0.1.0"


@dataclass
class Runtime:
    """A running (or startable) service: the composition root's product."""

    spec: ServiceSpec
    settings: ServiceSettings
    engine: AsyncEngine
    verifier: TokenVerifier
    relay: OutboxRelay
    consumer: EventConsumer | None
    app: FastAPI = field(init=False)
    grpc_server: grpc.aio.Server | None = None
    grpc_port: int | None = None
    http_port: int | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    metrics: ServiceMetrics | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _http: uvicorn.Server | None = None
    _kafka_probe: KafkaProbe | None = None
    _servers: list[ExtraServer] = field(default_factory=list)

    @property
    def source(self) -> str:
        return f"/alliance/{self.spec.name}"

    def uow(self) -> UnitOfWork:
        """A unit of work whose commit wakes the relay."""
        return UnitOfWork(self.engine, self.spec.tables.outbox, self.source, on_commit=self.relay.notify,
                          topic_prefix=self.settings.topic_prefix)

    def topic(self, name: str) -> str:
        """The topic as named on this deployment's cluster."""
        return self.settings.topic_prefix + name

    async def start(self, *, http: bool = True, grpc_enabled: bool = True, background: bool = True) -> None:
        """Check migrations, create topics, then start relay, consumer, gRPC and HTTP."""
        s = self.settings
        await assert_migrated(self.engine, self.spec.service_dir)
        topics = [self.topic(t) for t in (self.spec.stream_topic, *self.spec.subscriptions)]
        await ensure_topics(s.kafka_bootstrap, [*topics, *(dlq_topic(t) for t in topics)],
                            s.topic_partitions, s.topic_replication_factor, s.kafka_security)
        if background:
            # supervised: a relay or consumer loop that dies is logged once and restarted, never silently gone
            self._tasks.append(asyncio.create_task(supervise("relay", self.relay.run, self._stop), name="relay"))
            if self.consumer is not None:
                self._tasks.append(asyncio.create_task(supervise("consumer", self.consumer.run, self._stop),
                                                       name="consumer"))
            if self.metrics is not None and s.otlp_endpoint:   # keep exported gauges fresh between scrapes
                self._tasks.append(asyncio.create_task(self.metrics.run_sampling(self._stop, 30.0), name="metrics"))
        if grpc_enabled:
            await self._start_grpc()
        for server in self.spec.servers(self):
            await server.start()
            self._servers.append(server)
        if http:
            await self._start_http()
        log.info("service started", extra={"fields": {"http_port": self.http_port,
                                                      "grpc_port": self.grpc_port}})

    async def _start_grpc(self) -> None:
        measured = [GrpcMetricsInterceptor(self.metrics)] if self.metrics is not None else []
        server = grpc.aio.server(interceptors=[*measured, grpc_server_interceptor(), UnexpectedErrorInterceptor(),
                                               AuthInterceptor(self.verifier)])
        names = list(self.spec.grpc_services(self, server))
        reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
        health_servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        for name in ["", *names]:
            await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        follow_in_grpc_health(health_servicer, ["", *names])
        self.grpc_port = server.add_insecure_port(f"{self.settings.grpc_host}:{self.settings.grpc_port}")
        await server.start()
        self.grpc_server = server

    async def _start_http(self) -> None:
        config = uvicorn.Config(self.app, host=self.settings.http_host, port=self.settings.http_port,
                                log_config=None, access_log=False, lifespan="off")
        server = uvicorn.Server(config)
        self._http = server
        self._tasks.append(asyncio.create_task(server.serve(), name="http"))
        while not server.started:
            if self._tasks[-1].done():
                self._tasks[-1].result()
            await asyncio.sleep(0.02)
        self.http_port = server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop accepting, finish in-flight work, close clients."""
        self._stop.set()
        self.relay.notify()
        if self._http is not None:
            self._http.should_exit = True
        if self.grpc_server is not None:
            await self.grpc_server.stop(grace=2)
        for server in reversed(self._servers):
            await server.stop()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=15)
        if self._kafka_probe is not None:
            await self._kafka_probe.close()
        await self.engine.dispose()
        if self.metrics is not None:
            self.metrics.shutdown()

    async def wait_stopped(self) -> None:
        await self._stop.wait()

    def request_stop(self) -> None:
        self._stop.set()


def build_runtime(spec: ServiceSpec, settings: ServiceSettings | None = None) -> Runtime:
    """The composition root: settings → engine, verifier, relay, consumer, app."""
    s = settings or spec.settings_type()  # type: ignore[call-arg]
    setup_telemetry(spec.name, otlp_endpoint=s.otlp_endpoint, log_level=s.log_level)
    engine = create_async_engine(s.database_url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    instrument_sqlalchemy(engine)
    metrics = ServiceMetrics(spec.name, otlp_endpoint=s.otlp_endpoint)
    verifier = TokenVerifier(JwksSource(s.jwks), issuer=s.jwt_issuer, audience=s.jwt_audience)
    relay = OutboxRelay(engine, spec.tables.outbox,
                        lambda: idempotent_producer(s.kafka_bootstrap, f"{spec.name}-relay", s.kafka_security),
                        name=spec.name, metrics=metrics)
    runtime = Runtime(spec=spec, settings=s, engine=engine, verifier=verifier, relay=relay, consumer=None,
                      metrics=metrics)
    spec.configure(runtime)
    handlers = dict(spec.handlers(runtime))
    if spec.subscriptions and handlers:
        runtime.consumer = EventConsumer(
            engine=engine, processed_events=spec.tables.processed_events, bootstrap=s.kafka_bootstrap,
            group_id=s.consumer_group or spec.name, topics=[runtime.topic(t) for t in spec.subscriptions],
            handlers=handlers, batch_handlers=dict(spec.batch_handlers(runtime)), security=s.kafka_security,
            metrics=metrics,
        )
    runtime.app = build_app(runtime)
    return runtime


def build_app(runtime: Runtime) -> FastAPI:
    """The FastAPI application: problem+json errors, auth, health, the service's routers, the edge guard."""
    spec = runtime.spec
    app = FastAPI(title=spec.title, description=spec.description, version=spec.version)
    app.state.runtime = runtime
    install_problem_handlers(app)
    install_outage_handlers(app, runtime.engine)
    install_auth(app, runtime.verifier)
    runtime._kafka_probe = KafkaProbe(runtime.settings.kafka_bootstrap, runtime.settings.kafka_security)
    app.include_router(health_router({"database": database_check(runtime.engine),
                                      "kafka": runtime._kafka_probe, "outbox": outbox_check(runtime.relay)}))
    if runtime.metrics is not None:   # the scrape, and the readiness checks as alliance_dependency_up
        app.include_router(metrics_router(runtime.metrics))
        watch_dependencies(runtime.metrics, {"database": database_check(runtime.engine),
                                             "kafka": runtime._kafka_probe})
    for router in spec.routers(runtime):
        app.include_router(router)
    spec.customize_app(app)
    install_openapi(app)
    install_edge(app, max_request_bytes=runtime.settings.max_request_bytes, body_limits=spec.body_limits)
    instrument_fastapi(app)
    if runtime.metrics is not None:
        app.add_middleware(HttpMetricsMiddleware, metrics=runtime.metrics)
    return app
