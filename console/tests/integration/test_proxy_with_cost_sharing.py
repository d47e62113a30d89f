"""The console in front of the real cost-sharing service: the service, not the console, decides.

A regulator's dev token (issued by the console) reads the ledger check through the proxy; the same
token's write is refused by the service with its own 403 problem, passed through unchanged; an
administrator's write goes through.
"""

from __future__ import annotations

import httpx
import pytest

from alliance_console.app import create_app
from alliance_console.settings import Settings

PERIOD = "2026-10"
PROBLEM = "application/problem+json"


@pytest.fixture
async def console(seeded_cost_sharing, dev_keys, serve, unreachable_url):
    base = f"http://127.0.0.1:{seeded_cost_sharing.http_port}"
    settings = Settings(dev_keys_dir=dev_keys.directory, services={
        "cost-sharing": base, "referral": unreachable_url, "procurement": unreachable_url,
        "data-exchange": unreachable_url, "results-mutual-recognition": unreachable_url})
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=30) as c:
        yield c


async def token(c: httpx.AsyncClient, role: str) -> dict[str, str]:
    r = await c.post("/dev/token", json={"role": role})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_a_regulator_reads_the_ledger_check_through_the_proxy(console):
    regulator = await token(console, "regulator")
    r = await console.get("/api/cost-sharing/v1/ledger/verify", headers=regulator)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is True and body["entries_checked"] >= 2 and body["checkpoints_checked"] >= 1
    checkpoints = await console.get("/api/cost-sharing/v1/ledger/checkpoints", headers=regulator)
    assert checkpoints.status_code == 200 and checkpoints.json()[0]["signature"]


async def test_a_regulator_write_is_refused_by_the_service_and_an_admin_write_is_not(console):
    regulator, admin = await token(console, "regulator"), await token(console, "alliance_admin")
    refused = await console.post(f"/api/cost-sharing/v1/netting/{PERIOD}", headers=regulator)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["status"] == 403 and refused.json()["title"] == "Forbidden"

    warnings = (await console.get("/api/cost-sharing/v1/warnings", headers=regulator)).json()
    answered = next(w for w in warnings if w["state"] == "answered")
    close = f"/api/cost-sharing/v1/warnings/{answered['warning_id']}/close"
    assert (await console.post(close, headers=regulator, json={"note": "x"})).status_code == 403

    published = await console.post(f"/api/cost-sharing/v1/netting/{PERIOD}", headers=admin)
    assert published.status_code == 201, published.text
    assert published.json()["settles_every_balance"] is True
    closed = await console.post(close, headers=admin, json={"note": "措施已落实 remedy in place"})
    assert closed.status_code == 200 and closed.json()["state"] == "closed"


async def test_the_regulator_reads_indicators_warnings_statements_and_scorecard(console):
    regulator = await token(console, "regulator")
    rows = (await console.get("/api/cost-sharing/v1/indicators", params={"period": PERIOD},
                              headers=regulator)).json()
    levels = {r["hospital_id"]: (r["growth_level"], r["cost_index_in_band"]) for r in rows}
    assert levels == {"H001": ("red", False), "H002": ("yellow", False), "H003": ("green", True),
                      "H004": ("green", True)}
    for path in ("/v1/warnings", f"/v1/statements?period={PERIOD}", f"/v1/netting/{PERIOD}",
                 f"/v1/scorecard?period={PERIOD}"):
        r = await console.get("/api/cost-sharing" + path, headers=regulator)
        assert r.status_code == 200, (path, r.text)


async def test_the_services_own_refusals_come_through_unchanged(console):
    no_token = await console.get("/api/cost-sharing/v1/ledger/verify")
    assert no_token.status_code == 401 and no_token.headers["content-type"] == PROBLEM
    forged = await console.get("/api/cost-sharing/v1/ledger/verify",
                               headers={"Authorization": "Bearer not.a.token"})
    assert forged.status_code == 401
    bad_period = await console.get("/api/cost-sharing/v1/indicators", params={"period": "2026-13"},
                                   headers=await token(console, "regulator"))
    assert bad_period.status_code == 422 and bad_period.headers["content-type"] == PROBLEM
    down = await console.get("/api/procurement/v1/rounds", headers=await token(console, "regulator"))
    assert down.status_code == 502 and "procurement" in down.json()["detail"]
