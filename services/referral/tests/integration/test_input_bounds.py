"""Issue 12, finding 4 in referral: times at the ends of the calendar (±14 h) are a 422, never a 500."""

from __future__ import annotations

import httpx
import pytest

from referral.bootstrap import SPEC

EDGES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59Z", "2199-12-31T23:00:00-14:00",
         "1900-01-01T00:00:00+14:00"]


@pytest.mark.parametrize("at", EDGES)
async def test_indicators_rules_and_rule_versions_at_the_ends_of_the_calendar_are_422(start_service, dev_keys, at):
    rt = await start_service(SPEC)
    admin = {"Authorization": f"Bearer {dev_keys.issue('admin-1', roles=['alliance_admin'])}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}/v1", headers=admin, timeout=30) as c:
        answers = [await c.get("/indicators", params={"since": at}), await c.get("/rules", params={"at": at}),
                   await c.post("/rules/versions", json={"effective_from": at, "rules": []})]
    assert [a.status_code for a in answers] == [422] * 3, [a.text for a in answers]
    assert all(a.headers["content-type"].startswith("application/problem+json") for a in answers)
