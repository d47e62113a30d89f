"""The OpenAPI document as the services answer: errors by route shape, problem+json, FHIR media, operation ids."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel

from alliance_auth import JwksSource, TokenVerifier
from alliance_auth.fastapi import CurrentPrincipal, install_auth, require_roles
from alliance_service.openapi import install_openapi
from alliance_service.problems import install_problem_handlers


class Thing(BaseModel):
    name: str


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    install_auth(app, TokenVerifier(JwksSource("unused.json"), issuer="i", audience="a"))
    r = APIRouter()

    @r.get("/public", tags=["t"])
    async def public() -> dict:
        return {}

    @r.get("/things/{thing_id}", tags=["t"])
    async def read(thing_id: str, _: CurrentPrincipal) -> dict:
        return {}

    @r.post("/things", tags=["t"], responses={409: {"description": "taken"}})
    async def create(body: Thing, _=Depends(require_roles("alliance_admin"))) -> dict:
        return {}

    @r.get("/fhir/{resource_type}/{resource_id}", tags=["FHIR"])
    async def read_fhir(resource_type: str, resource_id: str, _: CurrentPrincipal) -> dict:
        return {}

    app.include_router(r)
    r2 = APIRouter(prefix="/other")
    r2.add_api_route("/things/{thing_id}", read, methods=["GET"])   # the same function on a second path
    app.include_router(r2)
    install_openapi(app)
    return app


def _statuses(doc: dict, path: str, method: str) -> set[str]:
    return set(doc["paths"][path][method]["responses"])


def test_errors_follow_the_route_shape():
    doc = _app().openapi()
    assert _statuses(doc, "/public", "get") == {"200", "400", "500", "503"}
    assert _statuses(doc, "/things/{thing_id}", "get") == {"200", "400", "401", "404", "422", "500", "503"}
    assert _statuses(doc, "/things", "post") == {"200", "400", "401", "403", "409", "413", "422", "500", "503"}
    conflict = doc["paths"]["/things"]["post"]["responses"]["409"]
    assert conflict["description"] == "taken"
    assert conflict["content"] == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert "WWW-Authenticate" in doc["paths"]["/things"]["post"]["responses"]["401"]["headers"]


def test_fastapi_validation_schemas_are_replaced_by_the_problem_schema():
    schemas = _app().openapi()["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert schemas["Problem"]["required"] == ["type", "title", "status"]
    assert schemas["Problem"]["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/ValidationIssue"}


def test_fhir_routes_answer_fhir_json_and_operation_outcomes():
    doc = _app().openapi()
    responses = doc["paths"]["/fhir/{resource_type}/{resource_id}"]["get"]["responses"]
    assert set(responses["200"]["content"]) == {"application/fhir+json"}
    assert responses["404"]["content"] == {
        "application/fhir+json": {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}}
    assert "OperationOutcome" in doc["components"]["schemas"]


def test_operation_ids_are_function_names_made_unique():
    doc = _app().openapi()
    ids = {path: ops["get"]["operationId"] for path, ops in doc["paths"].items() if "get" in ops}
    assert ids["/public"] == "public"
    assert ids["/fhir/{resource_type}/{resource_id}"] == "read_fhir"
    assert ids["/things/{thing_id}"] == "read_get_things_thing_id"
    assert ids["/other/things/{thing_id}"] == "read_get_other_things_thing_id"
    assert doc["paths"]["/things"]["post"]["operationId"] == "create"
