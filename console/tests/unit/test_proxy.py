"""The console's own HTTP side against a real tiny upstream (uvicorn on an ephemeral port).

The upstream echoes what it received, so these tests see exactly what the proxy forwards: the
Authorization header byte for byte, the raw path with its percent-encoding, the query, the body;
and exactly what it keeps back (cookies, internal headers). No transport is mocked.
"""

from __future__ import annotations

import asyncio
import re

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from alliance_console.app import create_app
from alliance_console.settings import SERVICE_PORTS, Settings

PROBLEM = "application/problem+json"


def echo_app() -> FastAPI:
    app = FastAPI()

    @app.get("/slow")
    async def slow() -> dict:
        await asyncio.sleep(1.5)
        return {}

    @app.post("/created")
    async def created() -> JSONResponse:
        return JSONResponse({"id": 1}, status_code=201, headers={
            "location": "/things/1", "set-cookie": "upstream=1", "x-internal": "secret",
            "retry-after": "5"})

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def echo(request: Request, path: str) -> dict:
        return {"method": request.method, "raw_path": request.scope["raw_path"].decode(),
                "query": request.url.query, "headers": dict(request.headers),
                "body": (await request.body()).decode()}

    return app


def settings_for(upstream: str, **overrides) -> Settings:
    services = {name: upstream for name in SERVICE_PORTS} | overrides.pop("services", {})
    return Settings(services=services, **overrides)


async def test_forwards_method_raw_path_query_body_and_the_authorization_unchanged(serve, tmp_path):
    token = "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_"
    async with serve(echo_app()) as upstream, serve(create_app(settings_for(upstream))) as console:
        async with httpx.AsyncClient(base_url=console) as c:
            r = await c.post("/api/cost-sharing/v1/things/a%2Fb/c?x=1&y=%E4%B8%AD&y=2",
                             content='{"note": "关闭"}'.encode(), headers={
                                 "Authorization": token, "Content-Type": "application/json",
                                 "Idempotency-Key": "k-1", "Cookie": "console=1", "X-Custom": "z"})
    assert r.status_code == 200, r.text
    seen = r.json()
    assert seen["method"] == "POST"
    assert seen["raw_path"] == "/v1/things/a%2Fb/c"          # %2F stays inside one segment
    assert seen["query"] == "x=1&y=%E4%B8%AD&y=2"
    assert seen["body"] == '{"note": "关闭"}'
    assert seen["headers"]["authorization"] == token
    assert seen["headers"]["idempotency-key"] == "k-1"
    assert seen["headers"]["content-type"] == "application/json"
    assert "cookie" not in seen["headers"] and "x-custom" not in seen["headers"]


async def test_a_service_url_with_a_path_prefix_keeps_it(serve):
    async with serve(echo_app()) as upstream:
        settings = settings_for(upstream, services={"referral": f"{upstream}/gateway/referral/"})
        async with serve(create_app(settings)) as console, httpx.AsyncClient(base_url=console) as c:
            r = await c.get("/api/referral/v1/indicators")
    assert r.json()["raw_path"] == "/gateway/referral/v1/indicators"


async def test_status_and_only_the_allowed_headers_come_back(serve):
    async with serve(echo_app()) as upstream, serve(create_app(settings_for(upstream))) as console:
        async with httpx.AsyncClient(base_url=console) as c:
            r = await c.post("/api/procurement/created")
    assert r.status_code == 201 and r.json() == {"id": 1}
    assert r.headers["location"] == "/things/1" and r.headers["retry-after"] == "5"
    assert "set-cookie" not in r.headers and "x-internal" not in r.headers
    assert r.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in r.headers["content-security-policy"]


async def test_unknown_services_and_dot_segments_are_refused_as_problems(serve):
    async with serve(echo_app()) as upstream, serve(create_app(settings_for(upstream))) as console:
        async with httpx.AsyncClient(base_url=console) as c:
            unknown = await c.get("/api/billing/v1/x")
            dots = await c.get("/api/cost-sharing/v1/%2E%2E/%2e%2e/etc")
    assert unknown.status_code == 404 and unknown.headers["content-type"] == PROBLEM
    assert "billing" in unknown.json()["detail"] and "cost-sharing" in unknown.json()["detail"]
    assert dots.status_code == 400 and dots.headers["content-type"] == PROBLEM


