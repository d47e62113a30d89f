"""Exported spans lose patient identifiers but keep semantic-convention attributes."""

from __future__ import annotations

from opentelemetry.sdk.trace import ReadableSpan

from alliance_telemetry import RedactingSpanExporter, tracer
from alliance_telemetry.spans import redact_span
from alliance_telemetry.testing import InMemorySpanExporter

T = tracer("tests.redaction")


def test_attributes_named_like_patient_identifiers_or_shaped_like_id_numbers_are_redacted(
    exporter: InMemorySpanExporter,
) -> None:
    with T.start_as_current_span("register") as span:
        span.set_attribute("patient_name", "张三")
        span.set_attribute("patient.phone", "13812345678")
        span.set_attribute("lookup", "by id 11010519491231002X")
        span.set_attribute("candidates", ["11010519491231002X", "ok"])
        span.set_attribute("referral.id", "r-1")
        span.set_attribute("server.address", "db.internal")
        span.set_attribute("http.status_code", 200)
    (exported,) = exporter.get_finished_spans()
    assert dict(exported.attributes) == {
        "patient_name": "[REDACTED]",
        "patient.phone": "[REDACTED]",
        "lookup": "by id [REDACTED]",
        "candidates": ("[REDACTED]", "ok"),
        "referral.id": "r-1",
        "server.address": "db.internal",
        "http.status_code": 200,
    }


def test_exception_events_and_error_status_are_scrubbed(exporter: InMemorySpanExporter) -> None:
    try:
        with T.start_as_current_span("insert"):
            raise RuntimeError("Key (id_number)=(11010519491231002X) already exists.")
    except RuntimeError:
        pass
    (exported,) = exporter.get_finished_spans()
    (event,) = exported.events
    assert "11010519491231002X" not in str(dict(event.attributes))
    assert "11010519491231002X" not in (exported.status.description or "")


def test_a_span_without_identifiers_is_passed_through_uncopied() -> None:
    clean = ReadableSpan("clean", attributes={"referral.id": "r-1"})
    assert redact_span(clean) is clean


def test_the_wrapper_forwards_scrubbed_spans_to_the_inner_exporter() -> None:
    inner = InMemorySpanExporter()
    wrapper = RedactingSpanExporter(inner)
    wrapper.export([ReadableSpan("call 13812345678", attributes={"name": "张三"})])
    (exported,) = inner.get_finished_spans()
    assert exported.name == "call [REDACTED]"
    assert dict(exported.attributes) == {"name": "[REDACTED]"}
    assert wrapper.force_flush()
