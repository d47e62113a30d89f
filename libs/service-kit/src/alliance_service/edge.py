"""The HTTP edge: what every request passes before any route, dependency or body parser sees it.

In order: NUL bytes in the URL (400); the bearer token of every route that needs a principal (401, verified
once; `get_principal` reuses it); the body size (413, from Content-Length or counted while streaming); C0
control characters in JSON, CSV and form bodies (422). Then the route runs, and an exception no handler
took is answered with a 500 that says nothing internal, is logged once, and leaves the connection usable.
Every refusal is rendered by the app's own exception handlers, so a service that words errors differently
under a prefix (data-exchange: OperationOutcome under /fhir) gets its own form here too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from starlette.routing import Match

try:  # FastAPI >= 0.16x keeps included routers lazily: app.routes holds the inclusion, not its routes
    from fastapi.routing import iter_route_contexts as _flatten
except ImportError:  # pragma: no cover - older FastAPI copies every route into app.routes
    def _flatten(routes: Any) -> Iterator[Any]:
        return iter(routes)

from alliance_auth import AuthError
from alliance_auth.errors import MISSING_TOKEN
from alliance_auth.fastapi import get_principal, get_verifier

from .problems import Problem

MIB: Final = 1 << 20
DEFAULT_MAX_REQUEST_BYTES: Final = MIB
#: What the routes that take whole batches (FHIR transaction Bundles, CSV imports, HL7) usually declare.
LARGE_REQUEST_BYTES: Final = 16 * MIB
_MESSAGE_CHARS: Final = 500
#: A declared body at most this much over the limit is still read (and dropped) by the server after the 413, so
#: the client, which is usually still sending, can read the answer and keep the connection; beyond it, we close.
DRAIN_BYTES: Final = 4 * MIB

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class RequestTooLarge(Problem):
    """413: the body is larger than the route accepts."""

    def __init__(self, limit: int, *, close: bool = False) -> None:
        super().__init__(413, "request-too-large", "Content Too Large", f"the request body exceeds {limit} bytes",
                         headers={"Connection": "close"} if close else None, limit=limit)


class ControlCharacter(Problem):
    """422: text in the body carries NUL or another C0 control character."""

    def __init__(self, code_point: int) -> None:
        character = f"U+{code_point:04X}"
        super().__init__(422, "control-character", "Unprocessable Content",
                         f"the request body contains the control character {character}; text may not contain "
                         "NUL or other control characters except tab, line feed and carriage return",
                         character=character)


_RAW_C0: Final = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# a JSON escape whose backslash is not itself escaped: an even run of backslashes, then \uXXXX, \b or \f
_ESCAPED_C0: Final = re.compile(rb"(?<!\\)(?:\\\\)*\\(u00[01][0-9a-fA-F]|[bf])")
_ALLOWED_ESCAPES: Final = frozenset({0x09, 0x0A, 0x0D})
_URL_NUL: Final = re.compile(rb"%00|\x00")


def control_character(content_type: str | None, body: bytes) -> int | None:
    """The first forbidden control character in `body` (as a code point), judged by its media type."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if not media or media == "application/json" or media.endswith("+json") or media.endswith("/json"):
        raw = _RAW_C0.search(body)
        if raw:
            return raw.group()[0]
        for escape in _ESCAPED_C0.finditer(body):
            name = escape.group(1)
            code = {b"b": 0x08, b"f": 0x0C}.get(name) or int(name[1:], 16)
            if code not in _ALLOWED_ESCAPES:
                return code
        return None
    if media == "application/x-www-form-urlencoded":
        return 0 if _URL_NUL.search(body) else None
    if media.startswith("text/"):
        return 0 if b"\x00" in body else None
    return None


@dataclass(frozen=True, slots=True)
class RoutePolicy:
    """What the edge enforces for one route."""

    public: bool
    max_bytes: int


def routes_of(app: FastAPI) -> list[Any]:
    """Every route the app serves, each with its full path and its effective dependencies (router-level too)."""
    return list(_flatten(app.router.routes))


def needs_principal(route: Any) -> bool:
    """Whether a route (or any route under a mount) depends on the authenticated principal."""
    dependant = getattr(route, "dependant", None)
    if isinstance(dependant, Dependant):
        return any(call is get_principal for call in _calls(dependant))
    children = getattr(route, "routes", None)
    return bool(children) and any(needs_principal(child) for child in _flatten(children))


def _calls(dependant: Dependant) -> Iterator[Any]:
    yield dependant.call
    for child in dependant.dependencies:
        yield from _calls(child)


