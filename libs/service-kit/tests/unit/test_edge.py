"""The HTTP edge: 401 before the body, 413 before parsing, 422 on control characters, 500s that keep the
connection and are logged once; an in-process app, over ASGI and over a real uvicorn socket."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, Body, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from alliance_auth import Principal, TokenVerifier
from alliance_auth.dev import DevKeys
from alliance_auth.fastapi import CurrentPrincipal, install_auth, require_roles
from alliance_service.edge import (
    EdgeMiddleware,
    control_character,
    install_edge,
    needs_principal,
    routes_of,
)
from alliance_service.problems import install_problem_handlers

PROBLEM = "application/problem+json"


class CountingVerifier(TokenVerifier):
    """A verifier that counts how often a token is verified."""

    calls = 0

    async def averify(self, token: str) -> Principal:
        type(self).calls += 1
        return await super().averify(token)


class BrokerDown(Exception):
    """Stands in for the outage helper's specific exceptions (mapped to 503 by their own handler)."""


class Item(BaseModel):
    name: str


def _app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    install_auth(app, verifier)

    @app.post("/v1/items")
    async def create(item: Item, principal: CurrentPrincipal) -> dict:
        return {"name": item.name, "by": principal.subject}

    @app.post("/v1/import")
    async def import_rows(_: CurrentPrincipal, body: Annotated[bytes, Body(media_type="text/csv")]) -> dict:
        return {"bytes": len(body)}

    @app.get("/v1/boom")
    async def boom(_: CurrentPrincipal) -> dict:
        raise RuntimeError("SELECT secret FROM internals WHERE x = 'stack detail'")

    @app.get("/v1/down")
    async def down(_: CurrentPrincipal) -> dict:
        raise BrokerDown("kafka unreachable")

    @app.get("/v1/connection")
    async def connection(request: Request, _: CurrentPrincipal) -> dict:
        return {"port": request.client.port if request.client else None}

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.post("/public/echo")
    async def echo(item: Item) -> dict:
        return {"name": item.name}

    admin = APIRouter(prefix="/v1/admin", dependencies=[Depends(require_roles("alliance_admin"))])

    @admin.post("/settings")
    async def settings(item: Item) -> dict:
        return {"name": item.name}

    app.include_router(admin)

    async def unavailable(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"status": 503}, status_code=503, headers={"Retry-After": "5"})

    app.add_exception_handler(BrokerDown, unavailable)
    install_edge(app, max_request_bytes=1024, body_limits={"/v1/import": 4096})
    return app


@pytest.fixture
def keys(tmp_path: Path) -> DevKeys:
    return DevKeys.create(tmp_path / "keys")


@pytest.fixture
def app(keys: DevKeys) -> FastAPI:
    CountingVerifier.calls = 0
    return _app(CountingVerifier(keys.verifier().jwks, keys.verifier().issuer, keys.verifier().audience))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
def auth(keys: DevKeys) -> dict[str, str]:
    return {"Authorization": "Bearer " + keys.issue("his-1", hospital_id="H001", roles=["hospital"])}


