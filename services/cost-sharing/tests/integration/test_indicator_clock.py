"""The month closes by itself: the clock evaluates growth year on year once, with no evaluate call."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import insert, select

from cost_sharing.adapters.orm import encounters, indicator_evaluations, member_hospitals
from cost_sharing.bootstrap import SPEC


async def test_a_closed_month_is_evaluated_year_on_year_once_by_the_clock(start_service, dev_keys):
    cs = await start_service(SPEC, indicator_interval_seconds=3600)      # the test drives the clock's ticks
    async with cs.engine.begin() as conn:
        await conn.execute(insert(member_hospitals), [
            {"hospital_id": h, "name": f"医院{h}", "level": "primary", "region_code": "330100", "active": True,
             "version": 1} for h in ("H001", "H002")])
        rows = []
        # H001: 100 → 112 yuan a visit year on year (red), flat month on month; H002: flat year on year
        for h, last_year, last_month, now in (("H001", 10_000, 11_200, 11_200), ("H002", 10_000, 9_000, 10_000)):
            for period, fen in (("2030-11", last_year), ("2031-10", last_month), ("2031-11", now)):
                rows.append({"encounter_id": f"{h}/{period}", "hospital_id": h, "total_fen": fen, "period": period})
        await conn.execute(insert(encounters), [r | {
            "patient_id": "AP-1", "patient_class": "O", "department": "gp", "discharged_at": datetime.now(UTC),
            "los_days": 0, "principal_dx": "I10", "secondary_dx": [], "procedures": [], "drugs_fen": 3000,
            "consumables_fen": 1000} for r in rows])
    clock = cs.extras["indicator_clock"]
    assert await clock.tick(datetime(2031, 12, 1, 15, 0, tzinfo=UTC)) == []       # within the grace: October closes
    raised = await clock.tick(datetime(2031, 12, 1, 16, 30, tzinfo=UTC))             # November closes, no human step
    assert raised is not None and len(raised) == 1
    assert await clock.tick(datetime(2031, 12, 2, 9, 0, tzinfo=UTC)) is None         # once
    async with cs.engine.connect() as conn:
        done = (await conn.execute(select(indicator_evaluations).where(indicator_evaluations.c.period == "2031-11"))
                ).one()
    assert (done.basis, done.compared_with) == ("year_on_year", "2030-11")
    admin = {"Authorization": f"Bearer {dev_keys.issue('admin-1', roles=['alliance_admin'])}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{cs.http_port}/v1", timeout=30) as c:
        board = (await c.get("/warnings", headers=admin)).json()
    [w] = [x for x in board if x["period"] == "2031-11"]
    assert (w["hospital_id"], w["indicator"], w["level"]) == ("H001", "cost_growth_yoy", "red")
    assert "year on year" in w["message"]
