"""Errors the platform's edge answers are OperationOutcomes under /fhir and problem+json elsewhere."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from alliance_auth.dev import DevKeys
from alliance_auth.fastapi import CurrentPrincipal, install_auth
from alliance_service import Problem
from alliance_service.edge import install_edge
from alliance_service.problems import install_problem_handlers
from data_exchange.entrypoints.fhir_http import fhir_auth_errors


def _app(keys: DevKeys) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    install_auth(app, keys.verifier())
    for prefix in ("/fhir", "/v1"):
        @app.get(f"{prefix}/boom")
        async def boom(_: CurrentPrincipal) -> dict:
            raise RuntimeError("internals")

        @app.get(f"{prefix}/gone")
        async def gone(_: CurrentPrincipal) -> dict:
            raise Problem(409, "conflict", "Conflict", "already there")

    fhir_auth_errors(app)
    install_edge(app)
    return app


async def test_a_500_under_fhir_is_an_operation_outcome_saying_nothing_internal(tmp_path: Path) -> None:
    keys = DevKeys.create(tmp_path)
    token = keys.issue("his", hospital_id="H002", roles=["hospital"])
    transport = httpx.ASGITransport(app=_app(keys), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t",
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        fhir, elsewhere = await client.get("/fhir/boom"), await client.get("/v1/boom")
        conflict = await client.get("/fhir/gone")
    assert fhir.status_code == 500 and fhir.headers["content-type"].startswith("application/fhir+json")
    assert fhir.json()["issue"][0]["code"] == "exception" and "internals" not in fhir.text
    assert elsewhere.status_code == 500 and elsewhere.headers["content-type"] == "application/problem+json"
    assert conflict.status_code == 409 and conflict.json()["issue"][0] == {
        "severity": "error", "code": "conflict", "diagnostics": "already there"}
