"""W3C tracecontext propagation for the outbox ``traceparent`` column and Kafka headers."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

KafkaHeaders = list[tuple[str, bytes]]

_PROPAGATOR = TraceContextTextMapPropagator()
TRACEPARENT = "traceparent"


def current_traceparent(context: Context | None = None) -> str | None:
    """``traceparent`` of the current (or given) span context; None without a valid span."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=context)
    return carrier.get(TRACEPARENT)


def context_from_traceparent(traceparent: str | None) -> Context:
    """A parent Context from a stored ``traceparent``; empty (new root) if missing or invalid."""
    if not isinstance(traceparent, str) or not traceparent.strip():
        return Context()
    return _PROPAGATOR.extract({TRACEPARENT: traceparent.strip()}, context=Context())


def inject_kafka_headers(
    headers: list[tuple[str, bytes]] | None = None, context: Context | None = None
) -> KafkaHeaders:
    """Add ``traceparent``/``tracestate`` headers (replacing stale ones); a given list is updated in place."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=context)
    kept = [(k, v) for k, v in headers or () if k.lower() not in carrier]
    result = kept + [(k, v.encode("ascii")) for k, v in carrier.items()]
    if isinstance(headers, list):
        headers[:] = result
        return headers
    return result


def _decode(value: object) -> str | None:
    """Header value as text, or None when it is not ASCII-decodable text/bytes."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        try:
            return bytes(value).decode("ascii")
        except UnicodeDecodeError:
            return None
    return None


def extract_kafka_context(headers: Sequence[tuple[str, bytes]] | None) -> Context:
    """Parent Context from aiokafka message headers; empty Context when absent or malformed."""
    carrier: dict[str, str] = {}
    for item in headers or ():
        try:
            key, raw = item
        except (TypeError, ValueError):
            continue
        value = _decode(raw)
        if isinstance(key, str) and value is not None:
            carrier.setdefault(key.lower(), value)
    if TRACEPARENT not in carrier:
        return Context()
    return _PROPAGATOR.extract(carrier, context=Context())
