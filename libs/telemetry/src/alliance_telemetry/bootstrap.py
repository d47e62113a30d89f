"""Process-wide tracer provider and logging setup (idempotent)."""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

from alliance_telemetry.logs import configure_logging
from alliance_telemetry.outages import install_outage_filter
from alliance_telemetry.spans import RedactingSpanExporter

log = logging.getLogger(__name__)

_lock = threading.Lock()
#: What setup_telemetry already attached to each provider: OTLP URLs and exporter objects.
_attached: weakref.WeakKeyDictionary[TracerProvider, list[object]] = weakref.WeakKeyDictionary()
_ENV_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def tracer(name: str) -> trace.Tracer:
    """A tracer from the global provider."""
    return trace.get_tracer(name)


def _traces_url(endpoint: str) -> str:
    """Collector base URL (``http://otel:4318``) -> OTLP/HTTP traces URL; full URLs kept."""
    if urlsplit(endpoint).path in ("", "/"):
        return endpoint.rstrip("/") + "/v1/traces"
    return endpoint


def _provider(service_name: str) -> TracerProvider:
    """The global SDK provider, created and registered if there is none yet."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    trace.set_tracer_provider(provider)
    if trace.get_tracer_provider() is not provider:
        log.warning("a non-SDK tracer provider is already global; spans go to a private one")
    return provider


def _attach(provider: TracerProvider, key: object, processor: Callable[[], SpanProcessor]) -> None:
    """Add the processor built by ``processor()`` unless ``key`` was attached before."""
    attached = _attached.setdefault(provider, [])
    if key not in attached:
        provider.add_span_processor(processor())
        attached.append(key)


def _otlp_processor(endpoint: str | None) -> SpanProcessor:
    """Batching OTLP/HTTP export; ``None`` lets the exporter read the OTEL_* variables."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    url = _traces_url(endpoint) if endpoint else None
    return BatchSpanProcessor(RedactingSpanExporter(OTLPSpanExporter(endpoint=url)))


def setup_telemetry(
    service_name: str,
    *,
    otlp_endpoint: str | None = None,
    log_level: str = "INFO",
    json_logs: bool = True,
    span_exporter: SpanExporter | None = None,
) -> TracerProvider:
    """Configure tracing and root logging for this process; safe to call repeatedly.

    The first call registers a global ``TracerProvider`` (resource ``service.name``); later
    calls reuse it and only attach exporters not attached before. OTLP/HTTP export happens
    only with ``otlp_endpoint`` (or the standard ``OTEL_EXPORTER_OTLP_*ENDPOINT`` variables).
    Every exporter is wrapped in :class:`RedactingSpanExporter`.
    """
    with _lock:
        provider = _provider(service_name)
        if otlp_endpoint or any(os.environ.get(name) for name in _ENV_ENDPOINTS):
            _attach(provider, f"otlp:{otlp_endpoint or 'env'}",
                    lambda: _otlp_processor(otlp_endpoint))
        if span_exporter is not None:
            _attach(provider, span_exporter,
                    lambda: SimpleSpanProcessor(RedactingSpanExporter(span_exporter)))
        configure_logging(service_name, log_level, json_logs)
        for handler in logging.getLogger().handlers:
            if getattr(handler, "_alliance_telemetry_handler", False):
                install_outage_filter(handler)   # connection errors per attempt become outage summaries
        return provider
