"""FastAPI integration end to end through an ASGI transport."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI

from alliance_auth import Principal, Roles, TokenVerifier
from alliance_auth.dev import DevKeys
from alliance_auth.fastapi import CurrentPrincipal, install_auth, require_roles

AdminPrincipal = Annotated[Principal, Depends(require_roles(Roles.ALLIANCE_ADMIN))]


def _app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    install_auth(app, verifier)

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, object]:
        return {"sub": principal.subject, "hospital_id": principal.hospital_id}

    @app.get("/admin", dependencies=[Depends(require_roles(Roles.ALLIANCE_ADMIN))])
    async def admin() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/oversight")
    async def oversight(principal: AdminPrincipal) -> dict[str, str]:
        return {"sub": principal.subject}

    @app.get("/public")
    async def public() -> dict[str, str]:
        return {"ok": "yes"}

    return app


@pytest.fixture
async def client(verifier: TokenVerifier) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app(verifier))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _assert_problem(response: httpx.Response, status: int, slug: str, detail: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": f"https://alliance.example/problems/{slug}",
        "title": slug.capitalize(),
        "status": status,
        "detail": detail,
    }


async def test_valid_token_reaches_the_route(client: httpx.AsyncClient, keys: DevKeys) -> None:
    token = keys.issue("user-1", hospital_id="H001", roles=[Roles.HOSPITAL])
    response = await client.get("/me", headers=_bearer(token))
    assert response.status_code == 200
    assert response.json() == {"sub": "user-1", "hospital_id": "H001"}


async def test_missing_token_gets_401_with_bare_bearer_challenge(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/me")
    _assert_problem(response, 401, "unauthorized", "missing token")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_non_bearer_scheme_counts_as_missing_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    _assert_problem(response, 401, "unauthorized", "missing token")


async def test_expired_token_gets_401_with_invalid_token_challenge(
    client: httpx.AsyncClient, keys: DevKeys
) -> None:
    token = keys.issue("user-1", roles=[Roles.HOSPITAL], ttl=60, now=time.time() - 3600)
    response = await client.get("/me", headers=_bearer(token))
    _assert_problem(response, 401, "unauthorized", "token expired")
    assert response.headers["www-authenticate"] == (
        'Bearer error="invalid_token", error_description="token expired"'
    )


async def test_garbage_token_gets_401_malformed(client: httpx.AsyncClient) -> None:
    response = await client.get("/me", headers=_bearer("garbage"))
    _assert_problem(response, 401, "unauthorized", "malformed token")


async def test_missing_role_gets_403_problem(client: httpx.AsyncClient, keys: DevKeys) -> None:
    token = keys.issue("user-1", hospital_id="H001", roles=[Roles.HOSPITAL])
    for path in ("/admin", "/oversight"):
        response = await client.get(path, headers=_bearer(token))
        _assert_problem(response, 403, "forbidden", "insufficient role")


async def test_required_role_passes_the_guard(client: httpx.AsyncClient, keys: DevKeys) -> None:
    token = keys.issue("admin-1", roles=[Roles.ALLIANCE_ADMIN])
    assert (await client.get("/admin", headers=_bearer(token))).json() == {"ok": "yes"}
    assert (await client.get("/oversight", headers=_bearer(token))).json() == {"sub": "admin-1"}


async def test_role_guard_checks_authentication_first(client: httpx.AsyncClient) -> None:
    _assert_problem(await client.get("/admin"), 401, "unauthorized", "missing token")


async def test_routes_without_the_dependency_stay_public(client: httpx.AsyncClient) -> None:
    assert (await client.get("/public")).status_code == 200


async def test_openapi_declares_the_bearer_scheme(client: httpx.AsyncClient) -> None:
    schemes = (await client.get("/openapi.json")).json()["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer"


def test_require_roles_needs_a_role() -> None:
    with pytest.raises(ValueError, match="at least one role"):
        require_roles()


async def test_principal_without_install_auth_is_a_server_error(keys: DevKeys) -> None:
    app = FastAPI()

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> str:
        return principal.subject

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        with pytest.raises(RuntimeError, match="install_auth"):
            await client.get("/me", headers=_bearer(keys.issue("u", roles=["hospital"])))


async def test_hospital_token_without_hospital_id_gets_401_invalid_token(
    client: httpx.AsyncClient, keys: DevKeys
) -> None:
    response = await client.get("/me", headers=_bearer(keys.issue("u", roles=[Roles.HOSPITAL])))
    _assert_problem(response, 401, "unauthorized", "role hospital requires a hospital_id claim")
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
