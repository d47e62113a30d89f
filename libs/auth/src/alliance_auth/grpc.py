"""gRPC integration: server auth interceptor, principal contextvar and client token forwarding."""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Final

import grpc
from grpc import aio

from alliance_auth.errors import INSUFFICIENT_ROLE, MISSING_TOKEN, AuthError
from alliance_auth.principal import Principal
from alliance_auth.roles import ANY_ROLE_SCOPED, DECLARATION_ATTR, NO_ROLE, RoleDeclaration
from alliance_auth.verifier import TokenVerifier

AUTHORIZATION: Final = "authorization"
ALWAYS_PUBLIC_METHODS: Final = frozenset(
    {
        "/grpc.health.v1.Health/Check",
        "/grpc.health.v1.Health/Watch",
        "/grpc.health.v1.Health/List",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    }
)

_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "alliance_auth_principal", default=None
)
_FACTORIES: Final = {
    "unary_unary": grpc.unary_unary_rpc_method_handler,
    "unary_stream": grpc.unary_stream_rpc_method_handler,
    "stream_unary": grpc.stream_unary_rpc_method_handler,
    "stream_stream": grpc.stream_stream_rpc_method_handler,
}

Behavior = Callable[..., Any]


def current_principal() -> Principal:
    """Return the Principal of the RPC being handled; raise LookupError outside one."""
    principal = _principal.get()
    if principal is None:
        raise LookupError("no authenticated principal in this context")
    return principal


async def require_roles_grpc(context: aio.ServicerContext[Any, Any], *roles: str) -> Principal:
    """Return the current Principal if it holds any of `roles`, else abort PERMISSION_DENIED."""
    principal = _principal.get()
    if principal is None:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, MISSING_TOKEN)
    if not principal.has_role(*roles):
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, INSUFFICIENT_ROLE)
    return principal


