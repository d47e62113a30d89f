"""Span exporter wrapper that strips patient identifiers before spans leave the process."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Link, Status

from alliance_telemetry.redaction import REDACTED, is_sensitive_key, redact_text, redact_value


def redact_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """Span attributes with sensitive keys blanked and identifier-shaped values scrubbed."""
    return {
        key: REDACTED if is_sensitive_key(key) else redact_value(value)
        for key, value in (attributes or {}).items()
    }


def redact_span(span: ReadableSpan) -> ReadableSpan:
    """A scrubbed copy of a finished span (the span itself when nothing needs changing)."""
    attributes = redact_attributes(span.attributes)
    events = [Event(e.name, redact_attributes(e.attributes), e.timestamp) for e in span.events]
    links = [Link(link.context, redact_attributes(link.attributes)) for link in span.links]
    description = span.status.description
    status = Status(span.status.status_code, redact_text(description)) if description else span.status
    name = redact_text(span.name)
    before = [span.attributes, *(e.attributes for e in span.events),
              *(link.attributes for link in span.links)]
    after = [attributes, *(e.attributes for e in events), *(link.attributes for link in links)]
    same_attributes = all(
        new == dict(old or {}) for new, old in zip(after, before, strict=True)
    )
    if same_attributes and name == span.name and status is span.status:
        return span
    return ReadableSpan(
        name=name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes,
        events=events,
        links=links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class RedactingSpanExporter(SpanExporter):
    """Delegate to ``inner`` after scrubbing names, attributes, events, links and status."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export scrubbed copies of ``spans``."""
        return self.inner.export([redact_span(span) for span in spans])

    def shutdown(self) -> None:
        """Shut the wrapped exporter down."""
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the wrapped exporter."""
        return self.inner.force_flush(timeout_millis)
