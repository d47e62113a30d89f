"""OpenTelemetry setup, trace propagation and JSON logs without patient identifiers."""

from alliance_telemetry.bootstrap import setup_telemetry, tracer
from alliance_telemetry.instrumentation import (
    grpc_client_interceptors,
    grpc_server_interceptor,
    instrument_fastapi,
    instrument_sqlalchemy,
)
from alliance_telemetry.logs import JsonFormatter, RedactingFilter, TraceContextFilter
from alliance_telemetry.messaging import kafka_consume_span, kafka_publish_span
from alliance_telemetry.outages import OUTAGES, OutageLogFilter, Outages
from alliance_telemetry.propagation import (
    context_from_traceparent,
    current_traceparent,
    extract_kafka_context,
    inject_kafka_headers,
)
from alliance_telemetry.redaction import REDACTED, is_sensitive_key, redact_fields, redact_text
from alliance_telemetry.spans import RedactingSpanExporter

__all__ = [
    "OUTAGES",
    "REDACTED",
    "JsonFormatter",
    "OutageLogFilter",
    "Outages",
    "RedactingFilter",
    "RedactingSpanExporter",
    "TraceContextFilter",
    "context_from_traceparent",
    "current_traceparent",
    "extract_kafka_context",
    "grpc_client_interceptors",
    "grpc_server_interceptor",
    "inject_kafka_headers",
    "instrument_fastapi",
    "instrument_sqlalchemy",
    "is_sensitive_key",
    "kafka_consume_span",
    "kafka_publish_span",
    "redact_fields",
    "redact_text",
    "setup_telemetry",
    "tracer",
]
