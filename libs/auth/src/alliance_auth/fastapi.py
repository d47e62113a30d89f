"""FastAPI integration: bearer principal dependency, role guard and problem+json handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any, Final

from fastapi import Depends, FastAPI, Request, Security
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from alliance_auth.errors import MISSING_TOKEN, AuthError, Forbidden
from alliance_auth.principal import Principal
from alliance_auth.roles import ANY_ROLE_SCOPED, DECLARATION_ATTR, NO_ROLE, RoleDeclaration
from alliance_auth.verifier import TokenVerifier

PROBLEM_TYPE_BASE: Final = "https://alliance.example/problems/"
PROBLEM_JSON: Final = "application/problem+json"
_STATE_ATTR: Final = "alliance_auth_verifier"
OPENAPI_ROLES: Final = "x-alliance-roles"

_bearer = HTTPBearer(auto_error=False, bearerFormat="JWT")


def install_auth(app: FastAPI, verifier: TokenVerifier) -> None:
    """Attach `verifier`, map AuthError/Forbidden to 401/403 problem+json, and publish each route's roles."""
    setattr(app.state, _STATE_ATTR, verifier)
    app.add_exception_handler(AuthError, _unauthorized)
    app.add_exception_handler(Forbidden, _forbidden)
    _publish_roles_in_openapi(app)


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
    if not principal.roles:
        raise AuthError(NO_ROLE)
    request.state.principal = principal
    return principal


setattr(get_principal, DECLARATION_ATTR, ANY_ROLE_SCOPED)   # any authenticated role, scoped in the query

CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: str, scoped: bool = False) -> Callable[..., Awaitable[Principal]]:
    """Return a dependency yielding the Principal if it holds any of `roles`, else 403.

    This is the one place a route states who may call it: the dependency carries its RoleDeclaration (attribute
    `alliance_roles`), from which the OpenAPI `x-alliance-roles` and docs/authorization.md are generated.
    `scoped` says that a hospital caller sees or acts on its own hospital's resources only (others answer 404).
    """
    if not roles:
        raise ValueError("require_roles needs at least one role")
    declaration = RoleDeclaration(frozenset(roles), scoped)

    async def principal_with_role(principal: CurrentPrincipal) -> Principal:
        if not principal.has_role(*roles):
            raise Forbidden()
        return principal

    setattr(principal_with_role, DECLARATION_ATTR, declaration)
    return principal_with_role


def _declarations(dependant: Dependant) -> Iterator[RoleDeclaration]:
    """Every role declaration in a dependency tree, outermost first."""
    for dependency in dependant.dependencies:
        declaration = getattr(dependency.call, DECLARATION_ATTR, None)
        if isinstance(declaration, RoleDeclaration):
            yield declaration
        yield from _declarations(dependency)


def api_routes(app: FastAPI) -> Iterator[Any]:
    """Every API route of `app` with its effective path, including those of included routers."""
    iter_contexts = getattr(fastapi_routing, "iter_route_contexts", None)
    routes = iter_contexts(app.routes) if iter_contexts is not None else app.routes
    for route in routes:
        if isinstance(getattr(route, "dependant", None), Dependant) and getattr(route, "methods", None):
            yield route


def route_roles(route: APIRoute) -> RoleDeclaration | None:
    """The roles a route admits, from its dependencies; None for a route that needs no token."""
    found = list(_declarations(route.dependant))
    declared = [d for d in found if d.roles is not None]
    if not declared:
        return found[0] if found else None
    roles = frozenset.intersection(*(d.roles for d in declared if d.roles is not None))
    return RoleDeclaration(roles, any(d.scoped for d in declared))


def _publish_roles_in_openapi(app: FastAPI) -> None:
    """Make app.openapi() carry each operation's declaration as `x-alliance-roles`."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for route in api_routes(app):
            if not route.include_in_schema:
                continue
            declaration = route_roles(route)
            operations = schema.get("paths", {}).get(route.path_format, {})
            for method in route.methods or ():
                operation = operations.get(method.lower())
                if operation is not None:
                    operation[OPENAPI_ROLES] = declaration.openapi() if declaration else "public"
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


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
