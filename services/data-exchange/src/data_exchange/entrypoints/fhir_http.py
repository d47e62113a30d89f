"""FHIR R4 REST (application/fhir+json): create, read, search, transaction Bundles, CapabilityStatement.

Every error is an OperationOutcome. Responses to writes that raised warnings (e.g. an unmapped code)
are an OperationOutcome listing them unless the client asks `Prefer: return=representation`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.exceptions import HTTPException as StarletteHTTPException

from alliance_auth import AuthError, Forbidden, Principal, Roles
from alliance_auth.fastapi import require_roles
from alliance_service import Problem, Runtime

from ..adapters import fhir_patients, fhir_store
from ..adapters.audit import record_access
from ..domain.clinical import (
    EncounterRecord,
    Issue,
    OrderRecord,
    PatientRecord,
    Record,
    ResultReport,
)
from ..fhir import bundle as fhir_bundle
from ..fhir import outcome
from ..fhir import patient as fhir_patient
from ..fhir.body import parse_body
from ..fhir.capability import capability_statement
from ..fhir.mapping import to_records
from ..fhir.search import SearchError, parse_search
from ..fhir.validation import validate
from ..service.ingest import ingest

FHIR_JSON = "application/fhir+json"
TYPES = ("Patient", "Encounter", "Observation", "DiagnosticReport", "ServiceRequest")
Writer = Annotated[Principal, Depends(require_roles(Roles.HOSPITAL, scoped=True))]
Clinician = Annotated[Principal, Depends(require_roles(Roles.HOSPITAL, Roles.ALLIANCE_ADMIN, scoped=True))]


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


def _viewer(principal: Principal) -> str | None:
    """Whose view of other hospitals' identifiers a response takes: None for administrators (they see all)."""
    return None if principal.has_role(Roles.ALLIANCE_ADMIN) else principal.hospital_id or ""


def _status(saved: dict) -> tuple[int, str]:
    """201 for a new resource, 200 for a new version of an existing one (a Patient of an MRN already held)."""
    version = str(saved.get("meta", {}).get("versionId", "1"))
    return (201, version) if version == "1" else (200, version)


async def _the_patient(conn: AsyncConnection, hospital: str, record: PatientRecord, resource: dict,
                       rid: str | None, patient_id: str) -> tuple[dict, str | None]:
    """A Patient with the alliance id, written over the MRN's Patient if it has one (one per hospital + MRN)."""
    mrn = record.patient.mrn
    if (hospital, mrn) != (hospital.strip(), mrn.strip()):
        await fhir_patients.lock(conn, hospital, mrn)  # else the patient index holds this very lock already
    existing = await fhir_patients.find(conn, hospital, mrn)
    if existing is not None:
        if rid is not None and rid != existing.id:
            raise fhir_patients.MrnTaken(existing.id)
        if existing.derived_from is not None:
            await fhir_patients.adopt(conn, existing.id)
        rid = existing.id
    return fhir_patient.with_alliance_id(resource, patient_id), rid


