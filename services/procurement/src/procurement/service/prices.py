"""Price transparency: normalise a reported purchase, detect outliers among peers, show spreads and savings."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from alliance.procurement.v1 import procurement_pb2 as pb
from alliance_messaging import proto_time
from alliance_service import UnitOfWork

from ..adapters.orm import (
    contracts,
    items,
    local_mappings,
    member_hospitals,
    price_outliers,
    price_reports,
)
from ..domain.prices import (
    Observation,
    PriceReport,
    flag_outliers,
    normalise,
    price_stats,
    savings_at,
)
from .rounds import prices_in_force

TOPIC = "alliance.procurement.v1"


class ReportRefused(Exception):
    """The report names something this service does not know; `field` says which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


class DuplicateReport(Exception):
    """The hospital already reported this invoice."""


async def resolve_item(conn: AsyncConnection, hospital_id: str, item_code: str | None,
                       local_code: str | None) -> tuple[str, str]:
    """(unified code, base unit) from a unified code or from the hospital's own local code mapping."""
    if item_code:
        row = (await conn.execute(select(items.c.code, items.c.base_unit).where(items.c.code == item_code))).first()
        if row is None:
            raise ReportRefused("item_code", f"unified code {item_code} is not registered")
        return row.code, row.base_unit
    row = (await conn.execute(
        select(items.c.code, items.c.base_unit).join(local_mappings, local_mappings.c.unified_code == items.c.code)
        .where(local_mappings.c.hospital_id == hospital_id, local_mappings.c.local_code == local_code))).first()
    if row is None:
        raise ReportRefused("local_code", f"local code {local_code} is not mapped to a unified code")
    return row.code, row.base_unit


async def report_price(uow: UnitOfWork, *, hospital_id: str, item_code: str | None, local_code: str | None,
                       invoice_ref: str | None, pack_unit: str, units_per_pack: Decimal, pack_content_unit: str,
                       quantity_packs: Decimal, pack_price: Decimal, supplier_id: str, purchased_on: date,
                       now: datetime) -> dict:
    """Store one normalised purchase and announce any peer-group outlier it reveals (once each)."""
    async with uow:
        conn = uow.conn
        level = (await conn.execute(select(member_hospitals.c.level)
                                    .where(member_hospitals.c.hospital_id == hospital_id))).scalar()
        if level is None:
            raise ReportRefused("hospital_id", f"hospital {hospital_id} is not a registered member")
        code, base_unit = await resolve_item(conn, hospital_id, item_code, local_code)
        report = PriceReport(hospital_id, code, pack_unit, units_per_pack, pack_content_unit, quantity_packs,
                             pack_price, supplier_id, purchased_on)
        normalised = normalise(report, base_unit)   # NormalisationError goes to the edge
        period = purchased_on.strftime("%Y-%m")
        report_id = f"PR-{uuid.uuid4().hex[:16].upper()}"
        done = await conn.execute(pg_insert(price_reports).values(
            report_id=report_id, hospital_id=hospital_id, hospital_level=level, invoice_ref=invoice_ref,
            item_code=code, local_code=local_code, pack_unit=pack_unit, units_per_pack=units_per_pack,
            pack_content_unit=pack_content_unit, quantity_packs=quantity_packs, pack_price=pack_price,
            base_unit=normalised.base_unit, base_unit_price=normalised.base_unit_price,
            base_quantity=normalised.base_quantity, total_fen=normalised.total_fen, supplier_id=supplier_id,
            purchased_on=purchased_on, period=period).on_conflict_do_nothing().returning(price_reports.c.report_id))
        if done.first() is None:
            raise DuplicateReport(invoice_ref)
        flagged = await detect_outliers(uow, code, period, base_unit, now)
        await uow.commit()
    return {"report_id": report_id, "item_code": code, "period": period, "base_unit": normalised.base_unit,
            "base_unit_price": str(normalised.base_unit_price), "base_quantity": str(normalised.base_quantity),
            "total_fen": normalised.total_fen, "outliers_detected": flagged}


async def detect_outliers(uow: UnitOfWork, item_code: str, period: str, base_unit: str, now: datetime) -> list[str]:
    """Flag peer-group outliers for an item and period; a constraint makes each announcement happen once."""
    rows = (await uow.conn.execute(select(price_reports.c.hospital_id, price_reports.c.hospital_level,
                                          price_reports.c.base_unit_price, price_reports.c.base_quantity)
                                   .where(price_reports.c.item_code == item_code,
                                          price_reports.c.period == period))).all()
    outliers = flag_outliers([Observation(r.hospital_id, r.hospital_level, r.base_unit_price) for r in rows])
    if not outliers:
        return []
    p10 = price_stats([r.base_unit_price for r in rows]).p10
    excess = savings_at(p10, [(r.hospital_id, r.base_unit_price, r.base_quantity) for r in rows])
    announced = []
    for o in outliers:
        new = await uow.conn.execute(pg_insert(price_outliers).values(
            item_code=item_code, period=period, hospital_id=o.hospital_id, score=o.score, direction=o.direction)
            .on_conflict_do_nothing().returning(price_outliers.c.hospital_id))
        if new.first() is None:
            continue
        announced.append(o.hospital_id)
        uow.publish(TOPIC, item_code, pb.PriceOutlierDetected(
            item_code=item_code, period=period, hospital_id=o.hospital_id, hospital_level=o.level,
            base_unit=base_unit, base_unit_price=str(o.base_unit_price), peer_median=str(o.peer_median),
            score=str(o.score), direction=o.direction, excess_fen=excess.get(o.hospital_id, 0),
            occurred_at=proto_time(now)))
    return announced


