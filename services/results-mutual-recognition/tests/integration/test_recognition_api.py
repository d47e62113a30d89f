"""results-mutual-recognition's HTTP API on a real database: catalog import, QC, checks, declines, authorisation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import insert, select

from results_mutual_recognition.adapters.orm import checks, patient_relations, result_index
from results_mutual_recognition.bootstrap import SPEC

CSV = ("item_code,name,category,validity_days,loinc,conditions\n"
       "LAB-CBC,血常规,laboratory,7,58410-2,\n"
       "IMG-CT-CHEST,胸部CT,imaging,90,,not_for_inpatients_after_surgery\n")


@pytest.fixture
async def rmr(start_service, dev_keys):
    rt = await start_service(SPEC)

    def client(**claims) -> httpx.AsyncClient:
        token = dev_keys.issue("tester", **claims)
        return httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}/v1",
                                 headers={"Authorization": f"Bearer {token}"})

    rt.extras["client"] = client
    return rt


async def _publish(rmr, effective_from: datetime) -> None:
    async with rmr.extras["client"](roles=["alliance_admin"]) as admin:
        r = await admin.post("/catalog/versions/import", params={"effective_from": effective_from.isoformat()},
                             content=CSV.encode(), headers={"Content-Type": "text/csv"})
        assert r.status_code == 201, r.text


async def test_a_catalog_csv_with_a_bad_row_publishes_nothing_and_names_the_row(rmr):
    bad = CSV + "LAB-X,坏行,laboratory,zero,,\nLAB-Y,未知条件,laboratory,7,,when_it_rains\n"
    async with rmr.extras["client"](roles=["alliance_admin"]) as admin:
        r = await admin.post("/catalog/versions/import",
                             params={"effective_from": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()},
                             content=bad.encode(), headers={"Content-Type": "text/csv"})
        assert r.status_code == 422 and [e["row"] for e in r.json()["errors"]] == [4, 5]
        assert (await admin.get("/catalog")).status_code == 404


async def test_only_the_qc_centre_records_eligibility(rmr):
    body = {"lab_id": "H002", "item_code": "LAB-CBC", "status": "passed", "reference": "EQA-1",
            "effective_from": datetime.now(UTC).isoformat()}
    async with rmr.extras["client"](hospital_id="H002", roles=["hospital"]) as hospital:
        assert (await hospital.post("/qc/eligibility", json=body)).status_code == 403
    async with rmr.extras["client"](roles=["qc_center"]) as qc:
        assert (await qc.post("/qc/eligibility", json=body)).status_code == 201


async def test_checks_explain_and_declines_need_a_reason(rmr):
    start = datetime.now(UTC)
    await _publish(rmr, start + timedelta(seconds=1))
    async with rmr.extras["client"](roles=["qc_center"]) as qc:
        for item in ("LAB-CBC", "IMG-CT-CHEST"):
            assert (await qc.post("/qc/eligibility", json={
                "lab_id": "H002", "item_code": item, "status": "passed", "reference": "EQA-1",
                "effective_from": (start - timedelta(days=1)).isoformat()})).status_code == 201
    produced = start + timedelta(seconds=2)
    async with rmr.engine.begin() as conn:
        await conn.execute(insert(patient_relations).values(hospital_id="H003", patient_id="AP-1"))
        await conn.execute(insert(result_index).values([
            {"result_id": "H002/R1/1", "patient_id": "AP-1", "item_code": "LAB-CBC", "hospital_id": "H002",
             "lab_id": "H002", "value": "5.6", "unit": "10*9/L", "effective_at": produced, "report_ref": "H002/R1",
             "status": "F"},
            {"result_id": "H002/R2/1", "patient_id": "AP-1", "item_code": "IMG-CT-CHEST", "hospital_id": "H002",
             "lab_id": "H002", "value": "未见异常", "unit": "", "effective_at": produced, "report_ref": "H002/R2",
             "status": "F"}]))
    at = produced + timedelta(days=7)           # exactly at the end of CBC's 7-day window: still valid
    async with rmr.extras["client"](hospital_id="H003", roles=["hospital"]) as h003:
        r = await h003.post("/recognition/checks", json={"patient_id": "AP-1", "item_codes": ["LAB-CBC"],
                                                         "at": at.isoformat()})
        assert r.json()["items"][0]["reason"] is None
        later = await h003.post("/recognition/checks", json={
            "patient_id": "AP-1", "item_codes": ["LAB-CBC", "IMG-CT-CHEST"],
            "at": (at + timedelta(microseconds=1)).isoformat(), "inpatient_after_surgery": True})
        cbc, ct = later.json()["items"]
        assert (cbc["reason"], ct["reason"]) == ("EXPIRED", "CONDITION_NOT_MET")
        assert "7 days" in cbc["explanation"]
        check_id = r.json()["check_id"]
        no_text = await h003.post(f"/recognition/checks/{check_id}/choices",
                                  json={"item_code": "LAB-CBC", "kind": "decline", "decline_reason": "other"})
        assert no_text.status_code == 422
        declined = await h003.post(f"/recognition/checks/{check_id}/choices", json={
            "item_code": "LAB-CBC", "kind": "decline", "decline_reason": "condition_changed"})
        assert declined.status_code == 201 and declined.json()["saving_fen"] == 0
    async with rmr.extras["client"](hospital_id="H009", roles=["hospital"]) as stranger:
        r = await stranger.post(f"/recognition/checks/{check_id}/choices", json={
            "item_code": "LAB-CBC", "kind": "decline", "decline_reason": "condition_changed"})
        assert r.status_code == 404
        unknown = await stranger.post("/recognition/checks", json={"patient_id": "AP-404", "item_codes": ["LAB-CBC"]})
        assert unknown.status_code == 404
    async with rmr.extras["client"](roles=["regulator"]) as regulator:
        rows = (await regulator.get("/indicators")).json()
        cbc_rows = [x for x in rows if x["item_code"] == "LAB-CBC"]
        assert [(x["checks"], x["recognisable"], x["declined"], x["repeat_test_rate"]) for x in cbc_rows] == [
            (2, 1, 1, 1.0)]
    async with rmr.engine.connect() as conn:
        outcomes = [r.outcome for r in await conn.execute(select(checks.c.outcome).order_by(checks.c.created_at))]
    assert outcomes == ["answered", "answered", "denied"]
