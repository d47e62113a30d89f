"""SQLAlchemy statements become client spans carrying statement text, never parameters."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine

from alliance_telemetry import instrument_sqlalchemy, tracer
from alliance_telemetry.instrumentation import _instrumented_engines
from alliance_telemetry.testing import InMemorySpanExporter, spans_by_trace


def _db_spans(exporter: InMemorySpanExporter) -> list:
    return [s for s in exporter.get_finished_spans() if s.kind.name == "CLIENT"]


def test_statements_on_an_instrumented_engine_are_traced_under_the_current_span(
    exporter: InMemorySpanExporter,
) -> None:
    engine = create_engine("sqlite://")
    instrument_sqlalchemy(engine)
    with tracer("tests.sql").start_as_current_span("handler"):
        with engine.connect() as conn:
            conn.execute(text("SELECT :who"), {"who": "张三"}).all()

    (db_span,) = _db_spans(exporter)
    statements = [v for k, v in db_span.attributes.items() if "statement" in k or "query" in k]
    assert statements == ["SELECT ?"]
    assert all("张三" not in str(v) for v in db_span.attributes.values())
    assert len(spans_by_trace(exporter)) == 1


def test_instrumenting_the_same_engine_twice_does_not_duplicate_spans(
    exporter: InMemorySpanExporter,
) -> None:
    engine = create_engine("sqlite://")
    instrument_sqlalchemy(engine)
    instrument_sqlalchemy(engine)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1")).all()
    assert len(_db_spans(exporter)) == 1


def test_an_async_engine_is_instrumented_through_its_sync_engine() -> None:
    engine = create_async_engine("postgresql+asyncpg://u:p@127.0.0.1:1/alliance")
    instrument_sqlalchemy(engine)
    assert engine.sync_engine in _instrumented_engines