async def agreed_price(conn: AsyncConnection, item_code: str, on: date) -> Decimal | None:
    """The lowest contract price in force for an item on a day (None without a contract)."""
    rows = (await conn.execute(prices_in_force(on).where(contracts.c.item_code == item_code))).all()
    return min((r.unit_price for r in rows), default=None)


async def price_view(conn: AsyncConnection, item_code: str, period: str, *, see_all: bool,
                     hospital_id: str | None) -> dict | None:
    """Spread, peer outliers and each hospital's saving at P10 and at the agreed price for one item/period."""
    item = (await conn.execute(select(items).where(items.c.code == item_code))).mappings().first()
    if item is None:
        return None
    rows = (await conn.execute(select(price_reports).where(price_reports.c.item_code == item_code,
                                                           price_reports.c.period == period)
                               .order_by(price_reports.c.hospital_id, price_reports.c.report_id))).mappings().all()
    view: dict = {"item_code": item_code, "name": item["name"], "base_unit": item["base_unit"], "period": period,
                  "reports": len(rows)}
    if not rows:
        return view | {"stats": None, "hospitals": [], "outliers": []}
    stats = price_stats([r["base_unit_price"] for r in rows])
    purchases = [(r["hospital_id"], r["base_unit_price"], r["base_quantity"]) for r in rows]
    year, month = map(int, period.split("-"))
    agreed = await agreed_price(conn, item_code, date(year, month, 28))
    at_p10 = savings_at(stats.p10, purchases)
    at_agreed = savings_at(agreed, purchases) if agreed is not None else {}
    outliers = {o.hospital_id: o for o in flag_outliers(
        [Observation(r["hospital_id"], r["hospital_level"], r["base_unit_price"]) for r in rows])}
    by_hospital: dict[str, list] = defaultdict(list)
    for r in rows:
        by_hospital[r["hospital_id"]].append(r)
    hospitals = []
    for h, reports in sorted(by_hospital.items()):
        if not see_all and h != hospital_id:
            continue
        qty = sum((r["base_quantity"] for r in reports), Decimal(0))
        spent = sum(r["total_fen"] for r in reports)
        hospitals.append({"hospital_id": h, "level": reports[0]["hospital_level"], "reports": len(reports),
                          "base_quantity": str(qty), "spent_fen": spent,
                          "average_unit_price": str((Decimal(spent) / 100 / qty).quantize(Decimal("0.0001"))),
                          "saving_at_p10_fen": at_p10.get(h, 0),
                          "saving_at_agreed_fen": at_agreed.get(h) if agreed is not None else None,
                          "outlier": h in outliers})
    return view | {
        "stats": {"n": stats.n, "min": str(stats.min), "p10": str(stats.p10), "median": str(stats.median),
                  "max": str(stats.max), "spread": str(stats.spread)},
        "agreed_unit_price": str(agreed) if agreed is not None else None,
        "saving_at_p10_fen": sum(at_p10.values()) if see_all else at_p10.get(hospital_id or "", 0),
        "saving_at_agreed_fen": (sum(at_agreed.values()) if see_all else at_agreed.get(hospital_id or "", 0))
        if agreed is not None else None,
        "hospitals": hospitals,
        "outliers": [{"hospital_id": o.hospital_id, "level": o.level, "base_unit_price": str(o.base_unit_price),
                      "peer_median": str(o.peer_median), "score": str(o.score), "direction": o.direction}
                     for o in outliers.values() if see_all or o.hospital_id == hospital_id],
    }


async def spreads(conn: AsyncConnection, period: str) -> list[dict]:
    """Every reported item's spread in a period, widest first."""
    rows = (await conn.execute(select(price_reports.c.item_code, price_reports.c.base_unit_price,
                                      price_reports.c.hospital_id)
                               .where(price_reports.c.period == period))).all()
    names = dict((await conn.execute(select(items.c.code, items.c.name))).all())
    by_item: dict[str, list[Decimal]] = defaultdict(list)
    hospitals: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        by_item[r.item_code].append(r.base_unit_price)
        hospitals[r.item_code].add(r.hospital_id)
    out = []
    for code, prices in by_item.items():
        s = price_stats(prices)
        out.append({"item_code": code, "name": names.get(code, ""), "reports": s.n, "hospitals": len(hospitals[code]),
                    "min": str(s.min), "median": str(s.median), "max": str(s.max), "spread": str(s.spread)})
    return sorted(out, key=lambda x: (-Decimal(x["spread"]), x["item_code"]))

