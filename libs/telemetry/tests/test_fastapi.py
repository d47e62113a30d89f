"""FastAPI requests become server spans; probe endpoints stay untraced."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from alliance_telemetry import instrument_fastapi
from alliance_telemetry.testing import InMemorySpanExporter


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/patients/{patient_id}")
    async def patient(patient_id: str) -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ok"}

    return instrument_fastapi(app)


async def _get(app: FastAPI, *paths: str) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for path in paths:
            assert (await client.get(path)).status_code == 200


async def test_a_request_is_recorded_as_one_server_span_with_its_route(
    exporter: InMemorySpanExporter,
) -> None:
    await _get(_app(), "/patients/42")
    (span,) = exporter.get_finished_spans()
    assert span.name == "GET /patients/{patient_id}"
    assert span.attributes["http.route"] == "/patients/{patient_id}"


async def test_health_and_readiness_probes_produce_no_spans(
    exporter: InMemorySpanExporter,
) -> None:
    await _get(_app(), "/healthz", "/readyz", "/healthz?verbose=1")
    assert exporter.get_finished_spans() == ()


async def test_an_id_number_in_the_url_is_not_exported(exporter: InMemorySpanExporter) -> None:
    await _get(_app(), "/patients/11010519491231002X?phone=13812345678")
    (span,) = exporter.get_finished_spans()
    values = " ".join(str(v) for v in span.attributes.values())
    assert "11010519491231002X" not in values
    assert "13812345678" not in values
    assert "[REDACTED]" in values
