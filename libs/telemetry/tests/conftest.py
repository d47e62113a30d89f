"""Shared span capture: one in-memory exporter on the process-wide tracer provider."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from alliance_telemetry import setup_telemetry
from alliance_telemetry.testing import InMemorySpanExporter

_OTLP_ENV = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


@pytest.fixture(scope="session")
def session_exporter() -> InMemorySpanExporter:
    """Exporter attached once; OTLP variables are hidden so tests never export over the network."""
    exporter = InMemorySpanExporter()
    saved = {name: os.environ.pop(name) for name in _OTLP_ENV if name in os.environ}
    try:
        setup_telemetry("telemetry-tests", span_exporter=exporter)
    finally:
        os.environ.update(saved)
    return exporter


@pytest.fixture
def exporter(session_exporter: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    """The session exporter, emptied before and after each test."""
    session_exporter.clear()
    yield session_exporter
    session_exporter.clear()