def grpc_roles(*roles: str, scoped: bool = False) -> Callable[[Behavior], Behavior]:
    """Declare (and enforce) the roles that may call an async servicer method; others get PERMISSION_DENIED.

    The one place a gRPC method states who may call it: the method carries its RoleDeclaration (attribute
    `alliance_roles`), read by `method_roles` for docs/authorization.md and the security matrix.
    """
    if not roles:
        raise ValueError("grpc_roles needs at least one role")
    declaration = RoleDeclaration(frozenset(roles), scoped)

    def decorate(method: Behavior) -> Behavior:
        @functools.wraps(method)
        async def checked(self: Any, request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
            await require_roles_grpc(context, *roles)
            return await method(self, request, context)

        setattr(checked, DECLARATION_ATTR, declaration)
        return checked

    return decorate


def method_roles(behavior: Behavior | None) -> RoleDeclaration:
    """The declaration of a servicer method; an undeclared one admits any authenticated role."""
    declaration = getattr(behavior, DECLARATION_ATTR, None)
    return declaration if isinstance(declaration, RoleDeclaration) else ANY_ROLE_SCOPED


class _Registrar:
    """Stands in for a grpc.aio.Server to collect the method handlers a service registers."""

    def __init__(self) -> None:
        self.handlers: dict[str, grpc.RpcMethodHandler] = {}

    def add_generic_rpc_handlers(self, handlers: Iterable[Any]) -> None:
        for handler in handlers:
            self.handlers.update(getattr(handler, "_method_handlers", {}))

    def add_registered_method_handlers(self, service: str, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        self.handlers.update({f"/{service}/{name}": h for name, h in handlers.items()})


def registered_methods(register: Callable[[Any], object]) -> dict[str, grpc.RpcMethodHandler]:
    """Full method name → handler for everything `register(server)` adds to a server (nothing is started)."""
    registrar = _Registrar()
    register(registrar)
    return dict(sorted(registrar.handlers.items()))


def handler_roles(handler: grpc.RpcMethodHandler) -> RoleDeclaration:
    """The declaration of a registered method handler's behaviour."""
    behavior = (handler.unary_unary or handler.unary_stream or handler.stream_unary or handler.stream_stream)
    return method_roles(behavior)


def bearer_token(metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
    """Return the bearer token from invocation metadata, or "" if absent."""
    for key, value in metadata or ():
        if key.lower() == AUTHORIZATION and isinstance(value, str):
            scheme, _, token = value.strip().partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return ""


def bearer_metadata(token: str) -> tuple[tuple[str, str], ...]:
    """Return call metadata carrying `token` as a bearer credential."""
    return ((AUTHORIZATION, f"Bearer {token}"),)


class AuthInterceptor(aio.ServerInterceptor):
    """Authenticates every RPC except health, reflection and `skip_methods`."""

    def __init__(self, verifier: TokenVerifier, skip_methods: Iterable[str] = ()) -> None:
        self._verifier = verifier
        self._skip = ALWAYS_PUBLIC_METHODS | frozenset(skip_methods)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        """Wrap the method handler so its behaviour runs authenticated."""
        handler = await continuation(handler_call_details)
        if handler is None or handler_call_details.method in self._skip:
            return handler
        token = bearer_token(handler_call_details.invocation_metadata)
        for kind, factory in _FACTORIES.items():
            behavior = getattr(handler, kind)
            if behavior is not None:
                return factory(
                    self._guard(behavior, kind.endswith("_stream"), token),
                    request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer,
                )
        return handler

    def _guard(self, behavior: Behavior, streams_out: bool, token: str) -> Behavior:
        """Return `behavior` wrapped to authenticate first and expose the Principal."""
        if inspect.isasyncgenfunction(behavior):
            return _guard_async_stream(behavior, self._verifier, token)
        if inspect.iscoroutinefunction(behavior):
            return _guard_async(behavior, self._verifier, token)
        if streams_out:
            return _guard_sync_stream(behavior, self._verifier, token)
        return _guard_sync(behavior, self._verifier, token)


class _BearerToken:
    """Adds `authorization: Bearer <token>` to outgoing calls that do not set one."""

    def __init__(self, token: str | Callable[[], str]) -> None:
        self._token = token

    def _details(self, details: aio.ClientCallDetails) -> aio.ClientCallDetails:
        """Return call details with the bearer token added."""
        metadata = aio.Metadata(*(details.metadata or ()))
        if AUTHORIZATION not in metadata:
            token = self._token() if callable(self._token) else self._token
            metadata.add(AUTHORIZATION, f"Bearer {token}")
        return aio.ClientCallDetails(
            details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
        )


class _UnaryUnaryBearer(_BearerToken, aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        """Forward the token on a unary-unary call."""
        return await continuation(self._details(details), request)


class _UnaryStreamBearer(_BearerToken, aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        """Forward the token on a unary-stream call."""
        return await continuation(self._details(details), request)


class _StreamUnaryBearer(_BearerToken, aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        """Forward the token on a stream-unary call."""
        return await continuation(self._details(details), requests)


class _StreamStreamBearer(_BearerToken, aio.StreamStreamClientInterceptor):
    async def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        """Forward the token on a stream-stream call."""
        return await continuation(self._details(details), requests)


def bearer_token_interceptors(token: str | Callable[[], str]) -> list[aio.ClientInterceptor]:
    """Return aio client interceptors forwarding `token` (or `token()`) on every call kind."""
    kinds = (_UnaryUnaryBearer, _UnaryStreamBearer, _StreamUnaryBearer, _StreamStreamBearer)
    return [kind(token) for kind in kinds]


@contextmanager
def _acting_as(principal: Principal) -> Iterator[None]:
    """Expose `principal` through current_principal() for the duration of the block."""
    reset = _principal.set(principal)
    try:
        yield
    finally:
        _principal.reset(reset)


async def _authenticate(verifier: TokenVerifier, token: str, context: Any) -> Principal:
    """Verify `token` or abort the RPC with UNAUTHENTICATED."""
    try:
        principal = await verifier.averify(token)
    except AuthError as exc:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, exc.reason)
        raise
    if not principal.roles:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, NO_ROLE)
    return principal


def _authenticate_sync(verifier: TokenVerifier, token: str, context: Any) -> Principal:
    """Verify `token` in a sync handler thread or abort with UNAUTHENTICATED."""
    try:
        principal = verifier.verify(token)
    except AuthError as exc:
        context.abort(grpc.StatusCode.UNAUTHENTICATED, exc.reason)
        raise
    if not principal.roles:
        context.abort(grpc.StatusCode.UNAUTHENTICATED, NO_ROLE)
    return principal


def _guard_async(behavior: Behavior, verifier: TokenVerifier, token: str) -> Behavior:
    """Guard a coroutine behaviour."""

    async def guarded(request: Any, context: Any) -> Any:
        principal = await _authenticate(verifier, token, context)
        with _acting_as(principal):
            return await behavior(request, context)

    return guarded


def _guard_async_stream(behavior: Behavior, verifier: TokenVerifier, token: str) -> Behavior:
    """Guard an async-generator behaviour, exposing the Principal during each step."""

    async def guarded(request: Any, context: Any) -> AsyncIterator[Any]:
        principal = await _authenticate(verifier, token, context)
        responses = behavior(request, context)
        try:
            while True:
                with _acting_as(principal):
                    try:
                        response = await anext(responses)
                    except StopAsyncIteration:
                        return
                yield response
        finally:
            await responses.aclose()

    return guarded


def _guard_sync(behavior: Behavior, verifier: TokenVerifier, token: str) -> Behavior:
    """Guard a plain function behaviour run on the server's thread pool."""

    def guarded(request: Any, context: Any) -> Any:
        principal = _authenticate_sync(verifier, token, context)
        with _acting_as(principal):
            return behavior(request, context)

    return guarded


def _guard_sync_stream(behavior: Behavior, verifier: TokenVerifier, token: str) -> Behavior:
    """Guard a response-streaming sync behaviour, exposing the Principal during each step."""

    def guarded(request: Any, context: Any) -> Iterator[Any]:
        principal = _authenticate_sync(verifier, token, context)
        with _acting_as(principal):
            responses = iter(behavior(request, context))
        try:
            while True:
                with _acting_as(principal):
                    try:
                        response = next(responses)
                    except StopIteration:
                        return
                yield response
        finally:
            close = getattr(responses, "close", None)
            if close is not None:
                close()

    return guarded