async def _existing_patients(conn: AsyncConnection, hospital: str, mapped) -> dict[int, str]:
    """Bundle entry index → id of the Patient its MRN already has (a POSTed Patient updates it)."""
    out = {}
    for m in mapped:
        if m.entry.resource_type == "Patient" and m.entry.method == "POST" and m.records:
            await fhir_patients.lock(conn, hospital, m.records[0].patient.mrn)
            row = await fhir_patients.find(conn, hospital, m.records[0].patient.mrn)
            if row is not None:
                out[m.entry.index] = row.id
    return out


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
            if isinstance(recs[0] if recs else None, PatientRecord) and patient_id:
                resource, rid = await _the_patient(conn, hospital, recs[0], resource, rid, patient_id)
            stored.append(await fhir_store.save(conn, protector(), resource, hospital_id=hospital,
                                                patient_id=patient_id, effective_at=effective, resource_id=rid))
        return stored, result.issues

    @r.post("/{resource_type}", summary="Create a resource")
    async def create(resource_type: str, request: Request, principal: Writer) -> Response:
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
        status, version = _status(saved)
        headers = {"Location": f"/fhir/{resource_type}/{saved['id']}/_history/{version}", "ETag": f'W/"{version}"'}
        if _wants_representation(request, warnings):
            return fhir(status, saved, headers)
        return fhir(status, outcome.operation_outcome(warnings or []), headers)

    @r.post("", summary="Process a transaction Bundle (all or nothing)")
    @r.post("/", include_in_schema=False)
    async def transaction(request: Request, principal: Writer) -> Response:
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
        uow = runtime.uow()
        try:
            async with uow:
                known = await _existing_patients(uow.conn, hospital, mapped)
                ids = {e.full_url: f"{e.resource_type}/{known.get(e.index) or e.resource_id or _new_id()}"
                       for e in entries if e.full_url}
                items = []
                for m in mapped:
                    resource = fhir_bundle.rewrite_references(m.entry.resource, ids)
                    rid = ids.get(m.entry.full_url, "/").split("/", 1)[1] if m.entry.full_url else \
                        known.get(m.entry.index, m.entry.resource_id)
                    items.append((resource, list(m.records), rid))
                stored, ingest_issues = await _ingest_and_store(uow.conn, uow, hospital, items)
                if stored is None:
                    return _outcome(outcome.outcome_response(issues + map_issues + ingest_issues))
                await uow.commit()
        except fhir_store.NotYours as exc:     # all or nothing: the whole Bundle is rolled back
            return _outcome(outcome.conflict(
                f"{exc.resource_type}/{exc.resource_id} cannot be written by this hospital; use another id"))
        except fhir_patients.MrnTaken as exc:
            return _outcome(outcome.conflict(str(exc)))

        def response(s: dict) -> dict:
            status, version = _status(s)
            out = {"status": "201 Created" if status == 201 else "200 OK",
                   "location": f"{s['resourceType']}/{s['id']}/_history/{version}"}
            return {"response": out | {"outcome": outcome.operation_outcome(ingest_issues)} if ingest_issues else out}
        return fhir(200, {"resourceType": "Bundle", "type": "transaction-response",
                          "entry": [response(s) for s in stored]})

    @r.get("/{resource_type}/{resource_id}", summary="Read a resource (audited)")
    async def read(resource_type: str, resource_id: str, principal: Clinician) -> Response:
        if resource_type not in TYPES:
            return _outcome(outcome.not_found(resource_type, resource_id))
        async with runtime.engine.begin() as conn:
            found = await fhir_store.read(conn, principal, resource_type, resource_id)
            await record_access(conn, principal, action="read", resource=f"{resource_type}/{resource_id}",
                                patient_id=found[1] if found else None, purpose="fhir read",
                                outcome="allowed" if found else "denied-or-unknown")
        if found is None:
            return _outcome(outcome.not_found(resource_type, resource_id))
        body = fhir_patient.redacted(found[0], _viewer(principal), found[1])
        return fhir(200, body, {"ETag": f'W/"{found[0].get("meta", {}).get("versionId", "1")}"'})

    @r.get("/{resource_type}", summary="Search (patient, subject, identifier, code, date, _id, _count; audited)")
    async def search(resource_type: str, request: Request, principal: Clinician) -> Response:
        if resource_type not in TYPES:
            return _outcome(outcome.not_found(resource_type, ""))
        params: dict[str, list[str]] = {}
        for k, v in request.query_params.multi_items():
            params.setdefault(k, []).append(v)
        try:
            query = parse_search(resource_type, params)
        except SearchError as exc:
            return _outcome(outcome.bad_request(str(exc)))
        viewer = _viewer(principal)
        searchable = True
        if viewer is not None and query.identifiers:
            # another hospital's MRN is not searchable by a hospital, even for a patient it may see
            visible = tuple(t for t in query.identifiers if not fhir_patient.foreign_mrn_system(t.system, viewer))
            searchable = bool(visible)
            query = replace(query, identifiers=visible)
        async with runtime.engine.begin() as conn:
            found = await fhir_store.search(conn, principal, query, protector()) if searchable else []
            if viewer is not None and query.identifiers and all(t.system is None for t in query.identifiers):
                found = [b for b in found if any(fhir_patient.matches_visible_identifier(b, t.value or "", viewer)
                                                 for t in query.identifiers)]
            filed = await fhir_patients.patient_ids(conn, [(b["resourceType"], b["id"]) for b in found]) \
                if viewer is not None else {}
            found = [fhir_patient.redacted(b, viewer, filed.get((b["resourceType"], b["id"]))) for b in found]
            await record_access(conn, principal, action="search", resource=f"{resource_type}?{request.url.query}"[:300],
                                patient_id=None, purpose="fhir search", outcome=f"{len(found)} result(s)")
        return fhir(200, {"resourceType": "Bundle", "type": "searchset", "total": len(found),
                          "entry": [{"fullUrl": f"{resource_type}/{b['id']}", "resource": b,
                                     "search": {"mode": "match"}} for b in found]})

    return r


def _new_id() -> str:
    return uuid.uuid4().hex


_ISSUE_CODES = {400: "invalid", 404: "not-found", 409: "conflict", 413: "too-long", 422: "invalid",
                503: "transient"}


def fhir_auth_errors(app: FastAPI) -> None:
    """401, 403 and every platform error (413, 422, 500, ...) under /fhir are OperationOutcomes; elsewhere the
    platform's problem+json stays."""
    problems = {cls: app.exception_handlers[cls] for cls in (AuthError, Forbidden, Problem, Exception)}

    async def handle(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith("/fhir"):
            return await next(h for cls, h in problems.items() if isinstance(exc, cls))(request, exc)
        headers = None
        if isinstance(exc, AuthError):
            status, code, text = 401, "login", exc.reason
            headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        elif isinstance(exc, Forbidden):
            status, code, text = 403, "forbidden", exc.reason
        elif isinstance(exc, Problem):
            status, code, text = exc.status, _ISSUE_CODES.get(exc.status, "processing"), exc.detail or exc.title
            headers = exc.headers
        else:  # logged by the platform's edge; nothing internal goes out
            status, code, text = 500, "exception", "an unexpected error occurred"
        body = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code,
                                                              "diagnostics": text}]}
        return fhir(status, body, headers)

    for cls in problems:
        app.add_exception_handler(cls, handle)
    fhir_routing_errors(app)


_ROUTING_CODES = {404: "not-found", 405: "not-supported", 413: "too-costly", 415: "not-supported"}


def fhir_routing_errors(app: FastAPI) -> None:
    """A path under /fhir that no route serves (404, 405, …) is an OperationOutcome too, not problem+json."""
    platform = app.exception_handlers[StarletteHTTPException]

    async def handle(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith("/fhir") or not isinstance(exc, StarletteHTTPException):
            return await platform(request, exc)
        detail = exc.detail if isinstance(exc.detail, str) else "request not served"
        return fhir(exc.status_code, {"resourceType": "OperationOutcome", "issue": [{
            "severity": "error", "code": _ROUTING_CODES.get(exc.status_code, "processing"), "diagnostics": detail}]},
            getattr(exc, "headers", None))

    app.add_exception_handler(StarletteHTTPException, handle)
