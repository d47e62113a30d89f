"""HTTP API for price reports, group-purchasing rounds, contracts, shared price rises, orders and receipts."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import insert, select
from sqlalchemy.exc import NoResultFound

from alliance_auth import Principal, Roles
from alliance_auth.fastapi import CurrentPrincipal, require_roles
from alliance_service import Problem, Runtime, not_found
from alliance_service.bounds import BoundedDate, BoundedDatetime, PastDate, Period, unique_by

from ..adapters.idempotency import Idempotency, request_hash
from ..adapters.orm import adjustments, contract_prices, contracts, items, round_items, rounds
from ..domain.award import Bid, BidError, Tier, TierSemantics, validate_bid
from ..domain.prices import NormalisationError
from ..domain.risk import AdjustmentError
from ..service import prices as price_cases
from ..service import rounds as round_cases

Admin = Annotated[Principal, Depends(require_roles(Roles.ALLIANCE_ADMIN))]
Hospital = Annotated[Principal, Depends(require_roles(Roles.HOSPITAL, scoped=True))]
Supplier = Annotated[Principal, Depends(require_roles(Roles.SUPPLIER))]
Price = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=4)]
Amount = Annotated[Decimal, Field(max_digits=14, decimal_places=4)]   # fits the NUMERIC(18, 4) columns
MAX_UNITS = 10**12
MAX_FEN = 10**15                     # 10 trillion yuan: any larger figure is an input error, not a purchase
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class PriceReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_code: str | None = Field(None, description="unified code, or give local_code")
    local_code: str | None = Field(None, description="the hospital's own code, mapped to a unified code")
    invoice_ref: str | None = Field(None, max_length=100, description="reporting the same invoice twice is refused")
    pack_unit: str = Field(min_length=1, max_length=20, description='e.g. "box"')
    units_per_pack: Amount = Field(description="base units in one pack, e.g. 10")
    pack_content_unit: str = Field(min_length=1, max_length=20, description='unit of the pack content, e.g. "each"')
    quantity_packs: Amount
    pack_price: Amount = Field(description="yuan per pack")
    supplier_id: str = Field(min_length=1, max_length=64)
    purchased_on: PastDate = Field(description="not in the future (a day of allowance for time zones)")


class RoundItemIn(BaseModel):
    item_code: str
    baseline_unit_price: Price | None = Field(None, description="default: the median reported price")


class RoundIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    deadline: BoundedDatetime
    items: Annotated[list[RoundItemIn], unique_by("item_code")] = Field(min_length=1, max_length=2000)
    max_suppliers: int = Field(3, ge=1, le=5, description="most suppliers one item may be split across")
    supplier_share: Decimal = Field(Decimal("0.5"), ge=0, le=1,
                                    description="share of a market-driven price rise the supplier bears")


class CommitmentIn(BaseModel):
    item_code: str
    quantity: int = Field(ge=0, le=10_000_000, description="base units")


class CommitmentsIn(BaseModel):
    items: Annotated[list[CommitmentIn], unique_by("item_code")] = Field(min_length=1, max_length=2000)


class TierIn(BaseModel):
    min_volume: int = Field(ge=0, le=MAX_UNITS)
    unit_price: Price


class BidIn(BaseModel):
    item_code: str
    semantics: TierSemantics = Field(description="all_units: the band reached prices every unit; "
                                                 "incremental: each unit is priced by its own band")
    tiers: list[TierIn] = Field(min_length=1, max_length=20)
    capacity: int | None = Field(None, gt=0, le=MAX_UNITS, description="most units this supplier can deliver")


class AwardIn(BaseModel):
    close_now: bool = Field(False, description="close the round before its deadline")


class AdjustmentIn(BaseModel):
    requested_unit_price: Price
    index_reference: str = Field(min_length=1, max_length=300)
    reason: str = Field("market", max_length=500)
    effective_from: BoundedDate


class OverrunIn(BaseModel):
    hospital_id: str
    cause: Literal["market", "hospital_management"]
    overrun_fen: int = Field(gt=0, le=MAX_FEN)
    note: str = Field("", max_length=500)


class OrderLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")   # a unit price in the request is refused: it comes from the contract
    item_code: str
    quantity: int = Field(gt=0, le=10_000_000)
    supplier_id: str | None = None


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lines: list[OrderLineIn] = Field(min_length=1, max_length=500)


class ReceiptLineIn(BaseModel):
    line_no: int = Field(ge=1, le=500)
    quantity: int = Field(gt=0, le=10_000_000)
    lot: str | None = Field(None, max_length=64)
    udi: str | None = Field(None, max_length=200, description="full UDI (device identifier + production data)")


class ReceiptIn(BaseModel):
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=500)


def _refused(exc: round_cases.Refused) -> Problem:
    extra = {"field": exc.field} if exc.field else {}
    title = {404: "Not Found", 409: "Conflict"}.get(exc.status, "Unprocessable Content")
    return Problem(exc.status, exc.slug, title, exc.message, **extra)


def _invalid(exc: NormalisationError | BidError | AdjustmentError) -> Problem:
    return Problem(422, exc.slug, "Unprocessable Content", exc.message, field=exc.field)


def _idempotency(scope: str, key: str | None, request: Request, body: BaseModel) -> Idempotency | None:
    """The request's Idempotency-Key in its caller's scope, bound to method, path and the validated body."""
    if key is None:
        return None
    return Idempotency(scope, key, request_hash(request.method, request.url.path, body.model_dump(mode="json")))


def router(runtime: Runtime) -> APIRouter:
    r = APIRouter(prefix="/v1")

    @r.post("/price-reports", status_code=201, tags=["prices"],
            summary="Report a purchase; normalised to the item's base unit, refused when it cannot be")
    async def report(body: PriceReportIn, principal: Hospital) -> dict:
        if bool(body.item_code) == bool(body.local_code):
            raise Problem(422, "item-required", "Unprocessable Content", "give exactly one of item_code, local_code")
        try:
            return await price_cases.report_price(
                runtime.uow(), hospital_id=principal.hospital_id or "", item_code=body.item_code,
                local_code=body.local_code, invoice_ref=body.invoice_ref, pack_unit=body.pack_unit,
                units_per_pack=body.units_per_pack, pack_content_unit=body.pack_content_unit,
                quantity_packs=body.quantity_packs, pack_price=body.pack_price, supplier_id=body.supplier_id,
                purchased_on=body.purchased_on, now=datetime.now(UTC))
        except NormalisationError as exc:
            raise _invalid(exc) from exc
        except price_cases.ReportRefused as exc:
            raise Problem(422, "unknown-reference", "Unprocessable Content", exc.message, field=exc.field) from exc
        except price_cases.DuplicateReport as exc:
            raise Problem(409, "duplicate-report", "Conflict", "this invoice was already reported") from exc

    def _period(period: str) -> str:
        if not PERIOD.match(period):
            raise Problem(422, "bad-period", "Unprocessable Content", "period must be YYYY-MM")
        return period

    @r.get("/prices", tags=["prices"], summary="Every reported item's price spread in a period, widest first")
    async def spreads(period: Period, _: CurrentPrincipal) -> list[dict]:
        async with runtime.engine.connect() as conn:
            return await price_cases.spreads(conn, _period(period))

    @r.get("/prices/{item_code}", tags=["prices"],
           summary="Spread (min, P10, median, max), peer outliers and savings at P10 and at the agreed price")
    async def item_prices(item_code: str, period: Period, principal: CurrentPrincipal) -> dict:
        async with runtime.engine.connect() as conn:
            view = await price_cases.price_view(conn, item_code, _period(period),
                                                see_all=principal.has_role(*Roles.CROSS_HOSPITAL),
                                                hospital_id=principal.hospital_id)
        if view is None:
            raise not_found("item")
        return view

    @r.post("/rounds", status_code=201, tags=["rounds"], summary="Open a group-purchasing round")
    async def open_round(body: RoundIn, principal: Admin) -> dict:
        codes = [i.item_code for i in body.items]
        if len(set(codes)) != len(codes):
            raise Problem(422, "duplicate-items", "Unprocessable Content", "an item appears twice")
        if body.deadline <= datetime.now(UTC):
            raise Problem(422, "deadline-past", "Unprocessable Content", "the deadline must be in the future",
                          field="deadline")
        round_id = f"RND-{uuid.uuid4().hex[:10].upper()}"
        async with runtime.engine.begin() as conn:
            known = set((await conn.execute(select(items.c.code).where(items.c.code.in_(codes)))).scalars())
            if missing := sorted(set(codes) - known):
                raise Problem(422, "unknown-items", "Unprocessable Content", "items are not registered",
                              codes=missing)
            await conn.execute(insert(rounds).values(
                round_id=round_id, title=body.title, status="open", deadline=body.deadline,
                max_suppliers=body.max_suppliers, supplier_share=body.supplier_share, created_by=principal.subject))
            await conn.execute(insert(round_items), [{"round_id": round_id, "item_code": i.item_code,
                                                      "baseline_unit_price": i.baseline_unit_price}
                                                     for i in body.items])
        return await get_round(round_id, principal)

    @r.get("/rounds", tags=["rounds"], summary="Rounds, newest first")
    async def list_rounds(_: CurrentPrincipal) -> list[dict]:
        async with runtime.engine.connect() as conn:
            rows = (await conn.execute(select(rounds).order_by(rounds.c.created_at.desc()))).mappings().all()
        return [{"round_id": x["round_id"], "title": x["title"], "status": x["status"],
                 "deadline": x["deadline"].isoformat(),
                 "saving_fen": (x["award"] or {}).get("saving_fen"),
                 "total_fen": (x["award"] or {}).get("total_fen")} for x in rows]

    @r.get("/rounds/{round_id}", tags=["rounds"], summary="A round, with its award once awarded")
    async def get_round(round_id: str, _: CurrentPrincipal) -> dict:
        async with runtime.engine.connect() as conn:
            x = (await conn.execute(select(rounds).where(rounds.c.round_id == round_id))).mappings().first()
            if x is None:
                raise not_found("round")
            its = (await conn.execute(select(round_items).where(round_items.c.round_id == round_id)
                                      .order_by(round_items.c.item_code))).mappings().all()
        return {"round_id": round_id, "title": x["title"], "status": x["status"],
                "deadline": x["deadline"].isoformat(), "max_suppliers": x["max_suppliers"],
                "supplier_share": str(x["supplier_share"]),
                "items": [{"item_code": i["item_code"], "baseline_unit_price": str(i["baseline_unit_price"])
                           if i["baseline_unit_price"] is not None else None} for i in its],
                "award": x["award"], "awarded_at": x["awarded_at"].isoformat() if x["awarded_at"] else None}

    @r.put("/rounds/{round_id}/commitments", tags=["rounds"],
           summary="Commit the caller hospital's volumes (base units); replaces earlier commitments per item")
    async def commit(round_id: str, body: CommitmentsIn, principal: Hospital) -> dict:
        volumes = {c.item_code: c.quantity for c in body.items}
        try:
            return await round_cases.commit_volumes(runtime.uow(), round_id, principal.hospital_id or "", volumes)
        except round_cases.Refused as exc:
            raise _refused(exc) from exc

    @r.put("/rounds/{round_id}/bids", tags=["rounds"],
           summary="Submit (or replace) the calling supplier's tiered bid for one item")
    async def bid(round_id: str, body: BidIn, principal: Supplier) -> dict:
        domain_bid = Bid(f"BID-{uuid.uuid4().hex[:12].upper()}", principal.subject, body.item_code, body.semantics,
                         tuple(Tier(t.min_volume, t.unit_price) for t in body.tiers), body.capacity,
                         datetime.now(UTC))
        try:
            validate_bid(domain_bid)
            return await round_cases.submit_bid(runtime.uow(), round_id, principal.subject, domain_bid)
        except BidError as exc:
            raise _invalid(exc) from exc
        except round_cases.Refused as exc:
            raise _refused(exc) from exc

    @r.post("/rounds/{round_id}/award", tags=["rounds"],
            summary="Award the round: lowest total cost for the committed volume; publishes agreed prices")
    async def award(round_id: str, body: AwardIn, principal: Admin) -> dict:
        try:
            return await round_cases.award(runtime.uow(), round_id, principal.subject, close_now=body.close_now)
        except round_cases.Refused as exc:
            raise _refused(exc) from exc

    @r.get("/rounds/{round_id}/fulfilment", tags=["orders"],
           summary="Committed vs allocated vs ordered vs received, per hospital and item")
    async def fulfilment(round_id: str, principal: CurrentPrincipal) -> list[dict]:
        see_all = principal.has_role(*Roles.CROSS_HOSPITAL)
        async with runtime.engine.connect() as conn:
            return await round_cases.fulfilment(conn, round_id, None if see_all else principal.hospital_id or "")

    @r.get("/contracts", tags=["contracts"], summary="Agreed prices in force (optionally for one item)")
    async def list_contracts(_: CurrentPrincipal, item_code: str | None = None, on: BoundedDate | None = None) -> list[dict]:
        day = on or datetime.now(UTC).date()
        q = select(contracts).order_by(contracts.c.item_code, contracts.c.contract_id)
        if item_code:
            q = q.where(contracts.c.item_code == item_code)
        async with runtime.engine.connect() as conn:
            listed = (await conn.execute(q)).mappings().all()
            histories: dict[str, list] = {}
            for h in (await conn.execute(select(contract_prices).where(contract_prices.c.contract_id.in_(
                    [c["contract_id"] for c in listed])).order_by(contract_prices.c.effective_from))).mappings():
                histories.setdefault(h["contract_id"], []).append(h)
            out = []
            for c in listed:
                history = histories.get(c["contract_id"], [])
                in_force = [h for h in history if h["effective_from"] <= day]
                out.append({"contract_id": c["contract_id"], "round_id": c["round_id"], "item_code": c["item_code"],
                            "supplier_id": c["supplier_id"], "base_unit": c["base_unit"], "quantity": c["quantity"],
                            "supplier_share": str(c["supplier_share"]),
                            "unit_price": str(in_force[-1]["unit_price"]) if in_force else None,
                            "prices": [{"effective_from": h["effective_from"].isoformat(),
                                        "unit_price": str(h["unit_price"]), "adjustment_id": h["adjustment_id"]}
                                       for h in history]})
        return out

    @r.post("/contracts/{contract_id:path}/adjustments", status_code=201, tags=["contracts"],
            summary="Supplier: ask for a market-driven rise of an agreed price (cite the price index)")
    async def request_adjustment(contract_id: str, body: AdjustmentIn, principal: Supplier) -> dict:
        try:
            return await round_cases.request_adjustment(
                runtime.uow(), contract_id, principal.subject, body.requested_unit_price, body.index_reference,
                body.reason, body.effective_from, datetime.now(UTC))
        except AdjustmentError as exc:
            raise _invalid(exc) from exc
        except round_cases.Refused as exc:
            raise _refused(exc) from exc

    @r.get("/adjustments", tags=["contracts"], summary="Requested and decided price adjustments")
    async def list_adjustments(principal: CurrentPrincipal) -> list[dict]:
        q = select(adjustments).order_by(adjustments.c.requested_at.desc())
        if principal.has_role(Roles.SUPPLIER) and not principal.has_role(*Roles.CROSS_HOSPITAL):
            q = q.where(adjustments.c.requested_by == principal.subject)
        async with runtime.engine.connect() as conn:
            rows = (await conn.execute(q)).mappings().all()
        return [{k: (v.isoformat() if isinstance(v, date | datetime) else str(v) if isinstance(v, Decimal) else v)
                 for k, v in a.items()} for a in rows]

    @r.post("/adjustments/{adjustment_id}/{decision}", tags=["contracts"],
            summary="Administrator: approve (shared by the contract's ratio, effective-dated) or reject")
    async def decide(adjustment_id: str, decision: Literal["approve", "reject"], principal: Admin) -> dict:
        try:
            return await round_cases.decide_adjustment(runtime.uow(), adjustment_id, principal.subject,
                                                       decision == "approve", datetime.now(UTC))
        except AdjustmentError as exc:
            raise _invalid(exc) from exc
        except round_cases.Refused as exc:
            raise _refused(exc) from exc

    @r.post("/contracts/{contract_id:path}/overruns", status_code=201, tags=["contracts"],
            summary="Attribute an overrun: a hospital's own management bears it in full; the market shares it "
                    "(Idempotency-Key honoured)")
    async def overrun(contract_id: str, body: OverrunIn, principal: Admin, request: Request, response: Response,
                      idempotency_key: Annotated[str | None, Header(max_length=100)] = None) -> dict:
        try:
            values, created = await round_cases.record_overrun(
                runtime.uow(), contract_id, body.hospital_id, body.cause, body.overrun_fen, body.note,
                principal.subject, datetime.now(UTC), _idempotency("alliance", idempotency_key, request, body))
        except AdjustmentError as exc:
            raise _invalid(exc) from exc
        except round_cases.Refused as exc:
            raise _refused(exc) from exc
        if not created:
            response.status_code = 200
        return values

    @r.post("/orders", status_code=201, tags=["orders"],
            summary="Order against agreed prices; the price comes from the contract, never from the request")
    async def place_order(body: OrderIn, principal: Hospital, request: Request, response: Response,
                          idempotency_key: Annotated[str | None, Header(max_length=100)] = None) -> dict:
        try:
            view, created = await round_cases.place_order(
                runtime.uow(), principal.hospital_id or "",
                [(ln.item_code, ln.quantity, ln.supplier_id) for ln in body.lines],
                _idempotency(f"hospital:{principal.hospital_id}", idempotency_key, request, body), datetime.now(UTC))
        except round_cases.Refused as exc:
            raise _refused(exc) from exc
        if not created:
            response.status_code = 200
        return view

    @r.get("/orders/{order_id}", tags=["orders"], summary="One of the caller hospital's orders")
    async def get_order(order_id: str, principal: CurrentPrincipal) -> dict:
        async with runtime.engine.connect() as conn:
            try:
                view = await round_cases.order_view(conn, order_id)
            except NoResultFound as exc:
                raise not_found("order") from exc
        if not principal.can_see_hospital(view["hospital_id"]):
            raise not_found("order")
        return view

    @r.post("/orders/{order_id}/receipts", status_code=201, tags=["orders"],
            summary="Record goods received (lot and UDI required for high-value consumables)")
    async def receive(order_id: str, body: ReceiptIn, principal: Hospital) -> dict:
        try:
            return await round_cases.receive(runtime.uow(), order_id, principal.hospital_id or "",
                                             [(x.line_no, x.quantity, x.lot, x.udi) for x in body.lines],
                                             datetime.now(UTC))
        except round_cases.Refused as exc:
            raise _refused(exc) from exc

    return r
