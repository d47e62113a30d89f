"""Group purchasing: rounds, commitments, tiered bids, the award and its contracts, shared price rises, orders."""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from alliance.procurement.v1 import procurement_pb2 as pb
from alliance_messaging import proto_time
from alliance_service import UnitOfWork

from ..adapters.idempotency import Idempotency, claim
from ..adapters.orm import (
    adjustments,
    allocations,
    bids,
    commitments,
    contract_prices,
    contracts,
    items,
    order_lines,
    orders,
    overruns,
    price_reports,
    receipts,
    round_items,
    rounds,
)
from ..domain.award import Bid, RoundAward, Tier, TierSemantics, allocate_commitments, award_round
from ..domain.money import line_total_fen
from ..domain.risk import attribute_overrun, check_adjustment, share_rise

TOPIC = "alliance.procurement.v1"


class Refused(Exception):
    """A command the current state does not allow (HTTP 409) or input that cannot be used (422)."""

    def __init__(self, status: int, slug: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.slug, self.message, self.field = status, slug, message, field


def _dec(d: Decimal) -> str:
    return format(d.normalize(), "f") if d == d.to_integral() else format(d, "f")


async def _open_round(conn: AsyncConnection, round_id: str, *, for_update: bool = False):
    q = select(rounds).where(rounds.c.round_id == round_id)
    row = (await conn.execute(q.with_for_update() if for_update else q.with_for_update(read=True))).mappings().first()
    if row is None:
        raise Refused(404, "not-found", "round not found")
    if row["status"] != "open":
        raise Refused(409, "round-closed", f"round {round_id} is {row['status']}")
    now = (await conn.execute(select(func.clock_timestamp()))).scalar()
    return row, now


async def commit_volumes(uow: UnitOfWork, round_id: str, hospital_id: str, volumes: dict[str, int]) -> dict:
    """Record a hospital's committed volumes; refused once the deadline (database clock) has passed."""
    async with uow:
        row, now = await _open_round(uow.conn, round_id)
        if now >= row["deadline"]:
            raise Refused(409, "deadline-passed", f"round {round_id} closed for commitments at "
                          f"{row['deadline'].isoformat()}")
        known = set((await uow.conn.execute(select(round_items.c.item_code)
                                            .where(round_items.c.round_id == round_id))).scalars())
        unknown = sorted(set(volumes) - known)
        if unknown:
            raise Refused(422, "not-in-round", f"items not in this round: {', '.join(unknown)}", "items")
        stmt = pg_insert(commitments)
        await uow.conn.execute(stmt.on_conflict_do_update(
            index_elements=["round_id", "item_code", "hospital_id"],
            set_={"quantity": stmt.excluded.quantity, "updated_at": func.now()}),
            [{"round_id": round_id, "item_code": c, "hospital_id": hospital_id, "quantity": q}
             for c, q in volumes.items()])
        await uow.commit()
    return {"round_id": round_id, "hospital_id": hospital_id, "committed": volumes, "at": now.isoformat()}


async def submit_bid(uow: UnitOfWork, round_id: str, supplier_id: str, bid: Bid) -> dict:
    """Record (or replace) a supplier's tiered bid for one item before the deadline."""
    async with uow:
        row, now = await _open_round(uow.conn, round_id)
        if now >= row["deadline"]:
            raise Refused(409, "deadline-passed", f"round {round_id} closed for bids")
        if (await uow.conn.execute(select(round_items.c.item_code).where(
                round_items.c.round_id == round_id, round_items.c.item_code == bid.item_code))).first() is None:
            raise Refused(422, "not-in-round", f"item {bid.item_code} is not in this round", "item_code")
        tiers = [{"min_volume": t.min_volume, "unit_price": str(t.unit_price)} for t in bid.tiers]
        stmt = pg_insert(bids).values(bid_id=bid.bid_id, round_id=round_id, item_code=bid.item_code,
                                      supplier_id=supplier_id, semantics=bid.semantics.value, tiers=tiers,
                                      capacity=bid.capacity, submitted_at=now)
        saved = await uow.conn.execute(stmt.on_conflict_do_update(
            constraint="uq_bids_supplier_item",
            set_={"semantics": stmt.excluded.semantics, "tiers": stmt.excluded.tiers,
                  "capacity": stmt.excluded.capacity, "submitted_at": stmt.excluded.submitted_at})
            .returning(bids.c.bid_id))
        bid_id = saved.scalar_one()
        await uow.commit()
    return {"bid_id": bid_id, "round_id": round_id, "item_code": bid.item_code, "supplier_id": supplier_id,
            "semantics": bid.semantics.value, "tiers": tiers, "capacity": bid.capacity,
            "submitted_at": now.isoformat()}


async def _baselines(conn: AsyncConnection, round_id: str) -> dict[str, Decimal]:
    """Each item's baseline unit price: as set on the round, else the median reported price."""
    out: dict[str, Decimal] = {}
    for code, baseline in (await conn.execute(select(round_items.c.item_code, round_items.c.baseline_unit_price)
                                              .where(round_items.c.round_id == round_id))).all():
        if baseline is None:
            # the lower median of reported prices: percentile_disc returns one of them, exact (numeric, no float)
            baseline = (await conn.execute(select(func.percentile_disc(0.5).within_group(
                price_reports.c.base_unit_price)).where(price_reports.c.item_code == code))).scalar()
        if baseline is not None:
            out[code] = baseline
    return out


def award_json(result: RoundAward) -> dict:
    return {"total_fen": result.total_fen, "baseline_total_fen": result.baseline_total_fen,
            "saving_fen": result.saving_fen,
            "items": [{"item_code": i.item_code, "volume": i.volume, "status": i.status, "total_fen": i.total_fen,
                       "baseline_total_fen": i.baseline_total_fen, "saving_fen": i.saving_fen,
                       "explanation": list(i.explanation),
                       "lines": [{"supplier_id": ln.supplier_id, "bid_id": ln.bid_id, "quantity": ln.quantity,
                                  "unit_price": str(ln.unit_price), "total_fen": ln.total_fen} for ln in i.lines]}
                      for i in result.items]}


async def award(uow: UnitOfWork, round_id: str, by: str, *, close_now: bool) -> dict:
    """Close the round, compute the lowest-cost award, create contracts and publish the agreed prices."""
    async with uow:
        conn = uow.conn
        row, now = await _open_round(conn, round_id, for_update=True)
        if now < row["deadline"] and not close_now:
            raise Refused(409, "round-still-open", f"round {round_id} is open until {row['deadline'].isoformat()}")
        volumes: dict[str, int] = defaultdict(int)
        per_hospital: dict[str, dict[str, int]] = defaultdict(dict)
        for c in (await conn.execute(select(commitments).where(commitments.c.round_id == round_id))).mappings():
            volumes[c["item_code"]] += c["quantity"]
            if c["quantity"]:
                per_hospital[c["item_code"]][c["hospital_id"]] = c["quantity"]
        for code in (await conn.execute(select(round_items.c.item_code)
                                        .where(round_items.c.round_id == round_id))).scalars():
            volumes.setdefault(code, 0)
        domain_bids = [Bid(b["bid_id"], b["supplier_id"], b["item_code"], TierSemantics(b["semantics"]),
                           tuple(Tier(t["min_volume"], Decimal(t["unit_price"])) for t in b["tiers"]),
                           b["capacity"], b["submitted_at"])
                       for b in (await conn.execute(select(bids).where(bids.c.round_id == round_id))).mappings()]
        result = award_round(dict(volumes), domain_bids, await _baselines(conn, round_id),
                             max_suppliers=row["max_suppliers"])
        base_units = dict((await conn.execute(select(items.c.code, items.c.base_unit)
                                              .where(items.c.code.in_(list(volumes))))).all())
        messages = []
        for item in result.items:
            if item.status != "awarded" or not item.lines:
                continue
            split = allocate_commitments(per_hospital[item.item_code], item.lines)
            for ln in item.lines:
                contract_id = f"{round_id}/{item.item_code}/{ln.supplier_id}"
                await conn.execute(pg_insert(contracts).values(
                    contract_id=contract_id, round_id=round_id, item_code=item.item_code,
                    supplier_id=ln.supplier_id, base_unit=base_units[item.item_code], quantity=ln.quantity,
                    supplier_share=row["supplier_share"]))
                await conn.execute(pg_insert(contract_prices).values(
                    contract_id=contract_id, effective_from=now.date(), unit_price=ln.unit_price))
                shares = [{"contract_id": contract_id, "hospital_id": h, "quantity": q}
                          for h, parts in split.items() for s, q in parts if s == ln.supplier_id and q]
                if shares:
                    await conn.execute(pg_insert(allocations), shares)
                messages.append(pb.PriceAgreed(
                    contract_id=contract_id, round_id=round_id, item_code=item.item_code,
                    supplier_id=ln.supplier_id, base_unit=base_units[item.item_code], unit_price=str(ln.unit_price),
                    quantity=ln.quantity, supplier_share=_dec(row["supplier_share"]),
                    effective_from=proto_time(now), occurred_at=proto_time(now)))
        body = award_json(result)
        await conn.execute(update(rounds).where(rounds.c.round_id == round_id)
                           .values(status="awarded", award=body, awarded_at=now))
        uow.publish(TOPIC, round_id, pb.RoundAwarded(
            round_id=round_id, title=row["title"], total_fen=result.total_fen,
            baseline_total_fen=result.baseline_total_fen, saving_fen=result.saving_fen, awarded_by=by,
            occurred_at=proto_time(now), items=[pb.ItemAward(
                item_code=i.item_code, volume=i.volume, status=i.status, total_fen=i.total_fen,
                baseline_total_fen=i.baseline_total_fen or 0, saving_fen=i.saving_fen or 0,
                explanation=list(i.explanation),
                lines=[pb.AwardLine(supplier_id=ln.supplier_id, bid_id=ln.bid_id, quantity=ln.quantity,
                                    unit_price=str(ln.unit_price), total_fen=ln.total_fen) for ln in i.lines])
                for i in result.items]))
        for m in messages:
            uow.publish(TOPIC, m.item_code, m)
        await uow.commit()
    return {"round_id": round_id, "status": "awarded", "awarded_at": now.isoformat(), **body}


def prices_in_force(on: date) -> Select:
    """Each contract's price in force on a day (its latest price row effective on or before it)."""
    latest = (select(contract_prices.c.contract_id, func.max(contract_prices.c.effective_from).label("since"))
              .where(contract_prices.c.effective_from <= on).group_by(contract_prices.c.contract_id).subquery())
    return (select(contracts.c.contract_id, contracts.c.item_code, contracts.c.supplier_id, contracts.c.base_unit,
                   contract_prices.c.unit_price, contract_prices.c.effective_from)
            .join(latest, latest.c.contract_id == contracts.c.contract_id)
            .join(contract_prices, (contract_prices.c.contract_id == latest.c.contract_id)
                  & (contract_prices.c.effective_from == latest.c.since)))


async def price_in_force(conn: AsyncConnection, contract_id: str, on: date) -> Decimal | None:
    return (await conn.execute(select(contract_prices.c.unit_price).where(
        contract_prices.c.contract_id == contract_id, contract_prices.c.effective_from <= on)
        .order_by(contract_prices.c.effective_from.desc()).limit(1))).scalar()


async def request_adjustment(uow: UnitOfWork, contract_id: str, supplier_id: str, requested: Decimal,
                             index_reference: str, reason: str, effective_from: date, now: datetime) -> dict:
    """A supplier asks for a market-driven rise of its own contract's price; an administrator decides."""
    async with uow:
        c = (await uow.conn.execute(select(contracts).where(contracts.c.contract_id == contract_id))).mappings().first()
        if c is None or c["supplier_id"] != supplier_id:
            raise Refused(404, "not-found", "contract not found")
        current = await price_in_force(uow.conn, contract_id, now.date())
        share_rise(current, requested, c["supplier_share"])   # validates: a rise, a valid share
        if not index_reference.strip():
            raise Refused(422, "index-reference-required", "a market-driven rise must cite a price index",
                          "index_reference")
        adjustment_id = f"ADJ-{uuid.uuid4().hex[:12].upper()}"
        await uow.conn.execute(pg_insert(adjustments).values(
            adjustment_id=adjustment_id, contract_id=contract_id, status="requested", current_unit_price=current,
            requested_unit_price=requested, index_reference=index_reference, reason=reason,
            effective_from=effective_from, requested_by=supplier_id, requested_at=now))
        await uow.commit()
    return {"adjustment_id": adjustment_id, "contract_id": contract_id, "status": "requested",
            "current_unit_price": str(current), "requested_unit_price": str(requested),
            "effective_from": effective_from.isoformat()}


async def decide_adjustment(uow: UnitOfWork, adjustment_id: str, by: str, approve: bool, now: datetime) -> dict:
    """Approve (share the rise, effective-dated, never retroactive) or reject a requested rise."""
    async with uow:
        a = (await uow.conn.execute(select(adjustments).where(adjustments.c.adjustment_id == adjustment_id)
                                    .with_for_update())).mappings().first()
        if a is None:
            raise Refused(404, "not-found", "adjustment not found")
        if a["status"] != "requested":
            raise Refused(409, "already-decided", f"adjustment {adjustment_id} is already {a['status']}")
        c = (await uow.conn.execute(select(contracts).where(contracts.c.contract_id == a["contract_id"])
                                    .with_for_update())).mappings().one()
        if not approve:
            await uow.conn.execute(update(adjustments).where(adjustments.c.adjustment_id == adjustment_id)
                                   .values(status="rejected", decided_by=by, decided_at=now))
            await uow.commit()
            return {"adjustment_id": adjustment_id, "status": "rejected"}
        check_adjustment(a["index_reference"], a["effective_from"], now.date())   # RetroactiveAdjustment
        current = await price_in_force(uow.conn, c["contract_id"], a["effective_from"])
        shared = share_rise(current, a["requested_unit_price"], c["supplier_share"])
        done = await uow.conn.execute(pg_insert(contract_prices).values(
            contract_id=c["contract_id"], effective_from=a["effective_from"], unit_price=shared.new_unit_price,
            adjustment_id=adjustment_id).on_conflict_do_nothing().returning(contract_prices.c.contract_id))
        if done.first() is None:
            raise Refused(409, "price-already-set", f"a price change already takes effect on "
                          f"{a['effective_from'].isoformat()}", "effective_from")
        decision = {"previous_unit_price": str(current), "new_unit_price": str(shared.new_unit_price),
                    "supplier_bears": str(shared.supplier_bears), "hospitals_bear": str(shared.hospitals_bear),
                    "supplier_share": _dec(c["supplier_share"])}
        await uow.conn.execute(update(adjustments).where(adjustments.c.adjustment_id == adjustment_id)
                               .values(status="approved", decided_by=by, decided_at=now, decision=decision))
        uow.publish(TOPIC, c["item_code"], pb.PriceAdjusted(
            adjustment_id=adjustment_id, contract_id=c["contract_id"], item_code=c["item_code"],
            supplier_id=c["supplier_id"], requested_unit_price=str(a["requested_unit_price"]),
            index_reference=a["index_reference"], effective_from=proto_time(
                datetime.combine(a["effective_from"], datetime.min.time(), tzinfo=now.tzinfo)),
            approved_by=by, occurred_at=proto_time(now), **decision))
        await uow.commit()
    return {"adjustment_id": adjustment_id, "status": "approved", "effective_from": a["effective_from"].isoformat(),
            **decision}


def _key_reused() -> Refused:
    return Refused(422, "idempotency-key-reuse", "this Idempotency-Key was used for a different request "
                   "(another method, path or body); use a new key for a new request", "Idempotency-Key")


async def record_overrun(uow: UnitOfWork, contract_id: str, hospital_id: str, cause: str, overrun_fen: int,
                         note: str, by: str, now: datetime, idempotency: Idempotency | None = None
                         ) -> tuple[dict, bool]:
    """Attribute an overrun: the hospital's own management → the hospital; the market → shared by contract.

    With an idempotency key the attribution id derives from it, so a retried request is answered with the
    first attribution (and posts nothing twice); the same key with a different request is refused.
    """
    async with uow:
        c = (await uow.conn.execute(select(contracts).where(contracts.c.contract_id == contract_id))).mappings().first()
        if c is None:
            raise Refused(404, "not-found", "contract not found")
        split = attribute_overrun(overrun_fen, cause, c["supplier_share"])  # type: ignore[arg-type]
        attribution_id = ("OVR-" + hashlib.sha256(f"{contract_id}\n{idempotency.key}".encode()).hexdigest()[:16].upper()
                          if idempotency else f"OVR-{uuid.uuid4().hex[:12].upper()}")
        if idempotency and (earlier := await claim(uow.conn, idempotency, attribution_id, now)):
            if not earlier.same_request:
                raise _key_reused()
            attribution_id = earlier.resource_id
        values = {"attribution_id": attribution_id, "contract_id": contract_id, "hospital_id": hospital_id,
                  "cause": cause, "overrun_fen": overrun_fen, "hospital_fen": split.hospital_fen,
                  "supplier_fen": split.supplier_fen, "note": note}
        created = await uow.conn.execute(pg_insert(overruns).values(**values, recorded_by=by, recorded_at=now)
                                         .on_conflict_do_nothing().returning(overruns.c.attribution_id))
        if created.first() is None:
            first = (await uow.conn.execute(select(*(overruns.c[k] for k in values)).where(
                overruns.c.attribution_id == attribution_id))).mappings().one()
            if dict(first) != values:       # a key used before requests were hashed, for another overrun
                raise _key_reused()
            return values, False
        uow.publish(TOPIC, contract_id, pb.OverrunAttributed(**values, occurred_at=proto_time(now)))
        await uow.commit()
    return values, True


async def _pick_contract(conn: AsyncConnection, hospital_id: str, item_code: str, supplier_id: str | None) -> dict:
    rows = (await conn.execute(select(contracts, allocations.c.quantity.label("allocated"))
                               .outerjoin(allocations, (allocations.c.contract_id == contracts.c.contract_id)
                                          & (allocations.c.hospital_id == hospital_id))
                               .where(contracts.c.item_code == item_code)
                               .order_by(contracts.c.created_at.desc(), contracts.c.contract_id))).mappings().all()
    if supplier_id:
        rows = [r for r in rows if r["supplier_id"] == supplier_id]
    if rows:   # the latest round's contracts supersede earlier rounds' for new orders
        rows = [r for r in rows if r["round_id"] == rows[0]["round_id"]]
    if not rows:
        raise Refused(422, "no-contract", f"no agreed price for item {item_code}"
                      + (f" from supplier {supplier_id}" if supplier_id else ""), "lines")
    mine = [r for r in rows if r["allocated"]]
    if len(rows) > 1 and len(mine) != 1:
        raise Refused(422, "supplier-required", f"item {item_code} has several agreed suppliers; name supplier_id",
                      "lines")
    return dict(mine[0] if len(rows) > 1 else rows[0])


async def place_order(uow: UnitOfWork, hospital_id: str, lines: list[tuple[str, int, str | None]],
                      idempotency: Idempotency | None, now: datetime) -> tuple[dict, bool]:
    """Order against agreed prices (the contract's price in force today, never the caller's).

    With an Idempotency-Key, a retry of the same request (and every concurrent twin) is answered with the first
    request's order; the same key with another request is refused (422 idempotency-key-reuse).
    """
    idempotency_key = idempotency.key if idempotency else None

    async def earlier(conn: AsyncConnection) -> str | None:
        return (await conn.execute(select(orders.c.order_id).where(
            orders.c.hospital_id == hospital_id, orders.c.idempotency_key == idempotency_key))).scalar()

    async with uow:
        conn = uow.conn
        order_id = f"PO-{uuid.uuid4().hex[:12].upper()}"
        if idempotency and (first := await claim(conn, idempotency, order_id, now)):
            if not first.same_request:
                raise _key_reused()
            return await order_view(conn, first.resource_id), False
        priced = []
        for item_code, quantity, supplier_id in lines:
            c = await _pick_contract(conn, hospital_id, item_code, supplier_id)
            price = await price_in_force(conn, c["contract_id"], now.date())
            priced.append((item_code, c, quantity, price, line_total_fen(price, quantity)))
        suppliers = {c["supplier_id"] for _, c, _, _, _ in priced}
        if len(suppliers) != 1:
            raise Refused(422, "one-supplier-per-order", "an order goes to one supplier; split it", "lines")
        total = sum(t for *_, t in priced)
        created = await conn.execute(pg_insert(orders).values(
            order_id=order_id, hospital_id=hospital_id, supplier_id=suppliers.pop(), idempotency_key=idempotency_key,
            total_fen=total, created_at=now).on_conflict_do_nothing(constraint="uq_orders_idempotency")
            .returning(orders.c.order_id))
        if created.first() is None:    # a concurrent request with the same key won: answer with its order
            return await order_view(conn, await earlier(conn)), False
        await conn.execute(pg_insert(order_lines), [
            {"order_id": order_id, "line_no": n, "item_code": code, "contract_id": c["contract_id"],
             "quantity": q, "unit_price": p, "total_fen": t} for n, (code, c, q, p, t) in enumerate(priced, 1)])
        view = await order_view(conn, order_id)
        uow.publish(TOPIC, order_id, pb.OrderPlaced(
            order_id=order_id, hospital_id=hospital_id, supplier_id=view["supplier_id"], total_fen=total,
            occurred_at=proto_time(now), lines=[pb.OrderLine(
                item_code=ln["item_code"], contract_id=ln["contract_id"], quantity=ln["quantity"],
                unit_price=ln["unit_price"], total_fen=ln["total_fen"]) for ln in view["lines"]]))
        await uow.commit()
    return view, True


async def order_view(conn: AsyncConnection, order_id: str) -> dict:
    o = (await conn.execute(select(orders).where(orders.c.order_id == order_id))).mappings().one()
    lines = (await conn.execute(select(order_lines).where(order_lines.c.order_id == order_id)
                                .order_by(order_lines.c.line_no))).mappings().all()
    return {"order_id": order_id, "hospital_id": o["hospital_id"], "supplier_id": o["supplier_id"],
            "total_fen": o["total_fen"], "created_at": o["created_at"].isoformat(),
            "lines": [{"line_no": ln["line_no"], "item_code": ln["item_code"], "contract_id": ln["contract_id"],
                       "quantity": ln["quantity"], "unit_price": str(ln["unit_price"]), "total_fen": ln["total_fen"],
                       "received": ln["received"]} for ln in lines]}


async def receive(uow: UnitOfWork, order_id: str, hospital_id: str, lines: list[tuple[int, int, str | None, str | None]],
                  now: datetime) -> dict:
    """Record goods received; lot and UDI are required for high-value consumables."""
    async with uow:
        conn = uow.conn
        o = (await conn.execute(select(orders).where(orders.c.order_id == order_id))).mappings().first()
        if o is None or o["hospital_id"] != hospital_id:
            raise Refused(404, "not-found", "order not found")
        for line_no, quantity, lot, udi in lines:
            ln = (await conn.execute(select(order_lines, items.c.high_value, items.c.udi_di)
                                     .join(items, items.c.code == order_lines.c.item_code)
                                     .where(order_lines.c.order_id == order_id, order_lines.c.line_no == line_no)
                                     .with_for_update(of=order_lines))).mappings().first()
            if ln is None:
                raise Refused(422, "unknown-line", f"order has no line {line_no}", "lines")
            if quantity > ln["quantity"] - ln["received"]:
                raise Refused(422, "over-receipt", f"line {line_no}: {quantity} received but only "
                              f"{ln['quantity'] - ln['received']} outstanding", "lines")
            if ln["high_value"]:
                if not lot or not udi:
                    raise Refused(422, "traceability-required",
                                  f"line {line_no}: lot and UDI are required for a high-value consumable", "lines")
                if ln["udi_di"] and ln["udi_di"] not in udi:
                    raise Refused(422, "udi-mismatch", f"line {line_no}: the UDI does not carry the item's "
                                  f"device identifier {ln['udi_di']}", "lines")
            receipt_id = f"RC-{uuid.uuid4().hex[:12].upper()}"
            await conn.execute(pg_insert(receipts).values(receipt_id=receipt_id, order_id=order_id, line_no=line_no,
                                                          quantity=quantity, lot=lot, udi=udi, received_at=now))
            await conn.execute(update(order_lines).where(order_lines.c.order_id == order_id,
                                                         order_lines.c.line_no == line_no)
                               .values(received=order_lines.c.received + quantity))
            uow.publish(TOPIC, order_id, pb.GoodsReceived(
                receipt_id=receipt_id, order_id=order_id, hospital_id=hospital_id, item_code=ln["item_code"],
                quantity=quantity, lot=lot or "", udi=udi or "", occurred_at=proto_time(now)))
        view = await order_view(conn, order_id)
        await uow.commit()
    return view


async def fulfilment(conn: AsyncConnection, round_id: str, hospital_id: str | None) -> list[dict]:
    """Committed vs allocated vs ordered vs received, per hospital and item of a round."""
    committed = {(r.hospital_id, r.item_code): r.quantity for r in await conn.execute(
        select(commitments).where(commitments.c.round_id == round_id))}
    allocated: dict = defaultdict(int)
    for r in await conn.execute(select(allocations.c.hospital_id, contracts.c.item_code, allocations.c.quantity)
                                .join(contracts, contracts.c.contract_id == allocations.c.contract_id)
                                .where(contracts.c.round_id == round_id)):
        allocated[(r.hospital_id, r.item_code)] += r.quantity
    ordered: dict = defaultdict(lambda: [0, 0])
    for r in await conn.execute(select(orders.c.hospital_id, order_lines.c.item_code,
                                       func.sum(order_lines.c.quantity), func.sum(order_lines.c.received))
                                .join(orders, orders.c.order_id == order_lines.c.order_id)
                                .join(contracts, contracts.c.contract_id == order_lines.c.contract_id)
                                .where(contracts.c.round_id == round_id)
                                .group_by(orders.c.hospital_id, order_lines.c.item_code)):
        ordered[(r[0], r[1])] = [int(r[2]), int(r[3])]
    keys = sorted(set(committed) | set(allocated) | set(ordered))
    return [{"hospital_id": h, "item_code": i, "committed": committed.get((h, i), 0),
             "allocated": allocated.get((h, i), 0), "ordered": ordered[(h, i)][0] if (h, i) in ordered else 0,
             "received": ordered[(h, i)][1] if (h, i) in ordered else 0}
            for h, i in keys if hospital_id is None or h == hospital_id]
