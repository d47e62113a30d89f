"""Issue 12, finding 4 in cost-sharing: periods in year 0 or 9999 and future occurrences are a 422, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from cost_sharing.bootstrap import SPEC


async def test_periods_outside_1900_to_2199_are_422_everywhere(start_service, dev_keys):
    rt = await start_service(SPEC)
    admin = {"Authorization": f"Bearer {dev_keys.issue('admin-1', roles=['alliance_admin'])}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}/v1", headers=admin, timeout=30) as c:
        answers = []
        for period in ("0000-01", "0001-01", "9999-12", "1899-12", "2200-01"):
            answers += [await c.get("/coefficients", params={"period": period}),
                        await c.get("/scorecard", params={"period": period}),
                        await c.get("/indicators", params={"period": period}),
                        await c.post(f"/indicators/{period}/evaluate"),
                        await c.get(f"/netting/{period}")]
        assert [a.status_code for a in answers] == [422] * len(answers), [a.text[:200] for a in answers if
                                                                          a.status_code != 422]
        ok = await c.get("/coefficients", params={"period": "2199-12"})
        assert ok.status_code == 200, ok.text


async def test_a_joint_service_that_has_not_happened_yet_is_422(start_service, dev_keys):
    rt = await start_service(SPEC)
    admin = {"Authorization": f"Bearer {dev_keys.issue('admin-1', roles=['alliance_admin'])}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}/v1", headers=admin, timeout=30) as c:
        for when in ((datetime.now(UTC) + timedelta(days=2)).isoformat(), "9999-12-31T23:59:59-14:00"):
            r = await c.post("/joint-services", json={
                "service_id": "S1", "kind": "joint_surgery", "amount_fen": 100, "collected_by": "H001",
                "occurred_at": when, "parties": [{"hospital_id": "H001", "share": "0.5"},
                                                 {"hospital_id": "H002", "share": "0.5"}]})
            assert r.status_code == 422 and "occurred_at" in r.text, r.text
