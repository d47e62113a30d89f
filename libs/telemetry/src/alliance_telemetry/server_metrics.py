"""Request metrics at the edges: HTTP per route template, method and status class; gRPC per method and code."""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import grpc
from grpc import aio

from alliance_telemetry.metrics import ServiceMetrics

try:  # FastAPI >= 0.16x keeps included routers lazily: app.routes holds the inclusion, not its routes
    from fastapi.routing import iter_route_contexts as _flatten
except ImportError:  # pragma: no cover - older FastAPI copies every route into app.routes
    def _flatten(routes: Any) -> Any:
        return iter(routes)

#: The route label of a request no route matched (its path is never a label: it may carry identifiers).
UNMATCHED: Final = "<unmatched>"
_FACTORIES: Final = {
    "unary_unary": grpc.unary_unary_rpc_method_handler,
    "unary_stream": grpc.unary_stream_rpc_method_handler,
    "stream_unary": grpc.stream_unary_rpc_method_handler,
    "stream_stream": grpc.stream_stream_rpc_method_handler,
}
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class HttpMetricsMiddleware:
    """ASGI middleware: counts and times every HTTP request by route template, method and status class."""

    def __init__(self, app: Any, metrics: ServiceMetrics) -> None:
        self.app = app
        self._requests = metrics.counter(
            "alliance_http_requests", "HTTP requests by route template, method and status class")
        self._duration = metrics.histogram(
            "alliance_http_request_duration_seconds",
            "HTTP request latency in seconds (to the end of the response) by route template, method, status class")
        self._routes: list[Any] | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def tracked(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        finally:
            method = scope.get("method", "")
            attributes = {"route": self._template(scope), "method": method if method in _METHODS else "OTHER",
                          "status_class": f"{status // 100}xx"}
            self._requests.add(1, attributes)
            self._duration.record(time.perf_counter() - start, attributes)

    def _template(self, scope: Any) -> str:
        from starlette.routing import Match

        if self._routes is None:
            router = getattr(scope.get("app"), "router", None)
            self._routes = list(_flatten(getattr(router, "routes", ())))
        for route in self._routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return getattr(route, "path", UNMATCHED) or UNMATCHED
        return UNMATCHED


class GrpcMetricsInterceptor(aio.ServerInterceptor):
    """Counts and times every gRPC call by full method name and status code (outermost interceptor)."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self._calls = metrics.counter("alliance_grpc_requests", "gRPC calls handled, by method and status code")
        self._duration = metrics.histogram("alliance_grpc_request_duration_seconds",
                                           "gRPC call latency in seconds by method and status code")

    async def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails], Any],
                                handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        for kind, factory in _FACTORIES.items():
            behavior = getattr(handler, kind)
            if behavior is not None:
                return factory(self._wrap(behavior, handler_call_details.method),
                               request_deserializer=handler.request_deserializer,
                               response_serializer=handler.response_serializer)
        return handler

    def _record(self, method: str, start: float, context: Any, failed: BaseException | None) -> None:
        code = _code_of(context)
        if code is None:
            code = grpc.StatusCode.OK if failed is None else grpc.StatusCode.UNKNOWN
        attributes = {"method": method, "code": code.name}
        self._calls.add(1, attributes)
        self._duration.record(time.perf_counter() - start, attributes)

    def _wrap(self, behavior: Callable[..., Any], method: str) -> Callable[..., Any]:
        if inspect.isasyncgenfunction(behavior):
            async def streamed(request: Any, context: Any) -> AsyncIterator[Any]:
                start, failed = time.perf_counter(), None
                try:
                    async for response in behavior(request, context):
                        yield response
                except BaseException as exc:
                    failed = exc
                    raise
                finally:
                    self._record(method, start, context, failed)

            return streamed

        async def called(request: Any, context: Any) -> Any:
            start, failed = time.perf_counter(), None
            try:
                result = behavior(request, context)
                if inspect.isawaitable(result):
                    result = await result
                return result
            except BaseException as exc:
                failed = exc
                raise
            finally:
                self._record(method, start, context, failed)

        return called


def _code_of(context: Any) -> grpc.StatusCode | None:
    try:
        code = context.code()
    except Exception:  # noqa: BLE001 - contexts without a readable code
        return None
    if isinstance(code, grpc.StatusCode):
        return code
    if isinstance(code, int):  # aio contexts may report the raw integer
        return next((c for c in grpc.StatusCode if c.value[0] == code), None)
    return None
