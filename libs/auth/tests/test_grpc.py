"""gRPC server interceptor and client helpers against a real aio server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
from grpc import aio

from alliance_auth import Roles, TokenVerifier
from alliance_auth.dev import DevKeys
from alliance_auth.grpc import (
    AuthInterceptor,
    bearer_metadata,
    bearer_token,
    bearer_token_interceptors,
    current_principal,
    require_roles_grpc,
)


def _identity(data: bytes) -> bytes:
    return data


def _describe() -> bytes:
    principal = current_principal()
    roles = ",".join(sorted(principal.roles))
    return f"{principal.subject}|{principal.hospital_id}|{roles}".encode()


async def _whoami(request: bytes, context: aio.ServicerContext) -> bytes:
    await asyncio.sleep(0)
    return _describe()


async def _count(request: bytes, context: aio.ServicerContext) -> AsyncIterator[bytes]:
    for index in range(3):
        await asyncio.sleep(0)
        yield f"{current_principal().subject}:{index}".encode()


async def _write_twice(request: bytes, context: aio.ServicerContext) -> None:
    for _ in range(2):
        await context.write(_describe())


async def _admin_only(request: bytes, context: aio.ServicerContext) -> bytes:
    principal = await require_roles_grpc(context, Roles.ALLIANCE_ADMIN)
    return principal.subject.encode()


async def _anonymous(request: bytes, context: aio.ServicerContext) -> bytes:
    with pytest.raises(LookupError):
        current_principal()
    return b"SERVING"


async def _echo(
    requests: AsyncIterator[bytes], context: aio.ServicerContext
) -> AsyncIterator[bytes]:
    async for request in requests:
        yield current_principal().subject.encode() + b":" + request


def _sync_whoami(request: bytes, context: grpc.ServicerContext) -> bytes:
    return _describe()


def _sync_count(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
    for index in range(2):
        yield f"{current_principal().subject}:{index}".encode()


def _unary(behavior: Any) -> grpc.RpcMethodHandler:
    return grpc.unary_unary_rpc_method_handler(behavior, _identity, _identity)


def _streaming(behavior: Any) -> grpc.RpcMethodHandler:
    return grpc.unary_stream_rpc_method_handler(behavior, _identity, _identity)


HANDLERS = (
    grpc.method_handlers_generic_handler(
        "test.Echo",
        {
            "Whoami": _unary(_whoami),
            "Count": _streaming(_count),
            "WriteTwice": _streaming(_write_twice),
            "AdminOnly": _unary(_admin_only),
            "Public": _unary(_anonymous),
            "SyncWhoami": _unary(_sync_whoami),
            "SyncCount": _streaming(_sync_count),
            "Echo": grpc.stream_stream_rpc_method_handler(_echo, _identity, _identity),
        },
    ),
    grpc.method_handlers_generic_handler("grpc.health.v1.Health", {"Check": _unary(_anonymous)}),
)


@pytest.fixture
async def target(verifier: TokenVerifier) -> AsyncIterator[str]:
    interceptor = AuthInterceptor(verifier, skip_methods={"/test.Echo/Public"})
    with ThreadPoolExecutor(max_workers=2) as pool:
        server = aio.server(interceptors=[interceptor], migration_thread_pool=pool)
        server.add_generic_rpc_handlers(HANDLERS)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        yield f"127.0.0.1:{port}"
        await server.stop(None)


@pytest.fixture
async def channel(target: str) -> AsyncIterator[aio.Channel]:
    async with aio.insecure_channel(target) as channel:
        yield channel


def _unary_call(channel: aio.Channel, method: str) -> aio.UnaryUnaryMultiCallable:
    return channel.unary_unary(
        method, request_serializer=_identity, response_deserializer=_identity
    )


def _stream_call(channel: aio.Channel, method: str) -> aio.UnaryStreamMultiCallable:
    return channel.unary_stream(
        method, request_serializer=_identity, response_deserializer=_identity
    )


@pytest.fixture
def token(keys: DevKeys) -> str:
    return keys.issue("user-1", hospital_id="H001", roles=[Roles.HOSPITAL, Roles.QC_CENTER])


async def test_call_without_token_is_unauthenticated(channel: aio.Channel) -> None:
    with pytest.raises(aio.AioRpcError) as caught:
        await _unary_call(channel, "/test.Echo/Whoami")(b"")
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert caught.value.details() == "missing token"


async def test_stream_without_token_is_unauthenticated(channel: aio.Channel) -> None:
    with pytest.raises(aio.AioRpcError) as caught:
        [item async for item in _stream_call(channel, "/test.Echo/Count")(b"")]
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_expired_token_is_unauthenticated_with_reason(
    channel: aio.Channel, keys: DevKeys
) -> None:
    expired = keys.issue("user-1", roles=[Roles.HOSPITAL], ttl=60, now=time.time() - 3600)
    with pytest.raises(aio.AioRpcError) as caught:
        await _unary_call(channel, "/test.Echo/Whoami")(b"", metadata=bearer_metadata(expired))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert caught.value.details() == "token expired"


async def test_unary_handler_sees_the_principal(channel: aio.Channel, token: str) -> None:
    reply = await _unary_call(channel, "/test.Echo/Whoami")(b"", metadata=bearer_metadata(token))
    assert reply == b"user-1|H001|hospital,qc_center"


async def test_async_generator_stream_sees_the_principal(channel: aio.Channel, token: str) -> None:
    call = _stream_call(channel, "/test.Echo/Count")(b"", metadata=bearer_metadata(token))
    assert [item async for item in call] == [b"user-1:0", b"user-1:1", b"user-1:2"]


async def test_context_write_stream_sees_the_principal(channel: aio.Channel, token: str) -> None:
    call = _stream_call(channel, "/test.Echo/WriteTwice")(b"", metadata=bearer_metadata(token))
    assert [item async for item in call] == [b"user-1|H001|hospital,qc_center"] * 2


async def test_bidi_stream_sees_the_principal(channel: aio.Channel, token: str) -> None:
    echo = channel.stream_stream(
        "/test.Echo/Echo", request_serializer=_identity, response_deserializer=_identity
    )
    call = echo(iter([b"a", b"b"]), metadata=bearer_metadata(token))
    assert [item async for item in call] == [b"user-1:a", b"user-1:b"]


async def test_sync_handlers_see_the_principal(channel: aio.Channel, token: str) -> None:
    metadata = bearer_metadata(token)
    reply = await _unary_call(channel, "/test.Echo/SyncWhoami")(b"", metadata=metadata)
    assert reply == b"user-1|H001|hospital,qc_center"
    call = _stream_call(channel, "/test.Echo/SyncCount")(b"", metadata=metadata)
    assert [item async for item in call] == [b"user-1:0", b"user-1:1"]


async def test_sync_handler_without_token_is_unauthenticated(channel: aio.Channel) -> None:
    with pytest.raises(aio.AioRpcError) as caught:
        await _unary_call(channel, "/test.Echo/SyncWhoami")(b"")
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_concurrent_calls_keep_their_own_principal(
    channel: aio.Channel, keys: DevKeys
) -> None:
    whoami = _unary_call(channel, "/test.Echo/Whoami")
    tokens = [keys.issue(f"user-{n}", hospital_id=f"H{n:03}", roles=["hospital"]) for n in range(8)]
    replies = await asyncio.gather(*(whoami(b"", metadata=bearer_metadata(t)) for t in tokens))
    assert replies == [f"user-{n}|H{n:03}|hospital".encode() for n in range(8)]


async def test_health_check_skips_auth(channel: aio.Channel) -> None:
    assert await _unary_call(channel, "/grpc.health.v1.Health/Check")(b"") == b"SERVING"


async def test_configured_public_method_skips_auth(channel: aio.Channel) -> None:
    assert await _unary_call(channel, "/test.Echo/Public")(b"") == b"SERVING"


async def test_missing_role_is_permission_denied(channel: aio.Channel, token: str) -> None:
    with pytest.raises(aio.AioRpcError) as caught:
        await _unary_call(channel, "/test.Echo/AdminOnly")(b"", metadata=bearer_metadata(token))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert caught.value.details() == "insufficient role"


async def test_required_role_passes(channel: aio.Channel, keys: DevKeys) -> None:
    admin = keys.issue("admin-1", roles=[Roles.ALLIANCE_ADMIN])
    reply = await _unary_call(channel, "/test.Echo/AdminOnly")(b"", metadata=bearer_metadata(admin))
    assert reply == b"admin-1"


async def test_unknown_method_stays_unimplemented(channel: aio.Channel, token: str) -> None:
    with pytest.raises(aio.AioRpcError) as caught:
        await _unary_call(channel, "/test.Echo/Nope")(b"", metadata=bearer_metadata(token))
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_client_interceptor_forwards_the_token(target: str, token: str) -> None:
    interceptors = bearer_token_interceptors(lambda: token)
    async with aio.insecure_channel(target, interceptors=interceptors) as client:
        assert (await _unary_call(client, "/test.Echo/Whoami")(b"")).startswith(b"user-1|")
        call = _stream_call(client, "/test.Echo/Count")(b"")
        assert [item async for item in call][-1] == b"user-1:2"


async def test_client_interceptor_keeps_an_explicit_token(target: str, token: str) -> None:
    async with aio.insecure_channel(
        target, interceptors=bearer_token_interceptors("stale")
    ) as client:
        reply = await _unary_call(client, "/test.Echo/Whoami")(b"", metadata=bearer_metadata(token))
    assert reply.startswith(b"user-1|")


def test_current_principal_outside_an_rpc_raises() -> None:
    with pytest.raises(LookupError):
        current_principal()


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ((("authorization", "Bearer abc"),), "abc"),
        ((("authorization", "bearer  abc "),), "abc"),
        ((("authorization", "Basic abc"),), ""),
        ((("x-other", "Bearer abc"),), ""),
        (None, ""),
    ],
)
def test_bearer_token_parses_metadata(metadata: Any, expected: str) -> None:
    assert bearer_token(metadata) == expected


async def test_hospital_token_without_hospital_id_is_unauthenticated(
    channel: aio.Channel, keys: DevKeys
) -> None:
    token = keys.issue("user-1", roles=[Roles.HOSPITAL])
    with pytest.raises(aio.AioRpcError) as caught:
        await _unary_call(channel, "/test.Echo/Whoami")(b"", metadata=bearer_metadata(token))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert caught.value.details() == "role hospital requires a hospital_id claim"