async def test_an_unreachable_service_is_a_502_problem_naming_it(serve, unreachable_url):
    async with serve(echo_app()) as upstream:
        settings = settings_for(upstream, services={"referral": unreachable_url})
        async with serve(create_app(settings)) as console, httpx.AsyncClient(base_url=console) as c:
            r = await c.get("/api/referral/v1/indicators", headers={"Authorization": "Bearer x"})
            status = (await c.get("/status")).json()
    assert r.status_code == 502 and r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == 502 and "referral" in body["detail"] and unreachable_url in body["detail"]
    by_name = {s["service"]: s["status"] for s in status}
    assert by_name["referral"] == "unreachable"
    assert by_name["cost-sharing"] == "unknown"        # answered, but not with a readiness body


async def test_a_slow_service_is_a_504_problem(serve):
    async with serve(echo_app()) as upstream:
        settings = settings_for(upstream, upstream_timeout=0.3)
        async with serve(create_app(settings)) as console, httpx.AsyncClient(base_url=console) as c:
            r = await c.get("/api/cost-sharing/slow")
    assert r.status_code == 504 and r.headers["content-type"] == PROBLEM


async def test_dev_token_is_a_real_signed_token_for_the_chosen_role(serve, dev_keys):
    settings = Settings(dev_keys_dir=dev_keys.directory)
    async with serve(create_app(settings)) as console, httpx.AsyncClient(base_url=console) as c:
        config = (await c.get("/config")).json()
        tokens = {role: await c.post("/dev/token", json={"role": role})
                  for role in ("alliance_admin", "regulator")}
        hospital = await c.post("/dev/token", json={"role": "hospital"})
    assert config["dev_tokens"] is True and "cost-sharing" in config["services"]
    for role, r in tokens.items():
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        principal = dev_keys.verifier().verify(r.json()["access_token"])
        assert principal.roles == frozenset({role}) and principal.hospital_id is None
        assert r.json()["role"] == role and r.json()["expires_in"] > 0
    assert hospital.status_code == 422 and hospital.headers["content-type"] == PROBLEM


async def test_dev_tokens_are_refused_outside_development(serve, dev_keys):
    for environment in ("production", "test"):
        settings = Settings(environment=environment, dev_keys_dir=dev_keys.directory)
        async with serve(create_app(settings)) as console, httpx.AsyncClient(base_url=console) as c:
            r = await c.post("/dev/token", json={"role": "alliance_admin"})
            config = (await c.get("/config")).json()
        assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
        assert "development" in r.json()["detail"] and "access_token" not in r.text
        assert config["dev_tokens"] is False


async def test_dev_token_without_keys_says_how_to_make_them(serve, tmp_path):
    settings = Settings(dev_keys_dir=tmp_path / "no-keys")
    async with serve(create_app(settings)) as console, httpx.AsyncClient(base_url=console) as c:
        r = await c.post("/dev/token", json={"role": "regulator"})
    assert r.status_code == 503 and "make keys" in r.json()["detail"]


async def test_the_page_and_its_assets_are_local_and_served_under_a_strict_csp(serve):
    async with serve(create_app(Settings())) as console, httpx.AsyncClient(base_url=console) as c:
        page = await c.get("/")
        assets = {name: await c.get(f"/static/{name}") for name in ("console.js", "charts.js", "console.css")}
        missing = await c.get("/static/nope.js")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    # Nothing is loaded from elsewhere: every src/href is same-origin.
    refs = re.findall(r'(?:src|href)="([^"]*)"', page.text)
    assert refs and all(ref.startswith(("/", "#")) for ref in refs), refs
    for name, r in assets.items():
        assert r.status_code == 200, name
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", r.text), name
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
