"""Who reads settlement figures: a hospital its own, suppliers and the QC centre nothing, regulators all (read-only)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import insert

from cost_sharing.adapters.orm import encounters, member_hospitals
from cost_sharing.bootstrap import SPEC

HOSPITALS = [("H001", "tertiary", "330100"), ("H002", "primary", "330100"), ("H003", "primary", "330200")]
PERIOD = "2026-11"
SETTLEMENT_READS = [("/coefficients", {"period": PERIOD}), ("/ledger/entries", {}), ("/ledger/verify", {}),
                    ("/ledger/checkpoints", {}), ("/statements", {}), ("/drg/cases", {}),
                    ("/indicators", {"period": PERIOD}), ("/warnings", {}), ("/scorecard", {"period": PERIOD}),
                    ("/balances", {}), (f"/netting/{PERIOD}", {})]


def _auth(dev_keys, role: str, hospital_id: str | None = None) -> dict:
    return {"Authorization": f"Bearer {dev_keys.issue(f'{role}-1', hospital_id=hospital_id, roles=[role])}"}


@pytest.fixture
async def cs(start_service, dev_keys):
    rt = await start_service(SPEC, settlement_interval_seconds=0.2)
    async with rt.engine.begin() as conn:
        await conn.execute(insert(member_hospitals), [
            {"hospital_id": h, "name": f"医院{h}", "level": lvl, "region_code": region, "active": True, "version": 1}
            for h, lvl, region in HOSPITALS])
        await conn.execute(insert(encounters), [{
            "encounter_id": f"{h}/{n}", "hospital_id": h, "total_fen": 10_000 + n, "period": PERIOD,
            "patient_id": "AP-1", "patient_class": "O", "department": "gp", "discharged_at": datetime.now(UTC),
            "los_days": 0, "principal_dx": "I10", "secondary_dx": [], "procedures": [], "drugs_fen": 3000,
            "consumables_fen": 1000} for h, _, _ in HOSPITALS for n in range(2)])
    admin = _auth(dev_keys, "alliance_admin")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}/v1", timeout=30) as c:
        for service_id, parties in (("J-12", ("H001", "H002")), ("J-23", ("H002", "H003"))):
            r = await c.post("/joint-services", headers=admin, json={
                "service_id": service_id, "kind": "remote_consultation", "amount_fen": 10_000,
                "collected_by": parties[1], "occurred_at": "2026-11-10T08:00:00Z",
                "parties": [{"hospital_id": parties[0], "role": "expert"}, {"hospital_id": parties[1], "role": "site"}]})
            assert r.status_code == 201, r.text
    return rt


async def test_a_hospital_reads_only_its_own_settlement_figures(cs, dev_keys):
    h001 = _auth(dev_keys, "hospital", "H001")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{cs.http_port}/v1", timeout=30) as c:
        coefficients = (await c.get("/coefficients", params={"period": PERIOD}, headers=h001)).json()
        assert [x["hospital_id"] for x in coefficients["coefficients"]] == ["H001"]       # its own row only
        entries = (await c.get("/ledger/entries", headers=h001)).json()
        assert [e["reference"] for e in entries] == ["joint:J-12"]                        # not J-23 (H002/H003)
        assert {i["hospital_id"] for i in (await c.get("/indicators", params={"period": PERIOD}, headers=h001)
                                           ).json()} == {"H001"}
        card = await c.get("/scorecard", params={"period": PERIOD}, headers=h001)
        assert card.status_code == 200 and card.json()["hospital_id"] == "H001"           # its line, not the alliance's
        other = await c.get("/scorecard", params={"period": PERIOD, "hospital_id": "H002"}, headers=h001)
        assert other.status_code == 404
        for path in ("/ledger/verify", "/ledger/checkpoints", "/balances", f"/netting/{PERIOD}"):
            assert (await c.get(path, headers=h001)).status_code == 403, path
        # the in-stay check is for the hospital's own stays; another hospital's is not revealed
        stay = {"hospital_id": "H002", "principal_dx": "I21.900", "accumulated_cost_fen": 1}
        assert (await c.post("/drg/in-stay", headers=h001, json=stay)).status_code == 404


@pytest.mark.parametrize("role", ["supplier", "qc_center"])
async def test_suppliers_and_the_qc_centre_see_no_settlement_data(cs, dev_keys, role):
    token = _auth(dev_keys, role)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{cs.http_port}/v1", timeout=30) as c:
        for path, params in SETTLEMENT_READS:
            r = await c.get(path, params=params, headers=token)
            assert r.status_code == 403, (path, r.status_code, r.text[:200])
            assert r.headers["content-type"].startswith("application/problem+json")


async def test_regulators_read_everything_and_compute_nothing(cs, dev_keys):
    regulator, admin = _auth(dev_keys, "regulator"), _auth(dev_keys, "alliance_admin")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{cs.http_port}/v1", timeout=30) as c:
        for path, params in SETTLEMENT_READS:
            r = await c.get(path, params=params, headers=regulator)
            assert r.status_code == 200, (path, r.status_code, r.text[:200])
        coefficients = (await c.get("/coefficients", params={"period": PERIOD}, headers=regulator)).json()
        assert [x["hospital_id"] for x in coefficients["coefficients"]] == ["H001", "H002", "H003"]
        assert len((await c.get("/ledger/entries", headers=regulator)).json()) == 2
        formula = (await c.get("/coefficients", params={"period": PERIOD}, headers=admin)).json()["formula"]
        formula.pop("version")
        sample = (await c.get("/drg/tables/sample", headers=regulator)).json()
        computations = [("/coefficients/what-if", {"period": PERIOD, "formula": formula}),
                        ("/drg/simulate", {"draft": sample}),
                        ("/drg/in-stay", {"hospital_id": "H001", "principal_dx": "I21.900", "accumulated_cost_fen": 1})]
        for path, body in computations:
            assert (await c.post(path, headers=regulator, json=body)).status_code == 403, path
        assert (await c.post("/coefficients/what-if", headers=admin, json=computations[0][1])).status_code == 200
