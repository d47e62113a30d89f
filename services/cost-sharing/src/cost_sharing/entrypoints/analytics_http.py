"""Analytics without rows: aggregates of the service's own DRG cases, small cells suppressed, every question logged.

Only administrators and regulators ask. The database aggregates (no case row is read into the service, none leaves
it); the pure ``disclosure`` module decides what is withheld; the question, who asked and how much was withheld are
recorded in the same transaction as the answer is computed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import Numeric, cast, func, insert, select

from alliance_auth import Principal, Roles
from alliance_auth.fastapi import require_roles
from alliance_service import Problem, Runtime

from ..adapters.orm import analytics_queries, drg_cases
from ..domain.disclosure import Aggregate, DisclosureError, Slice, cube, view

Analyst = Annotated[Principal, Depends(require_roles(Roles.ALLIANCE_ADMIN, Roles.REGULATOR))]
Dimension = Literal["hospital", "drg_group", "month"]
MONTH = r"^(19\d{2}|2[01]\d{2})-(0[1-9]|1[0-2])$"          # 1900-01 .. 2199-12
CODE = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$"


async def _cube(conn) -> dict:
    """The hospital × DRG group × month cube of grouped cases, aggregated by the database."""
    group = func.coalesce(drg_cases.c.grouping["adrg"].astext, "ungrouped")
    standard = cast(drg_cases.c.grouping["standard_cost_fen"].astext, Numeric)
    ratio = cast(drg_cases.c.total_cost_fen, Numeric) / func.nullif(standard, 0)
    q = (select(drg_cases.c.hospital_id, group.label("drg_group"), drg_cases.c.period, func.count(),
                func.sum(drg_cases.c.total_cost_fen), func.sum(ratio), func.count(ratio))
         .group_by(drg_cases.c.hospital_id, group, drg_cases.c.period))
    return cube(((h, g, p), Aggregate(int(n), int(cost), Decimal(r or 0), int(rn)))
                for h, g, p, n, cost, r, rn in (await conn.execute(q)).all())


def router(runtime: Runtime) -> APIRouter:
    r = APIRouter(prefix="/v1/analytics", tags=["analytics"])

    @r.get("/drg-cases", summary="DRG cases as a hospital × DRG group × month table: cases, cost, cost per case, "
                                 "mean cost ratio; cells under the minimum count and their complements withheld")
    async def drg_case_statistics(
        principal: Analyst,
        rows: Annotated[Dimension, Query(description="the dimension down the side")],
        columns: Annotated[Dimension, Query(description="the dimension across")],
        hospital: Annotated[str | None, Query(pattern=CODE, description="fix the hospital (if not rows/columns)")]
        = None,
        drg_group: Annotated[str | None, Query(pattern=CODE, description="fix the DRG group (ADRG)")] = None,
        month: Annotated[str | None, Query(pattern=MONTH, description="fix the month, YYYY-MM")] = None,
    ) -> dict:
        fixed = {"hospital": hospital, "drg_group": drg_group, "month": month}
        third = [d for d in fixed if d not in (rows, columns)]
        if rows == columns or len(third) != 1:
            raise Problem(422, "invalid-slice", "Unprocessable Content", "rows and columns must be two different "
                          "dimensions of hospital, drg_group and month")
        extra = [d for d, v in fixed.items() if v is not None and d != third[0]]
        if fixed[third[0]] is None or extra:
            raise Problem(422, "invalid-slice", "Unprocessable Content",
                          f"fix exactly the third dimension: {third[0]} is required"
                          + (f"; {', '.join(extra)} is already a row or column" if extra else ""))
        try:
            question = Slice(rows, columns, third[0], fixed[third[0]])  # type: ignore[arg-type]
        except DisclosureError as exc:
            raise Problem(422, "invalid-slice", "Unprocessable Content", exc.message) from exc
        k = runtime.settings.analytics_min_cell_count  # type: ignore[attr-defined]
        now = datetime.now(UTC)
        query_id = f"Q-{uuid.uuid4().hex[:16].upper()}"
        uow = runtime.uow()
        async with uow:
            answer = view(await _cube(uow.conn), question, k)
            await uow.conn.execute(insert(analytics_queries).values(
                query_id=query_id, subject=principal.subject, roles=sorted(principal.roles),
                question={"dataset": "drg-cases", "rows": rows, "columns": columns, third[0]: fixed[third[0]]},
                min_count=k, cells_returned=len(answer["cells"]), cells_suppressed=answer["cells_suppressed"],
                totals_suppressed=answer["totals_suppressed"], asked_at=now))
            await uow.commit()
        return {"query_id": query_id, "dataset": "drg-cases"} | answer

    @r.get("/queries", summary="The log of analytics questions: who asked what, when, and how much was withheld")
    async def query_log(_: Analyst, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict]:
        async with runtime.engine.connect() as conn:
            got = (await conn.execute(select(analytics_queries).order_by(analytics_queries.c.asked_at.desc())
                                      .limit(limit))).all()
        return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in q._mapping.items()} for q in got]

    return r
