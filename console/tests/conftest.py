"""Fixtures for the console's tests: real servers on loopback ports, never mocked transports.

`serve(app)` runs any ASGI app under uvicorn on an ephemeral port inside the test's event loop;
`seeded_cost_sharing` is the real cost-sharing service (repo fixture `start_service`: real
PostgreSQL and Kafka) with a small synthetic alliance whose indicators, warnings, ledger,
statements and netting all have something to show.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import uvicorn

PERIOD, PREVIOUS = "2026-10", "2026-09"
# hospital, level, region, cost per visit (fen) in PREVIOUS and in PERIOD
HOSPITALS = [
    ("H001", "tertiary", "330100", 10_000, 11_500),   # +15%: red; far above the regional average
    ("H002", "primary", "330100", 3_000, 3_270),      # +9%: yellow; far below the regional average
    ("H003", "secondary", "330100", 6_000, 6_100),    # +1.7%: green; within the 0.8-1.2 band
    ("H004", "primary", "330200", 4_000, 4_100),      # alone in its region: index 1.0
]


@asynccontextmanager
async def _serve(app) -> AsyncIterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the server stopped before it started")
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=15)
        sock.close()


@pytest.fixture
def serve() -> Callable[..., AbstractAsyncContextManager[str]]:
    """`async with serve(app) as base_url:` a real uvicorn server on 127.0.0.1:<ephemeral>."""
    return _serve


def closed_port_url() -> str:
    """A loopback URL on which nothing listens (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
def unreachable_url() -> str:
    return closed_port_url()


def auth(dev_keys, role: str, hospital_id: str | None = None, sub: str = "test") -> dict[str, str]:
    return {"Authorization": f"Bearer {dev_keys.issue(sub, hospital_id=hospital_id, roles=[role])}"}


@pytest.fixture
async def seeded_cost_sharing(start_service, dev_keys):
    """cost-sharing on a fresh database with four members, two months of visits, two ledger entries,
    raised warnings (one of them answered), statements and a signed checkpoint."""
    from sqlalchemy import insert

    from alliance_testing.helpers import eventually
    from cost_sharing.adapters.orm import encounters, member_hospitals
    from cost_sharing.bootstrap import SPEC

    rt = await start_service(SPEC, settlement_interval_seconds=0.2)
    rows = []
    for h, _level, _region, before, now in HOSPITALS:
        for period, cpv in ((PREVIOUS, before), (PERIOD, now)):
            at = datetime.fromisoformat(f"{period}-15T10:00:00+00:00")
            for n in range(2):
                rows.append({"encounter_id": f"{h}/{period}/{n}", "patient_id": f"AP-{h}-{n}",
                             "hospital_id": h, "patient_class": "O", "department": "general",
                             "admitted_at": at - timedelta(hours=2), "discharged_at": at, "los_days": 0,
                             "principal_dx": "I10", "secondary_dx": [], "procedures": [],
                             "total_fen": cpv, "drugs_fen": cpv * 3 // 10,
                             "consumables_fen": cpv * (15 + n * 5) // 100, "period": period})
    async with rt.engine.begin() as conn:
        await conn.execute(insert(member_hospitals), [
            {"hospital_id": h, "name": f"医院{h}", "level": level, "region_code": region,
             "active": True, "version": 1} for h, level, region, *_ in HOSPITALS])
        await conn.execute(insert(encounters), rows)

    admin = auth(dev_keys, "alliance_admin", sub="seed-admin")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}/v1", timeout=30) as c:
        r = await c.put(f"/coefficients/resources/{PERIOD}", headers=admin, json={"hospitals": {
            "H001": {"equipment_units": 6, "experts": 4, "beds_shared": 10},
            "H002": {"equipment_units": 1, "experts": 1, "beds_shared": 2},
            "H003": {"equipment_units": 3, "experts": 2, "beds_shared": 5},
            "H004": {"equipment_units": 1, "experts": 1, "beds_shared": 1}}})
        assert r.status_code == 200, r.text
        r = await c.post("/pools", headers=admin, json={
            "pool_id": "platform-2026-10", "name": "平台建设 platform build", "period": PERIOD,
            "amount_fen": 1_200_000})
        assert r.status_code == 201, r.text
        r = await c.post("/joint-services", headers=admin, json={
            "service_id": "RC-2026-10-001", "kind": "remote_consultation", "amount_fen": 80_000,
            "collected_by": "H002", "occurred_at": f"{PERIOD}-20T09:00:00+00:00",
            "parties": [{"hospital_id": "H001", "role": "expert"},
                        {"hospital_id": "H002", "role": "site"}]})
        assert r.status_code == 201, r.text
        r = await c.post(f"/indicators/{PERIOD}/evaluate", headers=admin)
        assert r.status_code == 200 and r.json()["raised"], r.text
        warnings = (await c.get("/warnings", headers=admin)).json()
        growth_h001 = next(w for w in warnings
                           if w["hospital_id"] == "H001" and w["indicator"] == "cost_growth")
        r = await c.post(f"/warnings/{growth_h001['warning_id']}/answer",
                         headers=auth(dev_keys, "hospital", "H001", sub="his-h001"),
                         json={"cause": "新开心内科介入 new cardiology interventions",
                               "remedy": "耗材集采 join the consumables round"})
        assert r.status_code == 200, r.text

        async def settled():
            statements = (await c.get("/statements", params={"period": PERIOD}, headers=admin)).json()
            checkpoints = (await c.get("/ledger/checkpoints", headers=admin)).json()
            return len(statements) >= 3 and checkpoints and checkpoints[0]["entries"] >= 2

        await eventually(settled, timeout=30)
    rt.extras["seeded_at"] = datetime.now(UTC)
    return rt
