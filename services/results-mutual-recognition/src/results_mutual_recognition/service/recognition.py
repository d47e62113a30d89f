"""The order-time question, shared by the HTTP and gRPC edges."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from ..adapters import store
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
