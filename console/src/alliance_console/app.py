"""The console's HTTP side: the single-page app, a same-origin proxy to the services, dev tokens.

The proxy adds no authority of its own: `/api/<service>/<path>` forwards the browser's
Authorization header unchanged, so each service checks the real token and its roles exactly as
it would for any other caller, and answers with its own problem+json on refusal. The browser only
ever talks to the console's origin, so no service needs CORS.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import quote

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from alliance_auth.dev import DevKeys

from . import __version__
from .settings import Settings

log = logging.getLogger("alliance_console")

STATIC: Final = Path(__file__).parent / "static"
PROBLEM_JSON: Final = "application/problem+json"
PROBLEM_BASE: Final = "https://alliance.example/problems/"
METHODS: Final = ["GET", "POST", "PUT", "PATCH", "DELETE"]
MAX_BODY: Final = 10 * 1024 * 1024
DEV_TOKEN_TTL: Final = 8 * 3600
# What a browser request may carry to a service, and what a service's answer may carry back.
# Cookies, hop-by-hop and length/encoding headers are never copied (httpx re-encodes the body).
FORWARD_REQUEST: Final = ("authorization", "accept", "accept-language", "content-type",
                          "idempotency-key", "if-match", "if-none-match", "prefer",
                          "traceparent", "tracestate")
FORWARD_RESPONSE: Final = ("content-type", "location", "retry-after", "etag", "www-authenticate",
                           "cache-control", "content-language", "link")
SECURITY_HEADERS: Final = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def problem(status: int, slug: str, title: str, detail: str | None = None,
            **extra: Any) -> JSONResponse:
    """An RFC 9457 problem+json response shaped like the services' own."""
    body: dict[str, Any] = {"type": PROBLEM_BASE + slug, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


class TokenIn(BaseModel):
    role: Literal["alliance_admin", "regulator"] = Field(
        description="the console is for alliance administrators and regulators")


def create_app(settings: Settings | None = None) -> FastAPI:
    """The console app; `settings` default to the CONSOLE_* environment."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # trust_env=False: HTTP(S)_PROXY variables must never reroute calls to the services.
        async with httpx.AsyncClient(timeout=settings.upstream_timeout, follow_redirects=False,
                                     trust_env=False) as client:
            app.state.client = client
            yield

    app = FastAPI(title="Alliance cost-control console", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path == "/" or request.url.path.startswith("/static/"):
            response.headers["cache-control"] = "no-cache"
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, "Error")
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
        return problem(exc.status_code, title.lower().replace(" ", "-"), title, detail)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # The same shape as the services' validation problems.
        errors = [{"location": [str(p) for p in e.get("loc", ())], "message": e.get("msg", ""),
                   "type": e.get("type", "")} for e in exc.errors()]
        return problem(422, "validation-error", "Unprocessable Content",
                       "the request does not match the schema", errors=errors)

    # --- the page ---------------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/config", summary="What the page needs to know about this console")
    async def config() -> dict:
        return {"environment": settings.environment, "dev_tokens": settings.dev_tokens,
                "services": list(settings.services), "version": __version__}

    @app.get("/status", summary="Each service's readiness (its /readyz, which needs no token)")
    async def status(request: Request) -> list[dict]:
        client: httpx.AsyncClient = request.app.state.client

        async def one(name: str, base: str) -> dict:
            try:
                r = await client.get(f"{base}/readyz", timeout=3)
                body = r.json()
            except (httpx.HTTPError, ValueError):
                return {"service": name, "status": "unreachable", "checks": {}}
            if not isinstance(body, dict):
                return {"service": name, "status": "unknown", "checks": {}}
            return {"service": name, "status": str(body.get("status", "unknown")),
                    "checks": body.get("checks") or {}}

        return list(await asyncio.gather(*(one(n, b) for n, b in settings.services.items())))

    # --- dev tokens ---------------------------------------------------------------------------------

    @app.post("/dev/token", summary="Development only: a real signed token for the console's roles")
    async def dev_token(body: TokenIn) -> Response:
        if not settings.dev_tokens:
            return problem(404, "dev-tokens-off", "Not Found",
                           f"dev tokens are issued only in development (CONSOLE_ENVIRONMENT is "
                           f"{settings.environment}); sign in with a token from the identity provider")
        try:
            keys = await asyncio.to_thread(DevKeys.load, settings.dev_keys_dir)
        except (OSError, ValueError) as exc:
            return problem(503, "no-dev-keys", "Service Unavailable",
                           f"cannot load the dev signing key from {settings.dev_keys_dir} "
                           f"({type(exc).__name__}); run `make keys` or set CONSOLE_DEV_KEYS_DIR")
        sub = f"console-{body.role.replace('_', '-')}"
        token = keys.issue(sub, roles=[body.role], ttl=DEV_TOKEN_TTL)
        return JSONResponse({"access_token": token, "token_type": "Bearer",
                             "expires_in": DEV_TOKEN_TTL, "role": body.role, "sub": sub},
                            headers={"cache-control": "no-store"})

    # --- the proxy ----------------------------------------------------------------------------------

    @app.api_route("/api/{service}/{path:path}", methods=METHODS,
                   summary="Forward to a service with the caller's Authorization unchanged")
    async def proxy(service: str, path: str, request: Request) -> Response:
        base = settings.services.get(service)
        if base is None:
            return problem(404, "unknown-service", "Not Found",
                           f"no service {service!r}; known: {', '.join(settings.services)}")
        if any(seg in (".", "..") for seg in path.split("/")):
            return problem(400, "bad-path", "Bad Request", "dot segments are not allowed")
        # The raw path keeps the caller's percent-encoding (an item code with %2F stays one segment).
        raw = (request.scope.get("raw_path") or b"").decode("latin-1")
        prefix = f"/api/{service}/"
        rest = raw[len(prefix) - 1:] if raw.startswith(prefix) else "/" + quote(path)
        url = httpx.URL(base + rest)
        if request.url.query:
            url = url.copy_with(query=request.url.query.encode("latin-1"))
        body = await request.body()
        if len(body) > MAX_BODY:
            return problem(413, "too-large", "Content Too Large",
                           f"request bodies are limited to {MAX_BODY} bytes")
        headers = {k: v for k in FORWARD_REQUEST if (v := request.headers.get(k)) is not None}
        client: httpx.AsyncClient = request.app.state.client
        try:
            upstream = await client.request(request.method, url, headers=headers, content=body or None)
        except httpx.TimeoutException:
            return problem(504, "upstream-timeout", "Gateway Timeout",
                           f"{service} did not answer within {settings.upstream_timeout:g} s")
        except httpx.HTTPError as exc:
            log.warning("upstream %s unreachable at %s: %s", service, base, exc)
            return problem(502, "upstream-unreachable", "Bad Gateway",
                           f"{service} is not reachable at {base} ({type(exc).__name__}); "
                           f"is it running? (`make up`)")
        out = {k: v for k in FORWARD_RESPONSE if (v := upstream.headers.get(k)) is not None}
        out.setdefault("cache-control", "no-store")
        return Response(upstream.content, status_code=upstream.status_code, headers=out)

    return app
