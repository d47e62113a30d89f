"""The gRPC safety net: INTERNAL "internal error" for unexpected exceptions, logged once; aborts keep their codes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc import aio

from alliance_service.grpc_edge import UnexpectedErrorInterceptor


def _identity(data: bytes) -> bytes:
    return data


async def _boom(request: bytes, context: aio.ServicerContext) -> bytes:
    raise ValueError("year 0 is out of range; SELECT * FROM internals")


async def _not_found(request: bytes, context: aio.ServicerContext) -> bytes:
    await context.abort(grpc.StatusCode.NOT_FOUND, "patient not found")
    return b""


async def _fine(request: bytes, context: aio.ServicerContext) -> bytes:
    return b"ok:" + request


async def _stream_boom(request: bytes, context: aio.ServicerContext) -> AsyncIterator[bytes]:
    yield b"first"
    raise KeyError("hidden")


def _sync_boom(request: bytes, context: grpc.ServicerContext) -> bytes:
    raise ZeroDivisionError("sync internals")


HANDLERS = grpc.method_handlers_generic_handler("test.Net", {
    "Boom": grpc.unary_unary_rpc_method_handler(_boom, _identity, _identity),
    "NotFound": grpc.unary_unary_rpc_method_handler(_not_found, _identity, _identity),
    "Fine": grpc.unary_unary_rpc_method_handler(_fine, _identity, _identity),
    "StreamBoom": grpc.unary_stream_rpc_method_handler(_stream_boom, _identity, _identity),
    "SyncBoom": grpc.unary_unary_rpc_method_handler(_sync_boom, _identity, _identity),
})


@pytest.fixture
async def channel() -> AsyncIterator[aio.Channel]:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        server = aio.server(interceptors=[UnexpectedErrorInterceptor()], migration_thread_pool=pool)
        server.add_generic_rpc_handlers((HANDLERS,))
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel
        await server.stop(None)


async def _call(channel: aio.Channel, method: str) -> aio.AioRpcError:
    with pytest.raises(aio.AioRpcError) as caught:
        await channel.unary_unary(f"/test.Net/{method}", _identity, _identity)(b"x")
    return caught.value


@pytest.mark.parametrize("method", ["Boom", "SyncBoom"])
async def test_an_unexpected_exception_is_internal_without_python_details(
    channel: aio.Channel, caplog: pytest.LogCaptureFixture, method: str
) -> None:
    with caplog.at_level(logging.INFO):
        error = await _call(channel, method)
    assert (error.code(), error.details()) == (grpc.StatusCode.INTERNAL, "internal error")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert errors[0].fields["rpc"] == f"/test.Net/{method}" and errors[0].exc_info is not None


async def test_a_stream_that_fails_midway_ends_internal(channel: aio.Channel) -> None:
    call = channel.unary_stream("/test.Net/StreamBoom", _identity, _identity)(b"x")
    received = []
    with pytest.raises(aio.AioRpcError) as caught:
        async for item in call:
            received.append(item)
    assert received == [b"first"]
    assert (caught.value.code(), caught.value.details()) == (grpc.StatusCode.INTERNAL, "internal error")


async def test_intentional_aborts_keep_their_code(channel: aio.Channel, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        error = await _call(channel, "NotFound")
    assert (error.code(), error.details()) == (grpc.StatusCode.NOT_FOUND, "patient not found")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_normal_calls_pass_through(channel: aio.Channel) -> None:
    assert await channel.unary_unary("/test.Net/Fine", _identity, _identity)(b"x") == b"ok:x"
