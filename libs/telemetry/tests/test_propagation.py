"""W3C traceparent round trips through the outbox column and Kafka headers."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.context import Context

from alliance_telemetry import (
    context_from_traceparent,
    current_traceparent,
    extract_kafka_context,
    inject_kafka_headers,
    kafka_consume_span,
    kafka_publish_span,
    tracer,
)
from alliance_telemetry.testing import InMemorySpanExporter, spans_by_trace

T = tracer("tests.propagation")


def _trace_id(context: Context) -> int:
    return trace.get_current_span(context).get_span_context().trace_id


def test_a_child_of_extracted_kafka_headers_shares_the_producer_trace_id(
    exporter: InMemorySpanExporter,
) -> None:
    with T.start_as_current_span("producer") as producer:
        headers = inject_kafka_headers()
    assert [key for key, _ in headers] == ["traceparent"]
    assert all(isinstance(value, bytes) for _, value in headers)

    with T.start_as_current_span("consumer", context=extract_kafka_context(headers)) as child:
        pass
    assert child.get_span_context().trace_id == producer.get_span_context().trace_id
    assert child.parent is not None
    assert child.parent.span_id == producer.get_span_context().span_id


def test_context_from_current_traceparent_stays_in_the_same_trace() -> None:
    with T.start_as_current_span("request") as span:
        traceparent = current_traceparent()
    assert traceparent is not None
    assert traceparent.startswith("00-")
    assert _trace_id(context_from_traceparent(traceparent)) == span.get_span_context().trace_id


def test_current_traceparent_outside_a_span_is_none() -> None:
    assert current_traceparent() is None


@pytest.mark.parametrize(
    "traceparent",
    [None, "", "   ", "garbage", "00-00000000000000000000000000000000-0000000000000000-01",
     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", 42],
)
def test_a_missing_or_garbage_traceparent_gives_an_empty_context(traceparent: object) -> None:
    context = context_from_traceparent(traceparent)  # type: ignore[arg-type]
    assert context == Context()
    assert not trace.get_current_span(context).get_span_context().is_valid


def test_inject_replaces_a_stale_traceparent_and_updates_the_list_in_place() -> None:
    headers = [("traceparent", b"00-stale"), ("event-type", b"referral.created")]
    with T.start_as_current_span("relay"):
        expected = current_traceparent()
        returned = inject_kafka_headers(headers)
    assert returned is headers
    assert headers == [("event-type", b"referral.created"), ("traceparent", expected.encode())]


def test_inject_with_an_outbox_context_uses_the_stored_traceparent() -> None:
    stored = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    headers = inject_kafka_headers(context=context_from_traceparent(stored))
    assert dict(headers)["traceparent"] == stored.encode()


def test_inject_outside_a_span_adds_no_headers() -> None:
    assert inject_kafka_headers([("k", b"v")]) == [("k", b"v")]


def test_extract_ignores_malformed_and_missing_headers() -> None:
    junk = [("traceparent", b"\xff\xfe"), ("x",), (b"bytes-key", b"v"), ("tracestate", None)]
    assert extract_kafka_context(junk) == Context()  # type: ignore[arg-type]
    assert extract_kafka_context(None) == Context()
    assert extract_kafka_context([]) == Context()


def test_http_call_outbox_relay_and_consumer_form_one_trace(
    exporter: InMemorySpanExporter,
) -> None:
    with T.start_as_current_span("POST /referrals"):
        outbox_traceparent = current_traceparent()  # stored on the outbox row

    with kafka_publish_span("referral.events", traceparent=outbox_traceparent):
        headers = inject_kafka_headers([("ce_type", b"referral.created")])

    with kafka_consume_span("referral.events", headers):
        with T.start_as_current_span("INSERT referral_inbox"):
            pass

    traces = spans_by_trace(exporter)
    assert len(traces) == 1
    (spans,) = traces.values()
    assert [s.name for s in spans] == [
        "POST /referrals", "referral.events send", "referral.events process",
        "INSERT referral_inbox",
    ]
    by_name = {s.name: s for s in spans}
    assert by_name["referral.events send"].kind is trace.SpanKind.PRODUCER
    assert by_name["referral.events process"].kind is trace.SpanKind.CONSUMER
    assert by_name["referral.events process"].parent.span_id == (
        by_name["referral.events send"].context.span_id
    )
    assert by_name["referral.events send"].attributes["messaging.system"] == "kafka"
