"""HTTP API of results-mutual-recognition: catalog, QC eligibility, prices, checks, choices, indicators."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime
from typing import Annotated

import grpc
from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from alliance.results_mutual_recognition.v1 import recognition_pb2 as pb
from alliance_auth import Principal, Roles
from alliance_auth.fastapi import CurrentPrincipal, require_roles
from alliance_messaging import proto_time
from alliance_service import Problem, Runtime, not_found
from alliance_service.bounds import BoundedDatetime, Period, unique_by

from ..adapters import store
from ..adapters.orm import checks, decisions
from ..domain.recognition import (
    CatalogItem,
    CheckSummary,
    Choice,
    ChoiceKind,
    DeclineReason,
    ItemCategory,
    Outcome,
    PriceEntry,
    QcEligibilityChanged,
    QcStatus,
    RecognitionDecided,
    RecognitionError,
    RequestContext,
    indicators,
    record_choice,
)
from ..service.recognition import check as check_recognition
from ..service.recognition import decisions_for

TOPIC = "alliance.results_mutual_recognition.v1"
Admin = Annotated[Principal, Depends(require_roles(Roles.ALLIANCE_ADMIN))]
QcCenter = Annotated[Principal, Depends(require_roles(Roles.QC_CENTER))]
Hospital = Annotated[Principal, Depends(require_roles(Roles.HOSPITAL, scoped=True))]
IndicatorReader = Annotated[Principal, Depends(require_roles(Roles.HOSPITAL, Roles.ALLIANCE_ADMIN, Roles.REGULATOR,
                                                             scoped=True))]


class CatalogItemIn(BaseModel):
    item_code: str
    name: str
    category: ItemCategory
    validity_days: int
    loinc: str | None = None
    conditions: list[str] = Field(default_factory=list)


class CatalogVersionIn(BaseModel):
    effective_from: BoundedDatetime
    items: Annotated[list[CatalogItemIn], unique_by("item_code")] = Field(min_length=1, max_length=5000)


class QcChangeIn(BaseModel):
    lab_id: str = Field(min_length=1, max_length=64)
    item_code: str = Field(min_length=1, max_length=64)
    status: QcStatus
    effective_from: BoundedDatetime
    reference: str = Field(min_length=1, max_length=200)


class PriceIn(BaseModel):
    item_code: str
    price_fen: int = Field(ge=0, le=10**10)


class PricesIn(BaseModel):
    effective_from: BoundedDatetime
    items: Annotated[list[PriceIn], unique_by("item_code")] = Field(min_length=1, max_length=5000)


class CheckIn(BaseModel):
    patient_id: str | None = Field(None, min_length=1, max_length=64, description="alliance patient id, or:")
    mrn: str | None = Field(None, min_length=1, max_length=64, description="the requesting hospital's MRN")
    item_codes: list[str] = Field(min_length=1, max_length=100)
    at: BoundedDatetime | None = None
    inpatient_after_surgery: bool = False


class ChoiceIn(BaseModel):
    item_code: str
    kind: ChoiceKind
    result_id: str | None = None
    decline_reason: DeclineReason | None = None
    text: str = Field("", max_length=500)


def parse_catalog_csv(text: str) -> tuple[list[CatalogItemIn], list[dict]]:
    """CSV rows → catalog items, with every invalid row reported by the line it ends on (header is line 1).

    CR, LF and CRLF all end lines and quoted line breaks stay in the field; malformed CSV and a second row for one
    item_code are row errors.
    """
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fieldnames = set(reader.fieldnames or ())
    except csv.Error as exc:
        return [], [{"row": 1, "error": f"malformed CSV: {exc}"}]
    missing = {"item_code", "name", "category", "validity_days"} - fieldnames
    if missing:
        return [], [{"row": 1, "error": f"missing column(s): {', '.join(sorted(missing))}"}]
    items, errors, first_line = [], [], {}
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append({"row": reader.line_num + 1, "error": f"malformed CSV: {exc}"})
            break
        n = reader.line_num
        try:
            item = CatalogItemIn(item_code=(row["item_code"] or "").strip(), name=(row["name"] or "").strip(),
                                 category=(row["category"] or "").strip(),
                                 validity_days=int((row["validity_days"] or "").strip()),
                                 loinc=(row.get("loinc") or "").strip() or None,
                                 conditions=[c for c in (row.get("conditions") or "").split(";") if c.strip()])
            CatalogItem(item.item_code, item.name, item.category, item.validity_days, item.loinc,
                        frozenset(item.conditions)).validated()
        except (ValueError, RecognitionError) as exc:
            errors.append({"row": n, "error": str(exc).splitlines()[0][:200]})
            continue
        if item.item_code in first_line:
            errors.append({"row": n, "error": f"duplicate of row {first_line[item.item_code]} ({item.item_code})"})
            continue
        first_line[item.item_code] = n
        items.append(item)
    if not items and not errors:
        errors.append({"row": 1, "error": "no items"})
    return items, errors


def _invalid(exc: RecognitionError) -> Problem:
    return Problem(422, "invalid", "Unprocessable Content", str(exc), field=getattr(exc, "field_name", None))


def _decision_json(d) -> dict:
    return {"item_code": d.item_code, "reason": d.reason.name if d.reason else None,
            "explanation": d.explanation, "recognised": [
                {"result_id": r.result_id, "hospital_id": r.hospital_id, "lab_id": r.lab_id, "value": r.value,
                 "unit": r.unit, "effective_at": r.effective_at.isoformat(), "report_ref": r.report_ref}
                for r in d.recognised]}


def router(runtime: Runtime) -> APIRouter:
    r = APIRouter(prefix="/v1")

    @r.post("/catalog/versions", status_code=201, tags=["catalog"],
            summary="Publish a new catalog version (effective-dated; published versions never change)")
    async def publish(body: CatalogVersionIn, principal: Admin) -> dict:
        items = [CatalogItem(i.item_code, i.name, i.category, i.validity_days, i.loinc, frozenset(i.conditions))
                 for i in body.items]
        async with runtime.engine.begin() as conn:
            await store.lock_catalog(conn)
            catalog = await store.load_catalog(conn)
            try:
                version = catalog.publish(items, body.effective_from, datetime.now(UTC))
            except RecognitionError as exc:
                raise _invalid(exc) from exc
            await store.save_version(conn, version, principal.subject)
        return {"version": version.version, "effective_from": version.effective_from.isoformat(),
                "items": len(version.items)}

    @r.post("/catalog/versions/import", status_code=201, tags=["catalog"],
            summary="Publish a catalog version from CSV: item_code,name,category,validity_days,loinc,conditions",
            openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}})
    async def publish_csv(principal: Admin, effective_from: BoundedDatetime,
                          body: Annotated[bytes, Body(media_type="text/csv")]) -> dict:
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Problem(400, "bad-encoding", "Bad Request", "the CSV must be UTF-8") from exc
        items, errors = parse_catalog_csv(text)
        if errors:  # a catalog version is all or nothing: a partial catalog would silently drop items
            raise Problem(422, "invalid-rows", "Unprocessable Content", f"{len(errors)} row(s) are invalid",
                          errors=errors)
        return await publish(CatalogVersionIn(effective_from=effective_from, items=items), principal)

    @r.get("/catalog", tags=["catalog"], summary="The catalog version in force at `at` (default now)")
    async def catalog_at(_: CurrentPrincipal, at: BoundedDatetime | None = None) -> dict:
        async with runtime.engine.connect() as conn:
            version = (await store.load_catalog(conn)).in_force(at or datetime.now(UTC))
        if version is None:
            raise not_found("catalog version")
        return {"version": version.version, "effective_from": version.effective_from.isoformat(),
                "items": [store.item_to_json(i) for i in version.items.values()]}

    @r.post("/qc/eligibility", status_code=201, tags=["QC eligibility"],
            summary="Record a lab's external quality assessment result for an item (QC centre)")
    async def qc_change(body: QcChangeIn, principal: QcCenter) -> dict:
        now = datetime.now(UTC)
        uow = runtime.uow()
        async with uow:
            history = await store.load_qc(uow.conn, [(body.lab_id, body.item_code)], for_update=True)
            change = QcEligibilityChanged(body.lab_id, body.item_code, body.status, body.effective_from,
                                          body.reference, now)
            try:
                recorded = history.record(change, now)
            except RecognitionError as exc:
                raise _invalid(exc) from exc
            await store.save_qc(uow.conn, recorded.opened, recorded.closed, principal.subject)
            uow.publish(TOPIC, body.lab_id, pb.QcEligibilityChanged(
                lab_id=body.lab_id, item_code=body.item_code, status=body.status.value,
                effective_from=proto_time(body.effective_from), reference=body.reference, occurred_at=proto_time(now)))
            await uow.commit()
        return {"lab_id": body.lab_id, "item_code": body.item_code, "status": body.status.value}

    @r.put("/prices/{hospital_id}", tags=["prices"], summary="A hospital's item prices (integer fen), effective-dated")
    async def put_prices(hospital_id: str, body: PricesIn, _: Admin) -> dict:
        try:
            entries = [PriceEntry(hospital_id, i.item_code, i.price_fen, body.effective_from) for i in body.items]
        except RecognitionError as exc:
            raise _invalid(exc) from exc
        async with runtime.engine.begin() as conn:
            await store.save_prices(conn, entries)
        return {"hospital_id": hospital_id, "items": len(entries)}

    @r.post("/recognition/checks", tags=["recognition"],
            summary="At order time: which of these items have a result the alliance recognises, and why not")
    async def check(body: CheckIn, principal: Hospital, request: Request) -> dict:
        hospital = principal.hospital_id or ""
        at = body.at or datetime.now(UTC)
        if (body.patient_id is None) == (body.mrn is None):
            raise Problem(422, "patient", "Unprocessable Content", "name the patient by patient_id or by mrn")
        if body.mrn is not None:
            index = runtime.extras.get("patient_index")
            if index is None:
                raise Problem(503, "mrn-resolution-unavailable", "Service Unavailable",
                              "MRN resolution is not configured; use patient_id")
            token = request.headers["authorization"].split(" ", 1)[1]
            try:
                resolved = await index.resolve_mrn(hospital, body.mrn, token)
            except grpc.aio.AioRpcError as exc:
                raise Problem(503, "patient-index-unavailable", "Service Unavailable",
                              "the patient index did not answer; retry") from exc
            body = body.model_copy(update={"patient_id": resolved or f"unknown-mrn:{body.mrn}"})
        outcome = await check_recognition(runtime.engine, hospital=hospital, subject=principal.subject,
                                          patient_id=body.patient_id, item_codes=body.item_codes, at=at,
                                          after_surgery=body.inpatient_after_surgery)
        if not outcome.allowed:
            raise not_found(f"patient {body.patient_id}")
        return {"check_id": str(outcome.check_id), "at": at.isoformat(),
                "items": [_decision_json(d) for d in outcome.items]}

    @r.post("/recognition/checks/{check_id}/choices", status_code=201, tags=["recognition"],
            summary="Record the doctor's choice for one item of a check: reuse a result or decline with a reason")
    async def choose(check_id: uuid.UUID, body: ChoiceIn, principal: Hospital) -> dict:
        uow = runtime.uow()
        async with uow:
            row = (await uow.conn.execute(select(checks).where(
                checks.c.check_id == check_id, checks.c.requesting_hospital == principal.hospital_id,
                checks.c.outcome == "answered"))).first()
            if row is None or body.item_code not in {i["item_code"] for i in row.items}:
                raise not_found(f"check {check_id}")
            [decision] = await decisions_for(uow.conn, row.requesting_hospital, row.patient_id, [body.item_code],
                                          row.at, False)
            prices = await store.load_prices(uow.conn, row.requesting_hospital)
            try:
                event = record_choice(decision, Choice(body.kind, body.item_code, body.result_id,
                                                       body.decline_reason, body.text),
                                      prices, RequestContext(row.requesting_hospital, row.at),
                                      decision_id=str(uuid.uuid4()))
            except RecognitionError as exc:
                raise _invalid(exc) from exc
            inserted = await uow.conn.execute(insert(decisions).values(
                decision_id=uuid.UUID(event.decision_id), check_id=check_id, item_code=event.item_code,
                requesting_hospital=event.requesting_hospital, patient_id=row.patient_id,
                outcome=event.outcome.value, result_id=event.result_id, issuing_hospital=event.issuing_hospital,
                saving_fen=event.saving_fen, price_missing=event.price_missing,
                decline_reason=event.decline_reason.value if event.decline_reason else None,
                decline_text=event.decline_text or None, at=event.at).on_conflict_do_nothing().returning(
                decisions.c.decision_id))
            if inserted.first() is None:
                raise Problem(409, "already-decided", "Conflict", "a choice was already recorded for this item")
            uow.publish(TOPIC, event.requesting_hospital, pb.RecognitionDecided(
                decision_id=event.decision_id, patient_id=row.patient_id,
                requesting_hospital=event.requesting_hospital, item_code=event.item_code,
                outcome=event.outcome.value, result_id=event.result_id or "",
                issuing_hospital=event.issuing_hospital or "", saving_fen=event.saving_fen,
                price_missing=event.price_missing,
                decline_reason=event.decline_reason.value if event.decline_reason else "", occurred_at=proto_time(event.at)))
            await uow.commit()
        return {"decision_id": event.decision_id, "outcome": event.outcome.value, "saving_fen": event.saving_fen,
                "price_missing": event.price_missing}

    @r.get("/indicators", tags=["indicators"],
           summary="Recognition rate, repeat-test rate and savings by hospital, item and month")
    async def get_indicators(principal: IndicatorReader, hospital_id: str | None = None,
                             period: Period | None = None
                             ) -> list[dict]:
        if not principal.has_role(*Roles.CROSS_HOSPITAL):
            hospital_id = principal.hospital_id or "-"      # a hospital sees its own figures, never all
        async with runtime.engine.connect() as conn:
            cstmt = select(checks).where(checks.c.outcome == "answered")
            dstmt = select(decisions)
            if hospital_id:
                cstmt = cstmt.where(checks.c.requesting_hospital == hospital_id)
                dstmt = dstmt.where(decisions.c.requesting_hospital == hospital_id)
            summaries = [CheckSummary(c.requesting_hospital, i["item_code"], c.at, bool(i["recognised"]))
                         for c in await conn.execute(cstmt) for i in c.items]
            events = [_event_of(d) for d in await conn.execute(dstmt)]
        rows = indicators(events, summaries)
        return [{"hospital_id": x.hospital_id, "item_code": x.item_code, "period": x.period, "checks": x.checks,
                 "recognisable": x.recognisable, "reused": x.reused, "declined": x.declined,
                 "recognition_rate": x.recognition_rate, "repeat_test_rate": x.repeat_test_rate,
                 "savings_fen": x.savings_fen} for x in rows if period is None or x.period == period]

    return r


def _event_of(row) -> RecognitionDecided:
    return RecognitionDecided(str(row.decision_id), row.patient_id, row.requesting_hospital, row.item_code,
                              Outcome(row.outcome), row.result_id, row.issuing_hospital, row.saving_fen,
                              row.price_missing, DeclineReason(row.decline_reason) if row.decline_reason else None,
                              row.at)

