"""Issue 12, findings 4 and 5 in results-mutual-recognition: calendar-end input is a 422, stored values never a 500."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import grpc
import httpx
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import insert

from alliance.results_mutual_recognition.v1 import recognition_pb2 as pb
from alliance.results_mutual_recognition.v1 import recognition_pb2_grpc as pb_grpc
from alliance_auth.grpc import bearer_metadata
from results_mutual_recognition.adapters.orm import checks
from results_mutual_recognition.bootstrap import SPEC

EDGES = ["9999-12-31T23:59:59Z", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2199-12-31T23:00:00-14:00"]


@pytest.fixture
async def rmr(start_service, dev_keys):
    rt = await start_service(SPEC)

    def client(**claims) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}/v1", timeout=30,
                                 headers={"Authorization": f"Bearer {dev_keys.issue('tester', **claims)}"})
    rt.extras["client"] = client
    return rt


async def test_a_check_stored_at_the_end_of_the_calendar_does_not_break_the_indicators(rmr):
    async with rmr.engine.begin() as conn:      # a row an earlier version accepted
        await conn.execute(insert(checks).values(
            check_id=uuid.uuid4(), requesting_hospital="H001", subject="his", patient_id="P-1",
            at=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), outcome="answered",
            items=[{"item_code": "LAB-CBC", "reason": "", "recognised": ["R-1"]}]))
    async with rmr.extras["client"](roles=["alliance_admin"]) as admin:
        r = await admin.get("/indicators")
    assert r.status_code == 200, r.text
    assert [(x["hospital_id"], x["period"], x["checks"]) for x in r.json()] == [("H001", "9999-12", 1)]


@pytest.mark.parametrize("at", EDGES)
async def test_checks_and_qc_changes_at_the_ends_of_the_calendar_are_422(rmr, at):
    async with rmr.extras["client"](roles=["hospital"], hospital_id="H001") as hospital, \
            rmr.extras["client"](roles=["qc_center"]) as qc, rmr.extras["client"](roles=["alliance_admin"]) as admin:
        answers = [await hospital.post("/recognition/checks", json={"patient_id": "P-1", "item_codes": ["LAB-CBC"],
                                                                    "at": at}),
                   await qc.post("/qc/eligibility", json={"lab_id": "H002", "item_code": "LAB-CBC", "status": "passed",
                                                          "reference": "EQA-1", "effective_from": at}),
                   await admin.get("/catalog", params={"at": at})]
    assert [a.status_code for a in answers] == [422] * 3, [a.text for a in answers]
    assert all(a.headers["content-type"].startswith("application/problem+json") for a in answers)


async def test_periods_outside_1900_to_2199_are_422(rmr):
    async with rmr.extras["client"](roles=["alliance_admin"]) as admin:
        codes = [(await admin.get("/indicators", params={"period": p})).status_code
                 for p in ("0000-01", "9999-12", "1899-12", "2200-01")]
    assert codes == [422] * 4


async def test_two_prices_for_one_item_in_one_batch_are_422_naming_the_item(rmr):
    async with rmr.extras["client"](roles=["alliance_admin"]) as admin:
        r = await admin.put("/prices/H001", json={"effective_from": "2026-01-01T00:00:00Z", "items": [
            {"item_code": "LAB-CBC", "price_fen": 100}, {"item_code": "LAB-CBC", "price_fen": 200}]})
    assert r.status_code == 422 and "LAB-CBC" in r.text, r.text


@pytest.mark.parametrize("csv", [
    b"item_code,name,category,validity_days\nLAB-CBC,a\rb,laboratory,7\n",       # a bare CR inside a field
    b"item_code,name,category,validity_days\r\nLAB-CBC,\"a\r\nb\",laboratory,7\r\nLAB-CBC,c,laboratory,7\r\n",
])
async def test_a_catalog_csv_with_line_breaks_in_fields_is_parsed_or_refused_by_line(rmr, csv):
    async with rmr.extras["client"](roles=["alliance_admin"]) as admin:
        r = await admin.post("/catalog/versions/import", params={"effective_from": "2026-01-01T00:00:00Z"},
                             content=csv, headers={"Content-Type": "text/csv"})
    assert r.status_code == 422, r.text
    assert all(isinstance(e["row"], int) and e["row"] >= 2 for e in r.json()["errors"])


@pytest.mark.parametrize("seconds", [253402300800, -62135596801, 2 ** 62, 7258118400])
async def test_grpc_timestamps_outside_the_range_are_invalid_argument_without_internals(rmr, dev_keys, seconds):
    token = dev_keys.issue("his", hospital_id="H001", roles=["hospital"])
    async with grpc.aio.insecure_channel(f"127.0.0.1:{rmr.grpc_port}") as channel:
        stub = pb_grpc.RecognitionStub(channel)
        for call, request in ((stub.CheckRecognition, pb.CheckRecognitionRequest(
                patient_id="P-1", item_codes=["LAB-CBC"], at=Timestamp(seconds=seconds))),
                              (stub.ListRecognisable, pb.ListRecognisableRequest(
                                  patient_id="P-1", at=Timestamp(seconds=seconds)))):
            with pytest.raises(grpc.aio.AioRpcError) as e:
                await call(request, metadata=bearer_metadata(token))
            assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert e.value.details().startswith("at: ") and "Error" not in e.value.details()
