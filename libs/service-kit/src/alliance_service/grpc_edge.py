"""The gRPC safety net: an exception no servicer turned into a status is INTERNAL "internal error", logged once.

Without it grpc answers UNKNOWN with "Unexpected <class ...>: <message>" (Python internals in the details).
Intentional aborts (`await context.abort(code, ...)`) pass through with their own codes.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Final

import grpc
from grpc import aio

INTERNAL_DETAILS: Final = "internal error"
_MESSAGE_CHARS: Final = 500
_FACTORIES: Final = {
    "unary_unary": grpc.unary_unary_rpc_method_handler,
    "unary_stream": grpc.unary_stream_rpc_method_handler,
    "stream_unary": grpc.stream_unary_rpc_method_handler,
    "stream_stream": grpc.stream_stream_rpc_method_handler,
}

log = logging.getLogger(__name__)
Behavior = Callable[..., Any]


class UnexpectedErrorInterceptor(aio.ServerInterceptor):
    """Wraps every method so an unexpected exception becomes INTERNAL without details, logged once."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        for kind, factory in _FACTORIES.items():
            behavior = getattr(handler, kind)
            if behavior is not None:
                return factory(_guard(behavior, handler_call_details.method),
                               request_deserializer=handler.request_deserializer,
                               response_serializer=handler.response_serializer)
        return handler


def _log(method: str, exc: Exception) -> None:
    log.error("unhandled %s in %s", type(exc).__name__, method, exc_info=exc,
              extra={"fields": {"error_type": type(exc).__name__, "rpc": method,
                                "error": str(exc)[:_MESSAGE_CHARS]}})


def _is_abort(exc: Exception, context: Any) -> bool:
    """An abort the servicer meant (aio raises AbortError; a sync context raises after setting the code)."""
    return isinstance(exc, aio.AbortError) or (not inspect.iscoroutinefunction(getattr(context, "abort", None))
                                                and _code_of(context) is not None)


def _code_of(context: Any) -> Any:
    try:
        return context.code()
    except Exception:  # noqa: BLE001 - contexts without a readable code
        return None


def _guard(behavior: Behavior, method: str) -> Behavior:
    if inspect.isasyncgenfunction(behavior):
        async def guarded_stream(request: Any, context: Any) -> AsyncIterator[Any]:
            try:
                async for response in behavior(request, context):
                    yield response
            except Exception as exc:
                if _is_abort(exc, context):
                    raise
                _log(method, exc)
                await context.abort(grpc.StatusCode.INTERNAL, INTERNAL_DETAILS)

        return guarded_stream
    if inspect.iscoroutinefunction(behavior):
        async def guarded(request: Any, context: Any) -> Any:
            try:
                return await behavior(request, context)
            except Exception as exc:
                if _is_abort(exc, context):
                    raise
                _log(method, exc)
                await context.abort(grpc.StatusCode.INTERNAL, INTERNAL_DETAILS)

        return guarded

    def guarded_sync(request: Any, context: Any) -> Any:
        try:
            result = behavior(request, context)
            if isinstance(result, Iterator):
                return _guard_iterator(result, context, method)
            return result
        except Exception as exc:
            if _is_abort(exc, context):
                raise
            _log(method, exc)
            context.abort(grpc.StatusCode.INTERNAL, INTERNAL_DETAILS)

    return guarded_sync


def _guard_iterator(responses: Iterator[Any], context: Any, method: str) -> Iterator[Any]:
    try:
        yield from responses
    except Exception as exc:
        if _is_abort(exc, context):
            raise
        _log(method, exc)
        context.abort(grpc.StatusCode.INTERNAL, INTERNAL_DETAILS)
