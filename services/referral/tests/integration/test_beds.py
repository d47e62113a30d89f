"""Bed status on a real database and broker: own hospital only, validated, published as BedsUpdated."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import insert

from alliance_testing.helpers import read_all
from referral.adapters.orm import member_hospitals
from referral.bootstrap import SPEC


async def test_a_hospital_publishes_its_own_beds_and_everyone_reads_them(start_service, dev_keys, kafka_bootstrap):
    rt = await start_service(SPEC)
    async with rt.engine.begin() as conn:   # as the facility-registry consumer would have written it
        await conn.execute(insert(member_hospitals).values(hospital_id="H001", name="省第一人民医院", level="tertiary",
                                                           region_code="330100", specialties=["cardiology"],
                                                           total_beds=1800, active=True, version=1))
    url = f"http://127.0.0.1:{rt.http_port}/v1/beds"
    own = {"Authorization": f"Bearer {dev_keys.issue('his', hospital_id='H001', roles=['hospital'])}"}
    other = {"Authorization": f"Bearer {dev_keys.issue('his', hospital_id='H002', roles=['hospital'])}"}
    async with httpx.AsyncClient() as c:
        ok = await c.put(f"{url}/H001/cardiology", json={"available": 12, "total": 60}, headers=own)
        assert ok.status_code == 200 and ok.json()["occupancy"] == 0.8 and not ok.json()["stale"]
        assert (await c.put(f"{url}/H001/cardiology", json={"available": 61, "total": 60}, headers=own)).status_code == 422
        assert (await c.put(f"{url}/H001/cardiology", json={"available": 1, "total": 60}, headers=other)).status_code == 404
        assert (await c.put(f"{url}/H404/cardiology", json={"available": 1, "total": 60}, headers=own)).status_code == 404
        listed = (await c.get(url, params={"specialty": "cardiology"}, headers=other)).json()
    assert [(b["hospital_id"], b["available"], b["total"]) for b in listed] == [("H001", 12, 60)]
    [event] = await read_all(kafka_bootstrap, rt.topic("alliance.referral.v1"), expected=1)
    body = json.loads(event.value)
    assert body["type"] == "alliance.referral.v1.BedsUpdated" and body["data"]["available"] == 12
