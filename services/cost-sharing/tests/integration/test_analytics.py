"""Statistics without rows on a real database: aggregates only, a cell of 9 withheld with its complements, logged."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import insert

from cost_sharing.adapters.orm import drg_cases
from cost_sharing.bootstrap import SPEC

COUNTS = {("H001", "FM1"): 9, ("H001", "FT1"): 40, ("H001", "GB1"): 35, ("H002", "FM1"): 30, ("H002", "FT1"): 25,
          ("H002", "GB1"): 44, ("H003", "FM1"): 61, ("H003", "FT1"): 52, ("H003", "GB1"): 70}


def _auth(dev_keys, roles: list[str], hospital_id: str | None = None, sub: str = "user") -> dict:
    return {"Authorization": f"Bearer {dev_keys.issue(sub, hospital_id=hospital_id, roles=roles)}"}


@pytest.fixture
async def cs(start_service):
    rt = await start_service(SPEC)
    now = datetime(2026, 11, 20, tzinfo=UTC)
    rows = []
    for (hospital, group), n in COUNTS.items():
        for i in range(n):
            rows.append({"case_id": f"{hospital}/{group}-{i}", "hospital_id": hospital, "department": "cardiology",
                         "period": "2026-11", "table_version": 1, "drg": f"{group}5", "payment_fen": 1_000_000,
                         "total_cost_fen": 900_000 + i, "outlier": None, "needs_two_approvals": False,
                         "grouping": {"adrg": group, "standard_cost_fen": 1_000_000}, "grouped_at": now})
    async with rt.engine.begin() as conn:
        await conn.execute(insert(drg_cases), rows)
    return rt


async def test_a_cell_of_9_is_never_shown_and_every_question_is_logged(cs, dev_keys):
    regulator = _auth(dev_keys, ["regulator"], sub="nhc-analyst")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{cs.http_port}/v1/analytics", timeout=30) as c:
        got = await c.get("/drg-cases", headers=regulator,
                          params={"rows": "hospital", "columns": "drg_group", "month": "2026-11"})
        assert got.status_code == 200, got.text
        body = got.json()
        cells = {(x["hospital"], x["drg_group"]): x for x in body["cells"]}
        assert cells[("H001", "FM1")] == {"hospital": "H001", "drg_group": "FM1", "suppressed": True}
        hidden = {k for k, x in cells.items() if x["suppressed"]}
        assert len(hidden) >= 4 and len(hidden) < len(cells)      # row H001 and column FM1 each get a complement
        shown = [x for part in ("cells", "row_totals", "column_totals") for x in body[part] if not x["suppressed"]]
        assert shown and all(x["cases"] >= 10 for x in shown)
        assert "case_id" not in got.text and "H001/FM1-0" not in got.text
        # the subtraction attack: a published total minus the published cells of its line never isolates one cell
        for part, dim in (("row_totals", "hospital"), ("column_totals", "drg_group")):
            for total in body[part]:
                line = [x for x in body["cells"] if x[dim] == total[dim]]
                if not total["suppressed"]:
                    assert sum(1 for x in line if x["suppressed"]) != 1
        other_slice = (await c.get("/drg-cases", headers=regulator,
                                   params={"rows": "month", "columns": "drg_group", "hospital": "H001"})).json()
        assert next(x for x in other_slice["cells"] if x["drg_group"] == "FM1")["suppressed"] is True

        for bad in ({"rows": "hospital", "columns": "hospital", "month": "2026-11"},
                    {"rows": "hospital", "columns": "drg_group"},
                    {"rows": "hospital", "columns": "drg_group", "month": "2026-11", "hospital": "H001"},
                    {"rows": "hospital", "columns": "drg_group", "month": "2400-01"},
                    {"rows": "hospital", "columns": "drg_group", "month": "2026-11\x00"}):
            refused = await c.get("/drg-cases", headers=regulator, params=bad)
            # a NUL in the query string is refused by the edge itself (400) before the route
            assert refused.status_code == (400 if "\x00" in bad.get("month", "") else 422), (bad, refused.status_code)
            assert refused.headers["content-type"].startswith("application/problem+json")
        hospital = _auth(dev_keys, ["hospital"], "H001")
        assert (await c.get("/drg-cases", headers=hospital, params={
            "rows": "hospital", "columns": "drg_group", "month": "2026-11"})).status_code == 403
        assert (await c.get("/queries", headers=hospital)).status_code == 403

        log = (await c.get("/queries", headers=_auth(dev_keys, ["alliance_admin"], sub="admin-1"))).json()
        assert len(log) == 2 and {q["subject"] for q in log} == {"nhc-analyst"}
        first = next(q for q in log if q["question"].get("month") == "2026-11")
        assert first["cells_suppressed"] == len(hidden) and first["min_count"] == 10
        assert first["question"] == {"dataset": "drg-cases", "rows": "hospital", "columns": "drg_group",
                                     "month": "2026-11"}
