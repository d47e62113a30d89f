"""RFC 9457 problem+json responses for every error a route can produce."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://alliance.example/problems/"
log = logging.getLogger(__name__)


class Problem(Exception):
    """An error the client can act on, rendered as problem+json."""

    def __init__(self, status: int, slug: str, title: str, detail: str | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status, self.slug, self.title, self.detail, self.extra = status, slug, title, detail, extra
        self.headers = headers


def not_found(what: str) -> Problem:
    """404 that does not reveal whether the resource belongs to someone else."""
    return Problem(404, "not-found", "Not Found", f"{what} not found")


def problem_response(status: int, slug: str, title: str, detail: str | None = None,
                     headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": PROBLEM_BASE + slug, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 412: "Precondition Failed",
           413: "Content Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Content",
           503: "Service Unavailable"}


def install_problem_handlers(app: FastAPI) -> None:
    """Turn Problem, HTTP, validation and unexpected errors into problem+json.

    The unexpected-error handler only renders: the edge middleware (edge.py) logs the error once and answers
    without re-raising, so the connection stays usable.
    """

    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.slug, exc.title, exc.detail, headers=exc.headers, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = _TITLES.get(exc.status_code, "Error")
        slug = title.lower().replace(" ", "-")
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
        return problem_response(exc.status_code, slug, title, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"location": list(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type", "")}
                  for e in exc.errors()]
        return problem_response(422, "validation-error", "Unprocessable Content",
                                "the request does not match the schema", errors=errors)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        return problem_response(500, "internal-error", "Internal Server Error", "an unexpected error occurred")
