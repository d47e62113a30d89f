"""Loading and saving the recognition aggregates on SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.recognition import (
    Catalog,
    CatalogItem,
    CatalogVersion,
    IndexedResult,
    ItemCategory,
    PriceEntry,
    PriceList,
    QcHistory,
    QcPeriod,
    QcStatus,
)
from .orm import catalog_versions, patient_relations, prices, qc_periods, result_index


def item_to_json(item: CatalogItem) -> dict:
    return {"item_code": item.item_code, "name": item.name, "category": item.category.value,
            "validity_days": item.validity_days, "loinc": item.loinc, "conditions": sorted(item.conditions)}


def item_from_json(d: dict) -> CatalogItem:
    return CatalogItem(d["item_code"], d["name"], ItemCategory(d["category"]), d["validity_days"], d.get("loinc"),
                       frozenset(d.get("conditions") or ()))


async def load_catalog(conn: AsyncConnection) -> Catalog:
    rows = (await conn.execute(select(catalog_versions).order_by(catalog_versions.c.version))).all()
    return Catalog([CatalogVersion(r.version, r.effective_from, {i["item_code"]: item_from_json(i) for i in r.items})
                    for r in rows])


async def lock_catalog(conn: AsyncConnection) -> None:
    await conn.execute(select(func.pg_advisory_xact_lock(func.hashtextextended("rmr-catalog", 0))))


async def save_version(conn: AsyncConnection, v: CatalogVersion, by: str) -> None:
    await conn.execute(insert(catalog_versions).values(
        version=v.version, effective_from=v.effective_from, published_by=by,
        items=[item_to_json(i) for i in v.items.values()]))


async def load_qc(conn: AsyncConnection, pairs: Iterable[tuple[str, str]] | None = None,
                  *, for_update: bool = False) -> QcHistory:
    stmt = select(qc_periods)
    keys = sorted(set(pairs)) if pairs is not None else None
    if keys is not None:
        if not keys:
            return QcHistory(())
        stmt = stmt.where(tuple_(qc_periods.c.lab_id, qc_periods.c.item_code).in_(keys))
    if for_update:
        stmt = stmt.with_for_update()
    rows = (await conn.execute(stmt)).all()
    return QcHistory(tuple(QcPeriod(r.lab_id, r.item_code, QcStatus(r.status), r.effective_from, r.effective_to,
                                    r.reference) for r in rows))


async def save_qc(conn: AsyncConnection, opened: QcPeriod, closed: Iterable[QcPeriod], by: str) -> None:
    for p in closed:
        await conn.execute(update(qc_periods).where(
            qc_periods.c.lab_id == p.lab_id, qc_periods.c.item_code == p.item_code,
            qc_periods.c.effective_from == p.effective_from).values(effective_to=p.effective_to))
    await conn.execute(insert(qc_periods).values(
        lab_id=opened.lab_id, item_code=opened.item_code, status=opened.status.value,
        effective_from=opened.effective_from, effective_to=opened.effective_to, reference=opened.reference,
        recorded_by=by))


async def results_for(conn: AsyncConnection, patient_id: str, item_codes: Iterable[str],
                      until: datetime) -> list[IndexedResult]:
    rows = await conn.execute(select(result_index).where(
        result_index.c.patient_id == patient_id, result_index.c.item_code.in_(sorted(set(item_codes))),
        result_index.c.effective_at <= until, result_index.c.withheld.is_(False)).order_by(result_index.c.effective_at.desc()))
    return [IndexedResult(r.result_id, r.patient_id, r.item_code, r.hospital_id, r.lab_id, r.value, r.unit,
                          r.effective_at, r.report_ref, r.status) for r in rows]


def relation_active(now: datetime) -> Any:
    """SQL condition: the hospital's own relation, or a referral's that is neither revoked nor expired at `now`."""
    r = patient_relations.c
    return or_(r.referral_id.is_(None), and_(r.revoked_at.is_(None), r.expires_at > now))


async def is_treating(conn: AsyncConnection, hospital_id: str, patient_id: str, now: datetime) -> bool:
    if not hospital_id:
        return False
    return (await conn.execute(select(patient_relations.c.patient_id).where(
        patient_relations.c.hospital_id == hospital_id, patient_relations.c.patient_id == patient_id,
        relation_active(now)))).first() is not None


async def load_prices(conn: AsyncConnection, hospital_id: str) -> PriceList:
    rows = await conn.execute(select(prices).where(prices.c.hospital_id == hospital_id))
    return PriceList(tuple(PriceEntry(r.hospital_id, r.item_code, r.price_fen, r.effective_from) for r in rows))


async def save_prices(conn: AsyncConnection, entries: list[PriceEntry]) -> None:
    if entries:
        stmt = insert(prices).values([{"hospital_id": e.hospital_id, "item_code": e.item_code,
                                       "effective_from": e.effective_from, "price_fen": e.price_fen}
                                      for e in entries])
        await conn.execute(stmt.on_conflict_do_update(
            index_elements=[prices.c.hospital_id, prices.c.item_code, prices.c.effective_from],
            set_={"price_fen": stmt.excluded.price_fen}))


async def items_with_results(conn: AsyncConnection, patient_id: str, until: datetime) -> list[str]:
    rows = await conn.execute(select(result_index.c.item_code).distinct().where(
        result_index.c.patient_id == patient_id, result_index.c.effective_at <= until,
        result_index.c.withheld.is_(False))
        .order_by(result_index.c.item_code).limit(100))
    return [r.item_code for r in rows]
