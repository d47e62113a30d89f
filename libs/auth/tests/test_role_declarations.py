"""Routes and gRPC methods declare their roles in one place; the declaration is enforced and readable."""

from __future__ import annotations

from typing import Annotated, Any

import grpc
import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from grpc import aio

from alliance_auth import Principal, Roles, TokenVerifier
from alliance_auth.dev import DevKeys
from alliance_auth.fastapi import (
    OPENAPI_ROLES,
    CurrentPrincipal,
    api_routes,
    install_auth,
    require_roles,
    route_roles,
)
from alliance_auth.grpc import (
    AuthInterceptor,
    bearer_metadata,
    grpc_roles,
    handler_roles,
    method_roles,
    registered_methods,
)
from alliance_auth.roles import ANY_ROLE_SCOPED, RoleDeclaration

Reader = Annotated[Principal, Depends(require_roles(Roles.HOSPITAL, Roles.REGULATOR, scoped=True))]


def _app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    install_auth(app, verifier)
    router = APIRouter(prefix="/v1")

    @router.get("/figures")
    async def figures(_: Reader) -> dict:
        return {}

    @router.get("/catalog")
    async def catalog(_: CurrentPrincipal) -> dict:
        return {}

    @router.post("/admin", dependencies=[Depends(require_roles(Roles.ALLIANCE_ADMIN))])
    async def admin() -> dict:
        return {}

    @router.get("/public")
    async def public() -> dict:
        return {}

    app.include_router(router)
    return app


def test_the_dependency_carries_its_declaration_and_routes_expose_it(verifier: TokenVerifier) -> None:
    app = _app(verifier)
    declared = {route.path_format: route_roles(route) for route in api_routes(app)}
    assert declared["/v1/figures"] == RoleDeclaration(frozenset({Roles.HOSPITAL, Roles.REGULATOR}), scoped=True)
    assert declared["/v1/catalog"] == ANY_ROLE_SCOPED
    assert declared["/v1/admin"] == RoleDeclaration(frozenset({Roles.ALLIANCE_ADMIN}))
    assert declared["/v1/public"] is None


def test_the_table_answers_per_role() -> None:
    figures = RoleDeclaration(frozenset({Roles.HOSPITAL, Roles.REGULATOR}), scoped=True)
    assert [figures.answer(r) for r in (Roles.HOSPITAL, Roles.REGULATOR, Roles.SUPPLIER)] == [
        "allowed, own hospital only", "allowed", "403"]
    assert ANY_ROLE_SCOPED.answer(Roles.SUPPLIER) == "allowed, scoped"
    assert figures.describe() == "hospital, regulator, scoped"


def test_every_openapi_operation_carries_its_roles(verifier: TokenVerifier) -> None:
    paths = _app(verifier).openapi()["paths"]
    assert paths["/v1/figures"]["get"][OPENAPI_ROLES] == {
        "roles": ["hospital", "regulator"], "scoped": True,
        "answers": {"hospital": "allowed, own hospital only", "alliance_admin": "403", "qc_center": "403",
                    "regulator": "allowed", "supplier": "403"}}
    assert paths["/v1/admin"]["post"][OPENAPI_ROLES]["roles"] == ["alliance_admin"]
    assert paths["/v1/catalog"]["get"][OPENAPI_ROLES]["roles"] == "any"
    assert paths["/v1/public"]["get"][OPENAPI_ROLES] == "public"


async def test_a_wrong_role_is_403_and_a_token_without_any_role_is_401(keys: DevKeys,
                                                                       verifier: TokenVerifier) -> None:
    transport = httpx.ASGITransport(app=_app(verifier))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        supplier = {"Authorization": f"Bearer {keys.issue('s', roles=[Roles.SUPPLIER])}"}
        assert (await client.get("/v1/figures", headers=supplier)).status_code == 403
        assert (await client.get("/v1/catalog", headers=supplier)).status_code == 200
        roleless = {"Authorization": f"Bearer {keys.issue('nobody', roles=[])}"}
        for path in ("/v1/figures", "/v1/catalog"):
            r = await client.get(path, headers=roleless)
            assert r.status_code == 401 and r.json()["detail"] == "token carries no role"


class _Servicer:
    @grpc_roles(Roles.HOSPITAL, scoped=True)
    async def Ask(self, request: bytes, context: Any) -> bytes:
        return b"ok"

    async def Open(self, request: bytes, context: Any) -> bytes:
        return b"open"


def _register(server: Any) -> None:
    servicer = _Servicer()
    handlers = {name: grpc.unary_unary_rpc_method_handler(getattr(servicer, name)) for name in ("Ask", "Open")}
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.v1.Svc", handlers),))


def test_grpc_methods_declare_their_roles() -> None:
    methods = registered_methods(_register)
    assert list(methods) == ["/test.v1.Svc/Ask", "/test.v1.Svc/Open"]
    assert handler_roles(methods["/test.v1.Svc/Ask"]) == RoleDeclaration(frozenset({Roles.HOSPITAL}), scoped=True)
    assert handler_roles(methods["/test.v1.Svc/Open"]) == method_roles(None) == ANY_ROLE_SCOPED


@pytest.fixture
async def channel(verifier: TokenVerifier):
    server = aio.server(interceptors=[AuthInterceptor(verifier)])
    _register(server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch
    await server.stop(None)


async def test_grpc_roles_are_enforced(channel: aio.Channel, keys: DevKeys) -> None:
    ask = channel.unary_unary("/test.v1.Svc/Ask")
    hospital = keys.issue("h", hospital_id="H001", roles=[Roles.HOSPITAL])
    assert await ask(b"", metadata=bearer_metadata(hospital)) == b"ok"
    with pytest.raises(aio.AioRpcError) as denied:
        await ask(b"", metadata=bearer_metadata(keys.issue("s", roles=[Roles.SUPPLIER])))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(aio.AioRpcError) as roleless:
        await channel.unary_unary("/test.v1.Svc/Open")(b"", metadata=bearer_metadata(keys.issue("n", roles=[])))
    assert roleless.value.code() == grpc.StatusCode.UNAUTHENTICATED
