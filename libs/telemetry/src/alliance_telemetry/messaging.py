"""Producer/consumer spans for Kafka, linking the outbox writer and the consumer in one trace."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from alliance_telemetry.propagation import context_from_traceparent, extract_kafka_context

_SCOPE = "alliance_telemetry.messaging"


def _attributes(topic: str, operation: str) -> dict[str, str]:
    """Messaging semantic-convention attributes (never the message key or payload)."""
    return {
        "messaging.system": "kafka",
        "messaging.destination.name": topic,
        "messaging.operation.type": operation,
        "messaging.operation.name": operation,
    }


@contextmanager
def kafka_publish_span(topic: str, *, traceparent: str | None = None) -> Iterator[Span]:
    """PRODUCER span, child of the outbox row's ``traceparent`` (or of the current span).

    Call :func:`inject_kafka_headers` inside the block so the consumer continues this span.
    """
    parent = context_from_traceparent(traceparent) if traceparent else None
    with trace.get_tracer(_SCOPE).start_as_current_span(
        f"{topic} send", context=parent, kind=SpanKind.PRODUCER,
        attributes=_attributes(topic, "send"),
    ) as span:
        yield span


@contextmanager
def kafka_consume_span(
    topic: str, headers: Sequence[tuple[str, bytes]] | None
) -> Iterator[Span]:
    """CONSUMER span continuing the trace carried in the message headers (new root if none)."""
    with trace.get_tracer(_SCOPE).start_as_current_span(
        f"{topic} process", context=extract_kafka_context(headers), kind=SpanKind.CONSUMER,
        attributes=_attributes(topic, "process"),
    ) as span:
        yield span
