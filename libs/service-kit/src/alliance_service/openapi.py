"""The OpenAPI document as the services really answer: error responses, media types, operation ids.

FastAPI documents only what a route declares (200/201) and a 422 body the services never send. `install_openapi`
rewrites `app.openapi()` once, for every service, so that each operation documents:
- 400 (NUL in the URL: every route), 401 (a route that needs a token), 403 (a route whose roles are declared, see
  `x-alliance-roles`), 404 (a route with path parameters), 413 (a route that takes a body), 422 (a route with
  parameters or a body), 500 and 503, each with the problem+json schema the problem handlers (problems.py) and the
  auth handlers send (`type`, `title`, `status`, `detail`; `errors[]` on request validation);
- under a FHIR prefix, `application/fhir+json` bodies (writes document their body and 409) and errors as FHIR
  OperationOutcome;
- an operation id from the route function's name (unique per service) instead of FastAPI's generated one.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any, Final

from fastapi import FastAPI

from alliance_auth.fastapi import OPENAPI_ROLES, api_routes

from .problems import PROBLEM_BASE, PROBLEM_JSON

FHIR_JSON: Final = "application/fhir+json"
METHODS: Final = ("get", "put", "post", "patch", "delete", "head", "options")

PROBLEM_SCHEMA: Final[dict[str, Any]] = {
    "title": "Problem",
    "description": "RFC 9457 problem details. `type` is " + PROBLEM_BASE + "<slug>; see docs/problems.md for "
                   "every slug. Some problems add members of their own (e.g. `limit` on 413).",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri", "pattern": "^" + re.escape(PROBLEM_BASE) + "[a-z0-9-]+$"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "errors": {
            "description": "request validation only: one entry per failing input",
            "type": "array",
            "items": {"$ref": "#/components/schemas/ValidationIssue"},
        },
    },
    "additionalProperties": True,
}
VALIDATION_ISSUE_SCHEMA: Final[dict[str, Any]] = {
    "title": "ValidationIssue",
    "type": "object",
    "required": ["location", "message", "type"],
    "properties": {
        "location": {"description": "where: body/query/path/header, then field names and list indexes",
                     "type": "array", "items": {"type": ["string", "integer"]}},
        "message": {"type": "string"},
        "type": {"type": "string"},
    },
    "additionalProperties": False,
}
OPERATION_OUTCOME_SCHEMA: Final[dict[str, Any]] = {
    "title": "OperationOutcome",
    "description": "FHIR R4 OperationOutcome (the subset this platform sends)",
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"enum": ["fatal", "error", "warning", "information"]},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string"},
                    "details": {"type": "object"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                    "location": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}
FHIR_RESOURCE_SCHEMA: Final[dict[str, Any]] = {
    "title": "FhirResource",
    "description": "a FHIR R4 resource (JSON); the CapabilityStatement at /fhir/metadata lists which",
    "type": "object",
    "required": ["resourceType"],
    "properties": {"resourceType": {"type": "string"}},
}

ERROR_DESCRIPTIONS: Final = {
    "400": "Bad Request: a malformed request (e.g. NUL bytes in the URL)",
    "401": "Unauthorized: no bearer token, or a token that fails verification (WWW-Authenticate says why)",
    "403": "Forbidden: the token's role is not among the operation's declared roles (x-alliance-roles)",
    "404": "Not Found: no such resource, or another hospital's (its existence is not revealed)",
    "413": "Content Too Large: the body exceeds the route's limit",
    "422": "Unprocessable Content: the request does not match the schema (errors[] says where), contains a "
           "control character, or breaks a rule",
    "500": "Internal Server Error: nothing internal is revealed; the error is logged with the trace id",
    "503": "Service Unavailable: the database or the broker is down; retry later",
}
_WWW_AUTHENTICATE: Final = {"WWW-Authenticate": {"description": "Bearer challenge (RFC 6750)",
                                                 "schema": {"type": "string"}}}
_FASTAPI_DEFAULTS: Final = ("HTTPValidationError", "ValidationError")


def install_openapi(app: FastAPI, *, fhir_prefix: str | None = "/fhir") -> None:
    """Make `app.openapi()` document errors, media types and operation ids as described in the module doc."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if getattr(app.state, "alliance_openapi", None) is None:
            app.state.alliance_openapi = rewrite(copy.deepcopy(build()), operation_names(app),
                                                 fhir_prefix=fhir_prefix)
        return app.state.alliance_openapi

    app.openapi = openapi  # type: ignore[method-assign]


