"""setup_telemetry is idempotent and exports nowhere unless configured."""

from __future__ import annotations

import logging

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from alliance_telemetry import setup_telemetry, tracer
from alliance_telemetry.bootstrap import _traces_url
from alliance_telemetry.testing import InMemorySpanExporter


def _our_handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers
            if getattr(h, "_alliance_telemetry_handler", False)]


def test_calling_setup_twice_keeps_one_provider_and_one_log_handler(
    exporter: InMemorySpanExporter,
) -> None:
    first = setup_telemetry("telemetry-tests", span_exporter=exporter)
    second = setup_telemetry("telemetry-tests", span_exporter=exporter, json_logs=False)
    assert first is second is trace.get_tracer_provider()
    assert isinstance(first, TracerProvider)
    assert first.resource.attributes["service.name"]  # set by whichever setup ran first in this process
    assert len(_our_handlers()) == 1
    setup_telemetry("telemetry-tests", span_exporter=exporter)


def test_an_exporter_passed_twice_receives_each_span_once(exporter: InMemorySpanExporter) -> None:
    setup_telemetry("telemetry-tests", span_exporter=exporter)
    with tracer("tests.setup").start_as_current_span("once"):
        pass
    assert [s.name for s in exporter.get_finished_spans()] == ["once"]


def test_no_otlp_exporter_is_attached_without_configuration() -> None:
    provider = setup_telemetry("telemetry-tests")
    processors = provider._active_span_processor._span_processors
    assert not any(isinstance(p, BatchSpanProcessor) for p in processors)


def test_a_collector_base_url_gets_the_traces_path() -> None:
    assert _traces_url("http://otel:4318") == "http://otel:4318/v1/traces"
    assert _traces_url("http://otel:4318/") == "http://otel:4318/v1/traces"
    assert _traces_url("http://otel:4318/custom/traces") == "http://otel:4318/custom/traces"
