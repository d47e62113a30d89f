"""FHIR R4 REST (application/fhir+json): create, read, search, transaction Bundles, CapabilityStatement.

Every error is an OperationOutcome. Responses to writes that raised warnings (e.g. an unmapped code)
are an OperationOutcome listing them unless the client asks `Prefer: return=representation`.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI, Request, Response
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.exceptions import HTTPException as StarletteHTTPException

from alliance_auth import AuthError, Forbidden, Principal, Roles
from alliance_auth.fastapi import CurrentPrincipal
from alliance_service import Runtime

from ..adapters import fhir_store
from ..adapters.audit import record_access
from ..domain.clinical import EncounterRecord, Issue, OrderRecord, Record, ResultReport
from ..fhir import bundle as fhir_bundle
from ..fhir import outcome
from ..fhir.body import parse_body
from ..fhir.capability import capability_statement
from ..fhir.mapping import to_records
from ..fhir.search import SearchError, parse_search
from ..fhir.validation import validate
from ..service.ingest import ingest

FHIR_JSON = "application/fhir+json"
TYPES = ("Patient", "Encounter", "Observation", "DiagnosticReport", "ServiceRequest")


def fhir(status: int, body: dict, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, default=str), status_code=status, media_type=FHIR_JSON,
                    headers=headers)


def _outcome(pair: tuple[int, dict]) -> Response:
    return fhir(*pair)


def _effective(record: Record) -> datetime | None:
    match record:
        case ResultReport():
            return record.observed_at
        case EncounterRecord():
            return record.admitted_at or record.discharged_at
        case OrderRecord():
            return record.ordered_at
    return None


def _writer(principal: Principal) -> str | None:
    """The sending hospital: clinical data is written by hospitals only."""
    return principal.hospital_id if principal.has_role(Roles.HOSPITAL) and principal.hospital_id else None


def _only_hospitals_write() -> Response:
    return fhir(403, outcome.operation_outcome([Issue("error", "forbidden", "", "only hospitals write")]))


def _wants_representation(request: Request, warnings: list[Issue]) -> bool:
    prefer = request.headers.get("prefer", "")
    if "return=OperationOutcome" in prefer:
        return False
    return "return=representation" in prefer or not warnings


def router(runtime: Runtime) -> APIRouter:
    r = APIRouter(prefix="/fhir", tags=["FHIR R4"])
    protector = lambda: runtime.extras["patient_index"].protector  # noqa: E731

    @r.get("/metadata", summary="CapabilityStatement")
    async def metadata(request: Request) -> Response:
        return fhir(200, capability_statement(str(request.base_url).rstrip("/") + "/fhir",
                                              software_version=runtime.spec.version))

    async def _ingest_and_store(conn: AsyncConnection, uow, hospital: str, items: list[tuple[dict, list[Record],
                                str | None]]) -> tuple[list[dict], list[Issue]] | tuple[None, list[Issue]]:
        records = [rec for _, recs, _ in items for rec in recs]
        result = await ingest(conn, uow.events, records, hospital_id=hospital, source="fhir",
                              patients=runtime.extras["patient_index"], now=datetime.now(UTC))
        if not result.accepted:
            return None, result.issues
        stored, n = [], 0
        for resource, recs, rid in items:
            patient_id = result.patient_ids[n] if recs else None
            effective = _effective(recs[0]) if recs else None
            n += len(recs)
            stored.append(await fhir_store.save(conn, protector(), resource, hospital_id=hospital,
                                                patient_id=patient_id, effective_at=effective, resource_id=rid))
        return stored, result.issues

    @r.post("/{resource_type}", summary="Create a resource")
    async def create(resource_type: str, request: Request, principal: CurrentPrincipal) -> Response:
        if resource_type not in TYPES:
            return _outcome(outcome.not_found(resource_type, ""))
        hospital = _writer(principal)
        if hospital is None:
            return _only_hospitals_write()
        body, issues = parse_body(await request.body())
        if body is not None:
            issues = validate(body, expected_type=resource_type)
        if any(i.severity == "error" for i in issues):
            return _outcome(outcome.outcome_response(issues))
        records, map_issues = to_records(body, sending_facility=hospital)
        if any(i.severity == "error" for i in map_issues):
            return _outcome(outcome.outcome_response(map_issues))
        uow = runtime.uow()
        async with uow:
            stored, ingest_issues = await _ingest_and_store(uow.conn, uow, hospital, [(body, records, None)])
            warnings = issues + map_issues + ingest_issues
            if stored is None:
                return _outcome(outcome.outcome_response(warnings))
            await uow.commit()
        saved = stored[0]
        headers = {"Location": f"/fhir/{resource_type}/{saved['id']}/_history/1", "ETag": 'W/"1"'}
        if _wants_representation(request, warnings):
            return fhir(201, saved, headers)
        return fhir(201, outcome.operation_outcome(warnings or []), headers)

    @r.post("", summary="Process a transaction Bundle (all or nothing)")
    @r.post("/", include_in_schema=False)
    async def transaction(request: Request, principal: CurrentPrincipal) -> Response:
        hospital = _writer(principal)
        if hospital is None:
            return _only_hospitals_write()
        body, issues = parse_body(await request.body())
        if body is not None:
            issues = validate(body, expected_type="Bundle")
        if any(i.severity == "error" for i in issues):
            return _outcome(outcome.outcome_response(issues))
        try:
            entries = fhir_bundle.parse_transaction(body)
        except fhir_bundle.BundleError as exc:
            return _outcome(outcome.outcome_response(exc.issues))
        mapped, map_issues = fhir_bundle.transaction_records(entries, sending_facility=hospital)
        if any(i.severity == "error" for i in map_issues):
            return _outcome(outcome.outcome_response(map_issues))
        ids = {e.full_url: f"{e.resource_type}/{e.resource_id or _new_id()}" for e in entries if e.full_url}
        items = []
        for m in mapped:
            resource = fhir_bundle.rewrite_references(m.entry.resource, ids)
            rid = ids.get(m.entry.full_url, "/").split("/", 1)[1] if m.entry.full_url else m.entry.resource_id
            items.append((resource, list(m.records), rid))
        uow = runtime.uow()
        try:
            async with uow:
                stored, ingest_issues = await _ingest_and_store(uow.conn, uow, hospital, items)
                if stored is None:
                    return _outcome(outcome.outcome_response(issues + map_issues + ingest_issues))
                await uow.commit()
        except fhir_store.NotYours as exc:     # all or nothing: the whole Bundle is rolled back
            return _outcome(outcome.conflict(
                f"{exc.resource_type}/{exc.resource_id} cannot be written by this hospital; use another id"))
        return fhir(200, {"resourceType": "Bundle", "type": "transaction-response", "entry": [
            {"response": {"status": "201 Created", "location": f"{s['resourceType']}/{s['id']}/_history/1",
                          "outcome": outcome.operation_outcome(ingest_issues)} if ingest_issues else
             {"status": "201 Created", "location": f"{s['resourceType']}/{s['id']}/_history/1"}}
            for s in stored]})

    @r.get("/{resource_type}/{resource_id}", summary="Read a resource (audited)")
    async def read(resource_type: str, resource_id: str, principal: CurrentPrincipal) -> Response:
        if resource_type not in TYPES or not principal.has_role(Roles.HOSPITAL, Roles.ALLIANCE_ADMIN):
            return _outcome(outcome.not_found(resource_type, resource_id))
        async with runtime.engine.begin() as conn:
            found = await fhir_store.read(conn, principal, resource_type, resource_id)
            await record_access(conn, principal, action="read", resource=f"{resource_type}/{resource_id}",
                                patient_id=found[1] if found else None, purpose="fhir read",
                                outcome="allowed" if found else "denied-or-unknown")
        if found is None:
            return _outcome(outcome.not_found(resource_type, resource_id))
        return fhir(200, found[0], {"ETag": f'W/"{found[0].get("meta", {}).get("versionId", "1")}"'})

    @r.get("/{resource_type}", summary="Search (patient, subject, identifier, code, date, _id, _count; audited)")
    async def search(resource_type: str, request: Request, principal: CurrentPrincipal) -> Response:
        if resource_type not in TYPES:
            return _outcome(outcome.not_found(resource_type, ""))
        if not principal.has_role(Roles.HOSPITAL, Roles.ALLIANCE_ADMIN):
            return fhir(403, outcome.operation_outcome([Issue("error", "forbidden", "",
                                                              "patient-level data is for treating hospitals")]))
        params: dict[str, list[str]] = {}
        for k, v in request.query_params.multi_items():
            params.setdefault(k, []).append(v)
        try:
            query = parse_search(resource_type, params)
        except SearchError as exc:
            return _outcome(outcome.bad_request(str(exc)))
        async with runtime.engine.begin() as conn:
            found = await fhir_store.search(conn, principal, query, protector())
            await record_access(conn, principal, action="search", resource=f"{resource_type}?{request.url.query}"[:300],
                                patient_id=None, purpose="fhir search", outcome=f"{len(found)} result(s)")
        return fhir(200, {"resourceType": "Bundle", "type": "searchset", "total": len(found),
                          "entry": [{"fullUrl": f"{resource_type}/{b['id']}", "resource": b,
                                     "search": {"mode": "match"}} for b in found]})

    return r


def _new_id() -> str:
    return uuid.uuid4().hex


def fhir_auth_errors(app: FastAPI) -> None:
    """401 and 403 under /fhir are OperationOutcomes; elsewhere the platform's problem+json stays."""
    problems = {AuthError: app.exception_handlers[AuthError], Forbidden: app.exception_handlers[Forbidden]}

    async def handle(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith("/fhir"):
            return await problems[type(exc)](request, exc)
        unauthenticated = isinstance(exc, AuthError)
        body = {"resourceType": "OperationOutcome", "issue": [{
            "severity": "error", "code": "login" if unauthenticated else "forbidden",
            "diagnostics": getattr(exc, "reason", str(exc))}]}
        return fhir(401 if unauthenticated else 403, body,
                    {"WWW-Authenticate": 'Bearer error="invalid_token"'} if unauthenticated else None)

    app.add_exception_handler(AuthError, handle)
    app.add_exception_handler(Forbidden, handle)
    fhir_routing_errors(app)


_ISSUE_CODES = {404: "not-found", 405: "not-supported", 413: "too-costly", 415: "not-supported"}


def fhir_routing_errors(app: FastAPI) -> None:
    """A path under /fhir that no route serves (404, 405, …) is an OperationOutcome too, not problem+json."""
    platform = app.exception_handlers[StarletteHTTPException]

    async def handle(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith("/fhir") or not isinstance(exc, StarletteHTTPException):
            return await platform(request, exc)
        detail = exc.detail if isinstance(exc.detail, str) else "request not served"
        return fhir(exc.status_code, {"resourceType": "OperationOutcome", "issue": [{
            "severity": "error", "code": _ISSUE_CODES.get(exc.status_code, "processing"), "diagnostics": detail}]},
            getattr(exc, "headers", None))

    app.add_exception_handler(StarletteHTTPException, handle)
