"""gRPC aio interceptors carry the client's trace into the server span."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from opentelemetry import trace

from alliance_telemetry import grpc_client_interceptors, grpc_server_interceptor, tracer
from alliance_telemetry.testing import InMemorySpanExporter

METHOD = "/alliance.test.Echo/Say"


async def _say(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    return request[::-1]


@pytest.fixture
async def channel() -> AsyncIterator[grpc.aio.Channel]:
    server = grpc.aio.server(interceptors=[grpc_server_interceptor()])
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
        "alliance.test.Echo", {"Say": grpc.unary_unary_rpc_method_handler(_say)},
    )])
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(
        f"127.0.0.1:{port}", interceptors=grpc_client_interceptors()
    ) as ch:
        yield ch
    await server.stop(grace=None)


async def test_the_server_span_continues_the_client_trace(
    exporter: InMemorySpanExporter, channel: grpc.aio.Channel
) -> None:
    with tracer("tests.grpc").start_as_current_span("admin request") as root:
        assert await channel.unary_unary(METHOD)(b"abc") == b"cba"

    spans = {s.kind: s for s in exporter.get_finished_spans() if s.name == METHOD}
    client, server = spans[trace.SpanKind.CLIENT], spans[trace.SpanKind.SERVER]
    assert client.context.trace_id == root.get_span_context().trace_id
    assert server.context.trace_id == client.context.trace_id
    assert server.parent.span_id == client.context.span_id


async def test_health_checks_are_not_traced(
    exporter: InMemorySpanExporter, channel: grpc.aio.Channel
) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    response = await stub.Check(health_pb2.HealthCheckRequest(service=""))
    assert response.status == health_pb2.HealthCheckResponse.SERVING
    assert exporter.get_finished_spans() == ()
