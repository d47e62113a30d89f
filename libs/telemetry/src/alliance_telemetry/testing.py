"""Test helpers: in-memory span capture grouped by trace."""

from __future__ import annotations

from collections import defaultdict

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

__all__ = ["InMemorySpanExporter", "spans_by_trace"]


def spans_by_trace(exporter: InMemorySpanExporter) -> dict[str, list[ReadableSpan]]:
    """Finished spans keyed by 32-hex trace id, each list in start-time order."""
    grouped: dict[str, list[ReadableSpan]] = defaultdict(list)
    for span in exporter.get_finished_spans():
        if span.context is not None:
            grouped[format(span.context.trace_id, "032x")].append(span)
    return {
        trace_id: sorted(spans, key=lambda s: s.start_time or 0)
        for trace_id, spans in grouped.items()
    }