def _problem(response: httpx.Response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"].endswith("/" + slug) and body["status"] == status
    return body


# authentication before the body


async def test_malformed_json_without_a_token_is_401_not_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/items", content=b'{"name": ', headers={"content-type": "application/json"})
    assert _problem(response, 401, "unauthorized")["detail"] == "missing token"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_bad_token_is_401_invalid_token_before_the_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/items", content=b"\x00garbage", headers={"Authorization": "Bearer x.y.z"})
    assert _problem(response, 401, "unauthorized")["detail"] == "malformed token"


async def test_an_oversized_body_without_a_token_is_401_and_never_read(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/items", content=b"x" * 10_000)
    _problem(response, 401, "unauthorized")


async def test_the_token_is_verified_once_per_request(client: httpx.AsyncClient, auth: dict) -> None:
    response = await client.post("/v1/items", json={"name": "gauze"}, headers=auth)
    assert response.json() == {"name": "gauze", "by": "his-1"}
    assert CountingVerifier.calls == 1


async def test_routes_without_the_principal_stay_public(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/openapi.json")).status_code == 200
    assert (await client.get("/docs")).status_code == 200
    assert (await client.post("/public/echo", json={"name": "a"})).json() == {"name": "a"}
    assert CountingVerifier.calls == 0


async def test_unknown_paths_and_methods_are_answered_by_the_router(client: httpx.AsyncClient) -> None:
    _problem(await client.get("/v1/nothing-here"), 404, "not-found")
    _problem(await client.delete("/v1/items"), 405, "method-not-allowed")


def test_the_public_routes_are_read_from_the_app(app: FastAPI) -> None:
    public = {route.path for route in routes_of(app) if not needs_principal(route)}
    assert {"/healthz", "/public/echo", "/openapi.json", "/docs"} <= public
    assert not public & {"/v1/items", "/v1/import", "/v1/boom", "/v1/admin/settings"}


async def test_a_router_level_role_dependency_makes_its_routes_authenticated(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/admin/settings", content=b"{oops", headers={"content-type": "application/json"})
    _problem(response, 401, "unauthorized")


# request size


async def test_a_body_over_the_limit_is_413_from_content_length(client: httpx.AsyncClient, auth: dict) -> None:
    response = await client.post("/v1/items", json={"name": "x" * 2000}, headers=auth)
    assert _problem(response, 413, "request-too-large")["limit"] == 1024
    huge = await client.post("/v1/items", headers=auth | {"content-length": str(64 << 20)}, content=b"{}")
    assert _problem(huge, 413, "request-too-large") and huge.headers["connection"] == "close"


async def test_a_route_declared_large_takes_more(client: httpx.AsyncClient, auth: dict) -> None:
    rows = b"code,name\n" + b"A,gauze\n" * 400  # 3,210 bytes: over the default, under the route's 4,096
    response = await client.post("/v1/import", content=rows, headers=auth | {"content-type": "text/csv"})
    assert response.json() == {"bytes": len(rows)}
    response = await client.post("/v1/import", content=rows * 2, headers=auth | {"content-type": "text/csv"})
    _problem(response, 413, "request-too-large")


def test_a_limit_for_a_path_no_route_serves_is_refused() -> None:
    app = FastAPI()
    with pytest.raises(ValueError, match="/v1/imports"):
        install_edge(app, body_limits={"/v1/imports": 1 << 24})


# control characters


@pytest.mark.parametrize("raw", [
    b'{"name": "a\\u0000b"}', b'{"name": "\\u001f"}', b'{"na\\u0000me": "x"}', b'{"name": "\\\\\\u0000"}',
    b'{"name": "a\x00b"}', b'{"name": "bell\x07"}', b'{"name": "back\\bspace"}', b'{"name": "\\u000C"}',
])
async def test_control_characters_in_json_are_422(client: httpx.AsyncClient, auth: dict, raw: bytes) -> None:
    response = await client.post("/v1/items", content=raw, headers=auth | {"content-type": "application/json"})
    body = _problem(response, 422, "control-character")
    assert body["character"].startswith("U+00") and "control character" in body["detail"]


@pytest.mark.parametrize("raw", [
    b'{"name": "C:\\\\u0000"}', b'{"name": "tab\\tline\\nreturn\\r"}', b'{"name": "\\u0009\\u000a\\u000D"}',
    b'{"name": "\\\\bin"}', '{"name": "示例\\u4e2d"}'.encode(),
])
async def test_escaped_backslashes_and_tab_lf_cr_are_not_refused(
    client: httpx.AsyncClient, auth: dict, raw: bytes
) -> None:
    response = await client.post("/v1/items", content=raw, headers=auth | {"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert "\x00" not in response.json()["name"]


async def test_nul_in_a_json_body_is_422_even_on_a_public_route(client: httpx.AsyncClient) -> None:
    _problem(await client.post("/public/echo", content=b'{"name": "\\u0000"}'), 422, "control-character")


async def test_nul_in_a_csv_body_is_422(client: httpx.AsyncClient, auth: dict) -> None:
    response = await client.post("/v1/import", content=b"code,name\nA,ga\x00uze\n",
                                 headers=auth | {"content-type": "text/csv"})
    assert _problem(response, 422, "control-character")["character"] == "U+0000"


def test_control_characters_by_media_type() -> None:
    assert control_character("application/fhir+json; charset=utf-8", b'{"a": "\\u0000"}') == 0
    assert control_character(None, b'{"a": "\\u0007"}') == 7
    assert control_character("application/x-www-form-urlencoded", b"a=b%00c") == 0
    assert control_character("text/csv", b"a,b\r\n\"x\ty\",z\n") is None
    assert control_character("x-application/hl7-v2+er7", b"MSH|^~\\&|\x00") is None
    assert control_character("application/json", b'{"a": "\\\\u0000"}') is None


async def test_nul_in_the_url_is_400(client: httpx.AsyncClient, auth: dict) -> None:
    _problem(await client.get("/v1/connection?x=%00", headers=auth), 400, "bad-request")


# unexpected errors


async def test_an_unexpected_error_is_a_500_problem_that_says_nothing_internal(
    client: httpx.AsyncClient, auth: dict
) -> None:
    response = await client.get("/v1/boom", headers=auth)
    body = _problem(response, 500, "internal-error")
    assert "SELECT" not in response.text and "RuntimeError" not in response.text
    assert body["detail"] == "an unexpected error occurred"


async def test_specific_exception_handlers_still_win(client: httpx.AsyncClient, auth: dict) -> None:
    response = await client.get("/v1/down", headers=auth)
    assert (response.status_code, response.headers["retry-after"]) == (503, "5")


# over a real socket


@pytest.fixture
async def server(app: FastAPI) -> AsyncIterator[str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_a_500_keeps_the_connection_and_is_logged_once(
    server: str, auth: dict, caplog: pytest.LogCaptureFixture
) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=server, limits=limits, headers=auth) as client:
        before = (await client.get("/v1/connection")).json()["port"]
        with caplog.at_level(logging.INFO):
            caplog.clear()
            _problem(await client.get("/v1/boom"), 500, "internal-error")
            after = (await client.get("/v1/connection")).json()["port"]
    assert after == before, "the server dropped the keep-alive connection after the 500"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    (record,) = errors
    assert record.fields["error_type"] == "RuntimeError" and record.fields["route"] == "GET /v1/boom"
    assert record.exc_info is not None


async def test_a_chunked_body_over_the_limit_is_413(server: str, auth: dict) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(20):
            yield b"x" * 100
        yield b'"}'

    async with httpx.AsyncClient(base_url=server, headers=auth) as client:
        response = await client.post("/v1/items", content=chunks(), headers={"content-type": "application/json"})
        assert "content-length" not in response.request.headers
        _problem(response, 413, "request-too-large")
        small = await client.post("/v1/items", content=_one(b'{"name": "ok"}'),
                                  headers={"content-type": "application/json"})
        assert small.json() == {"name": "ok", "by": "his-1"}


async def test_a_413_keeps_the_connection_for_the_next_request(server: str, auth: dict) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=server, limits=limits, headers=auth) as client:
        before = (await client.get("/v1/connection")).json()["port"]
        _problem(await client.post("/v1/items", json={"name": "x" * 50_000}), 413, "request-too-large")
        assert (await client.get("/v1/connection")).json()["port"] == before


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_401_comes_before_malformed_json_over_http(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        response = await client.post("/v1/items", content=b"{not json", headers={"content-type": "application/json"})
    _problem(response, 401, "unauthorized")


def test_the_edge_is_one_middleware() -> None:
    app = FastAPI()
    install_edge(app)
    assert [m.cls for m in app.user_middleware] == [EdgeMiddleware]