class EdgeMiddleware:
    """Pure ASGI middleware guarding every HTTP request before its body is parsed (see the module doc)."""

    def __init__(self, app: Any, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
                 body_limits: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.body_limits = dict(body_limits or {})
        self._policies: dict[int, RoutePolicy] = {}
        self._routes: list[Any] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self._guard(scope, receive, tracked)
        except Exception as exc:  # the safety net: nothing below answered for this exception
            await self._unexpected(scope, receive, tracked, exc, response_started=started)

    async def _guard(self, scope: Scope, receive: Receive, send: Send) -> None:
        app: FastAPI = scope["app"]
        if _URL_NUL.search(scope.get("raw_path") or b"") or "\x00" in scope.get("path", "") \
                or _URL_NUL.search(scope.get("query_string", b"")):
            await _answer(scope, receive, send, Problem(400, "bad-request", "Bad Request",
                                                        "NUL bytes are not allowed in URLs"))
            return
        route = self._route(app, scope)
        if route is None:  # 404 or 405: the router answers without reading anything
            await self.app(scope, receive, send)
            return
        policy = self._policy(route)
        if not policy.public:
            try:
                principal = await _authenticate(scope)
            except AuthError as exc:
                await _answer(scope, receive, send, exc)
                return
            scope.setdefault("state", {})["principal"] = principal
        declared = _content_length(scope)
        if declared is not None and declared > policy.max_bytes:
            close = declared > policy.max_bytes + DRAIN_BYTES
            await _answer(scope, receive, send, RequestTooLarge(policy.max_bytes, close=close))
            return
        body, complete = await _read_body(receive, policy.max_bytes)
        if not complete:
            return  # the client went away before sending all of it: nobody to answer
        if body is None:
            await _answer(scope, receive, send, RequestTooLarge(policy.max_bytes))
            return
        code = control_character(_header(scope, b"content-type"), body)
        if code is not None:
            await _answer(scope, receive, send, ControlCharacter(code))
            return
        await self.app(scope, _replay(body, receive), send)

    def _route(self, app: FastAPI, scope: Scope) -> Any | None:
        if self._routes is None:
            self._routes = routes_of(app)
        for route in self._routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return route
        return None

    def _policy(self, route: Any) -> RoutePolicy:
        policy = self._policies.get(id(route))
        if policy is None:
            declared = self.body_limits.get(getattr(route, "path", ""), 0)
            policy = RoutePolicy(public=not needs_principal(route),
                                 max_bytes=max(declared, self.max_request_bytes))
            self._policies[id(route)] = policy
        return policy

    async def _unexpected(self, scope: Scope, receive: Receive, send: Send, exc: Exception, *,
                          response_started: bool) -> None:
        app: FastAPI = scope["app"]
        handler, generic = _handler_for(app, exc)
        if generic:
            route = self._route(app, scope)
            where = f"{scope.get('method', '')} {getattr(route, 'path', '(no route)')}"
            log.error("unhandled %s in %s", type(exc).__name__, where, exc_info=exc,
                      extra={"fields": {"error_type": type(exc).__name__, "route": where,
                                        "error": str(exc)[:_MESSAGE_CHARS]}})
            span = trace.get_current_span()
            if span.is_recording():
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        if response_started or handler is None:
            return  # too late to answer: the status line went out; the server closes the connection
        response = await handler(Request(scope, receive), exc)
        await response(scope, receive, send)


def install_edge(app: FastAPI, *, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
                 body_limits: Mapping[str, int] | None = None) -> None:
    """Put the edge around `app`'s routes; `body_limits` maps route paths to larger body limits (bytes)."""
    paths = {getattr(route, "path", None) for route in routes_of(app)}
    unknown = sorted(set(body_limits or {}) - paths)
    if unknown:
        raise ValueError(f"body limits declared for paths no route serves: {unknown}")
    app.add_middleware(EdgeMiddleware, max_request_bytes=max_request_bytes, body_limits=body_limits)


async def _authenticate(scope: Scope) -> Any:
    request = Request(scope)
    scheme, _, token = (request.headers.get("authorization") or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(MISSING_TOKEN)
    return await get_verifier(request).averify(token.strip())


def _handler_for(app: FastAPI, exc: Exception) -> tuple[Any | None, bool]:
    """The app's handler for `exc` (most specific class first) and whether it is the catch-all one."""
    for cls in type(exc).__mro__:
        handler = app.exception_handlers.get(cls)
        if handler is not None:
            return handler, cls in (Exception, BaseException)
    return None, True


async def _answer(scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
    """Answer with the app's own rendering of `exc` (problem+json, or a service's form for its prefix)."""
    handler, _ = _handler_for(scope["app"], exc)
    if handler is None:
        raise exc
    response = await handler(Request(scope, receive), exc)
    await response(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


async def _read_body(receive: Receive, limit: int) -> tuple[bytes | None, bool]:
    """(body, complete): None as soon as it exceeds `limit` bytes (chunks are counted as they come)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None, True
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive channel that yields the already-read body once, then whatever the client sends next."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
