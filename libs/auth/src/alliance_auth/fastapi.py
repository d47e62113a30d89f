"""FastAPI integration: bearer principal dependency, role guard and problem+json handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Final

from fastapi import Depends, FastAPI, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from alliance_auth.errors import MISSING_TOKEN, AuthError, Forbidden
from alliance_auth.principal import Principal
from alliance_auth.verifier import TokenVerifier

PROBLEM_TYPE_BASE: Final = "https://alliance.example/problems/"
PROBLEM_JSON: Final = "application/problem+json"
_STATE_ATTR: Final = "alliance_auth_verifier"

_bearer = HTTPBearer(auto_error=False, bearerFormat="JWT")


def install_auth(app: FastAPI, verifier: TokenVerifier) -> None:
    """Attach `verifier` to the app and map AuthError/Forbidden to 401/403 problem+json."""
    setattr(app.state, _STATE_ATTR, verifier)
    app.add_exception_handler(AuthError, _unauthorized)
    app.add_exception_handler(Forbidden, _forbidden)


def get_verifier(request: Request) -> TokenVerifier:
    """Return the TokenVerifier installed on the request's app."""
    verifier = getattr(request.app.state, _STATE_ATTR, None)
    if verifier is None:
        raise RuntimeError("alliance_auth.fastapi.install_auth(app, verifier) was not called")
    return verifier


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Principal:
    """Authenticate the request's bearer token and return its Principal (verified once per request)."""
    verified = getattr(request.state, "principal", None)  # the edge middleware verified this request's token
    if isinstance(verified, Principal):
        return verified
    if credentials is None:
        raise AuthError(MISSING_TOKEN)
    principal = await get_verifier(request).averify(credentials.credentials)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """Return a dependency yielding the Principal if it holds any of `roles`, else 403."""
    if not roles:
        raise ValueError("require_roles needs at least one role")

    async def principal_with_role(principal: CurrentPrincipal) -> Principal:
        if not principal.has_role(*roles):
            raise Forbidden()
        return principal

    return principal_with_role


def problem_response(
    status: int, slug: str, title: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """Return an RFC 9457 problem+json response."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def bearer_challenge(reason: str) -> str:
    """Return the RFC 6750 WWW-Authenticate value for an authentication failure."""
    if reason == MISSING_TOKEN:
        return "Bearer"
    description = reason.replace("\\", "").replace('"', "")
    return f'Bearer error="invalid_token", error_description="{description}"'


async def _unauthorized(request: Request, exc: Exception) -> JSONResponse:
    """Render AuthError as 401."""
    reason = exc.reason if isinstance(exc, AuthError) else MISSING_TOKEN
    headers = {"WWW-Authenticate": bearer_challenge(reason)}
    return problem_response(401, "unauthorized", "Unauthorized", reason, headers)


async def _forbidden(request: Request, exc: Exception) -> JSONResponse:
    """Render Forbidden as 403."""
    reason = exc.reason if isinstance(exc, Forbidden) else "forbidden"
    return problem_response(403, "forbidden", "Forbidden", reason)
