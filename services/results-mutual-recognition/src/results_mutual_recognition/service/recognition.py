"""The order-time question, shared by the HTTP and gRPC edges."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..adapters import store
from ..adapters.orm import checks
from ..domain.recognition import ItemDecision, RequestContext, decide


async def decisions_for(conn: AsyncConnection, hospital: str, patient_id: str, item_codes: list[str], at: datetime,
                        after_surgery: bool) -> list[ItemDecision]:
    """One decision per distinct item, from the catalog, QC history and results as they stand at `at`."""
    catalog = await store.load_catalog(conn)
    results = await store.results_for(conn, patient_id, item_codes, at)
    qc = await store.load_qc(conn, {(res.lab_id, res.item_code) for res in results})
    ctx = RequestContext(hospital, at, after_surgery)
    return [decide(code, [res for res in results if res.item_code == code], catalog, qc, ctx)
            for code in dict.fromkeys(item_codes)]


@dataclass(frozen=True)
class CheckOutcome:
    check_id: uuid.UUID
    allowed: bool
    items: list[ItemDecision]


async def check(engine: AsyncEngine, *, hospital: str, subject: str, patient_id: str, item_codes: list[str] | None,
                at: datetime, after_surgery: bool = False, now: datetime | None = None) -> CheckOutcome:
    """Answer for a treating hospital, and record every check (refused ones too) in the same transaction.

    `item_codes=None` lists only the items this patient has a recognised result for (the referral handoff).
    """
    check_id = uuid.uuid4()
    async with engine.begin() as conn:
        # The relation holds now (a referral's may have ended), whatever moment `at` asks about.
        allowed = await store.is_treating(conn, hospital, patient_id, now or datetime.now(UTC))
        items: list[ItemDecision] = []
        if allowed:
            codes = item_codes if item_codes is not None else await store.items_with_results(conn, patient_id, at)
            items = await decisions_for(conn, hospital, patient_id, codes, at, after_surgery)
            if item_codes is None:
                items = [d for d in items if d.recognised]
        await conn.execute(insert(checks).values(
            check_id=check_id, requesting_hospital=hospital, subject=subject, patient_id=patient_id, at=at,
            outcome="answered" if allowed else "denied",
            items=[{"item_code": d.item_code, "reason": d.reason.name if d.reason else None,
                    "recognised": [x.result_id for x in d.recognised]} for d in items]))
    return CheckOutcome(check_id, allowed, items)