def operation_names(app: FastAPI) -> dict[tuple[str, str], str]:
    """(path, method) → the route function's name, made unique within the app."""
    entries = [(route.path_format, method.lower(), route.name)
               for route in api_routes(app) if route.include_in_schema for method in sorted(route.methods or ())]
    counts = Counter(name for _, _, name in entries)
    names: dict[tuple[str, str], str] = {}
    for path, method, name in entries:
        if counts[name] > 1:  # one function serving several paths or methods: name them apart
            suffix = re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_")
            name = f"{name}_{method}_{suffix}" if suffix else f"{name}_{method}"
        names[(path, method)] = name
    return names


def rewrite(schema: dict[str, Any], names: dict[tuple[str, str], str], *,
            fhir_prefix: str | None = "/fhir") -> dict[str, Any]:
    """The document with every operation's errors, media types and operation id as the services answer."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_DEFAULTS:
        components.pop(name, None)
    components["Problem"] = PROBLEM_SCHEMA
    components["ValidationIssue"] = VALIDATION_ISSUE_SCHEMA
    fhir = False
    for path, operations in schema.get("paths", {}).items():
        is_fhir = fhir_prefix is not None and (path == fhir_prefix or path.startswith(fhir_prefix + "/"))
        fhir = fhir or is_fhir
        for method in METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            operation["operationId"] = names.get((path, method), operation.get("operationId"))
            if is_fhir and method in ("post", "put"):
                _fhir_write(operation)
            _document_errors(path, operation, fhir=is_fhir)
            if is_fhir:
                _fhir_media(operation)
    if fhir:
        components["OperationOutcome"] = OPERATION_OUTCOME_SCHEMA
        components["FhirResource"] = FHIR_RESOURCE_SCHEMA
    return schema


def error_statuses(path: str, operation: dict[str, Any]) -> list[str]:
    """The error statuses every operation of this shape can answer (besides those it declares itself)."""
    roles = operation.get(OPENAPI_ROLES)
    statuses = ["400", "500", "503"]
    if operation.get("parameters") or "requestBody" in operation:
        statuses.append("422")
    if roles not in (None, "public"):
        statuses.append("401")
        if isinstance(roles, dict) and roles.get("roles") != "any":
            statuses.append("403")
    if "{" in path:
        statuses.append("404")
    if "requestBody" in operation:
        statuses.append("413")
    return sorted(statuses)


def _document_errors(path: str, operation: dict[str, Any], *, fhir: bool) -> None:
    responses = operation.setdefault("responses", {})
    declared = [status for status in responses if _is_error(status)]
    for status in sorted({*declared, *error_statuses(path, operation)}):
        response = responses.setdefault(status, {})
        own = response.get("description")
        if not own or own in ("Validation Error", "Successful Response"):
            own = ERROR_DESCRIPTIONS.get(status, "an error the client can act on")
        response["description"] = own
        if fhir:
            response["content"] = {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}}
        else:
            response["content"] = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        if status == "401":
            response["headers"] = _WWW_AUTHENTICATE


def _fhir_write(operation: dict[str, Any]) -> None:
    """FHIR writes read their body themselves (the resource's own validation): document it, and their 409."""
    operation.setdefault("requestBody", {
        "required": True,
        "content": {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/FhirResource"}}},
    })
    operation["responses"].setdefault("409", {"description": "Conflict: e.g. a write naming another resource's "
                                                             "id, or a version conflict"})


def _fhir_media(operation: dict[str, Any]) -> None:
    """FHIR bodies are application/fhir+json: replace generic JSON in the request and success responses."""
    for holder in _success_and_request(operation):
        content = holder.get("content")
        if not content or FHIR_JSON in content:
            continue
        generic = content.pop("application/json", None)
        if generic is None:
            continue
        schema = generic.get("schema") or {}
        content[FHIR_JSON] = {"schema": schema if schema else {"$ref": "#/components/schemas/FhirResource"}}


def _success_and_request(operation: dict[str, Any]) -> Iterable[dict[str, Any]]:
    if isinstance(operation.get("requestBody"), dict):
        yield operation["requestBody"]
    for status, response in operation.get("responses", {}).items():
        if not _is_error(status) and isinstance(response, dict):
            yield response


def _is_error(status: str) -> bool:
    return status[:1] in ("4", "5")
