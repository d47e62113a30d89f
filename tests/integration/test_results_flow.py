"""Across services: an ORU^R01 sent to data-exchange over MLLP lands in results-mutual-recognition's result index."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone

import grpc
import httpx
import pytest
from sqlalchemy import select

from alliance.results_mutual_recognition.v1 import recognition_pb2
from alliance.results_mutual_recognition.v1 import recognition_pb2_grpc as recognition_grpc
from alliance_auth.grpc import bearer_metadata
from alliance_testing.helpers import eventually, read_all
from data_exchange.bootstrap import SPEC as DATA_EXCHANGE
from data_exchange.entrypoints import mllp
from data_exchange.hl7 import ack_fields
from results_mutual_recognition.adapters.orm import checks, patient_relations, result_index
from results_mutual_recognition.bootstrap import SPEC as RMR

ORU = ("MSH|^~\\&|LIS|H002|ALLIANCE|ALLIANCE|20261120083000+0800||ORU^R01^ORU_R01|FLOW-1|P|2.5.1|||AL|NE||UNICODE UTF-8\r"
       "PID|1||MRN-9^^^H002^MR||测试患者乙||19800101|F\r"
       "OBR|1|PL-9|RPT-77|CT001^胸部CT^L|||20261120080000+0800||||||||||||||||CT|F\r"
       "OBX|1|TX|CT001^胸部CT^L||双肺未见明显异常||||||F|||20261120080000+0800\r")


async def _send(port: int, message: str) -> dict:
    return ack_fields(await mllp.send("127.0.0.1", port, message.encode()))


async def test_a_result_sent_to_data_exchange_is_indexed_for_recognition(start_service, dev_keys):
    dx = await start_service(DATA_EXCHANGE)
    rmr = await start_service(RMR)
    admin = {"Authorization": f"Bearer {dev_keys.issue('admin', roles=['alliance_admin'])}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dx.http_port}", headers=admin) as c:
        assert (await c.post("/v1/hospitals", json={"hospital_id": "H002", "name": "桐庐县人民医院", "level": "secondary",
                                                    "region_code": "330122", "total_beds": 380})).status_code == 201
        assert (await c.put("/v1/code-maps/H002/item/CT001", json={"alliance_code": "IMG-CT-CHEST"})).status_code == 200
    assert (await _send(dx.extras["mllp"].port, ORU))["code"] == "AA"

    async def indexed():
        async with rmr.engine.connect() as conn:
            return (await conn.execute(select(result_index))).all()

    [row] = await eventually(indexed)
    assert (row.item_code, row.hospital_id, row.result_id, row.report_ref) == (
        "IMG-CT-CHEST", "H002", "H002/RPT-77/1", "H002/RPT-77")
    async with rmr.engine.connect() as conn:
        relations = (await conn.execute(select(patient_relations))).all()
    assert [(r.hospital_id, r.patient_id) for r in relations] == [("H002", row.patient_id)]


NID = "11010519491231002X"  # synthetic


def _hl7_time(t: datetime) -> str:
    return t.astimezone(timezone(timedelta(hours=8))).strftime("%Y%m%d%H%M%S+0800")


async def test_a_hospital_reuses_a_recognised_ct_and_the_saving_is_published(start_service, dev_keys,
                                                                            kafka_bootstrap):
    dx = await start_service(DATA_EXCHANGE)
    rmr = await start_service(RMR, data_exchange_grpc=f"127.0.0.1:{dx.grpc_port}")
    admin = {"Authorization": f"Bearer {dev_keys.issue('admin', roles=['alliance_admin'])}"}
    qc = {"Authorization": f"Bearer {dev_keys.issue('qc', roles=['qc_center'])}"}
    h003 = {"Authorization": f"Bearer {dev_keys.issue('his3', hospital_id='H003', roles=['hospital'])}"}
    h004 = {"Authorization": f"Bearer {dev_keys.issue('his4', hospital_id='H004', roles=['hospital'])}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dx.http_port}", headers=admin) as c:
        for hid in ("H002", "H003", "H004"):
            assert (await c.post("/v1/hospitals", json={"hospital_id": hid, "name": f"医院{hid}", "level": "secondary",
                                                        "region_code": "330122", "total_beds": 100})).status_code == 201
        assert (await c.put("/v1/code-maps/H002/item/CT001", json={"alliance_code": "IMG-CT-CHEST"})).status_code == 200
    now = datetime.now(UTC)         # taken just before: a catalog may not take effect in the server's past
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rmr.http_port}/v1") as c:
        r = await c.post("/catalog/versions", headers=admin, json={
            "effective_from": (now + timedelta(seconds=1)).isoformat(),
            "items": [{"item_code": "IMG-CT-CHEST", "name": "胸部CT", "category": "imaging", "validity_days": 90}]})
        assert r.status_code == 201, r.text
        r = await c.post("/qc/eligibility", headers=qc, json={
            "lab_id": "H002", "item_code": "IMG-CT-CHEST", "status": "passed",
            "effective_from": (now - timedelta(days=30)).isoformat(), "reference": "EQA-2026-CT-07"})
        assert r.status_code == 201, r.text
        r = await c.put("/prices/H003", headers=admin, json={
            "effective_from": (now - timedelta(days=1)).isoformat(), "items": [{"item_code": "IMG-CT-CHEST",
                                                                                 "price_fen": 40000}]})
        assert r.status_code == 200, r.text
    await asyncio.sleep(2.2)  # the CT (HL7 time, whole seconds) is taken after the catalog took effect
    taken = _hl7_time(datetime.now(UTC))
    oru = ORU.replace("20261120080000+0800", taken).replace("MRN-9^^^H002^MR", f"MRN-9^^^H002^MR~{NID}^^^CHN^NNCHN") \
        .replace("19800101", "19491231")
    adt = ("MSH|^~\\&|HIS|H003|ALLIANCE|ALLIANCE|20261120083000+0800||ADT^A04^ADT_A01|REG-1|P|2.5.1|||AL|NE||UNICODE UTF-8\r"
           f"PID|1||Z-1^^^H003^MR~{NID}^^^CHN^NNCHN||测试患者乙||19491231|F\r"
           f"PV1|1|O|RAD^^^H003||||||||||||||||V-9|||||||||||||||||||||||||{taken}\r")
    assert (await _send(dx.extras["mllp"].port, oru))["code"] == "AA"
    assert (await _send(dx.extras["mllp"].port, adt))["code"] == "AA"

    async def treating():
        async with rmr.engine.connect() as conn:
            rows = (await conn.execute(select(patient_relations))).all()
            return rows if {r.hospital_id for r in rows} == {"H002", "H003"} else None

    [relation, *_] = await eventually(treating)
    patient_id = relation.patient_id
    await eventually(lambda: _indexed(rmr))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rmr.http_port}/v1") as c:
        r = await c.post("/recognition/checks", headers=h003,
                         json={"patient_id": patient_id, "item_codes": ["IMG-CT-CHEST", "LAB-CBC"]})
        assert r.status_code == 200, r.text
        check = r.json()
        ct, cbc = check["items"]
        assert ct["reason"] is None and ct["recognised"][0]["result_id"] == "H002/RPT-77/1"
        assert cbc["reason"] == "NOT_IN_CATALOG" and cbc["explanation"]
        r = await c.post(f"/recognition/checks/{check['check_id']}/choices", headers=h003,
                         json={"item_code": "IMG-CT-CHEST", "kind": "reuse", "result_id": "H002/RPT-77/1"})
        assert r.status_code == 201 and r.json()["saving_fen"] == 40000, r.text
        again = await c.post(f"/recognition/checks/{check['check_id']}/choices", headers=h003,
                             json={"item_code": "IMG-CT-CHEST", "kind": "reuse", "result_id": "H002/RPT-77/1"})
        assert again.status_code == 409
        by_mrn = await c.post("/recognition/checks", headers=h003, json={"mrn": "Z-1", "item_codes": ["IMG-CT-CHEST"]})
        assert by_mrn.status_code == 200 and by_mrn.json()["items"][0]["recognised"][0]["result_id"] == "H002/RPT-77/1"
        stranger = await c.post("/recognition/checks", headers=h004,
                                json={"patient_id": patient_id, "item_codes": ["IMG-CT-CHEST"]})
        assert stranger.status_code == 404
        rows = (await c.get("/indicators", headers=admin)).json()
        assert [(x["hospital_id"], x["item_code"], x["reused"], x["savings_fen"], x["recognition_rate"])
                for x in rows if x["item_code"] == "IMG-CT-CHEST"] == [("H003", "IMG-CT-CHEST", 1, 40000, 0.5)]  # 2 recognisable checks, 1 reuse
    async with grpc.aio.insecure_channel(f"127.0.0.1:{rmr.grpc_port}") as channel:
        stub = recognition_grpc.RecognitionStub(channel)
        answer = await stub.CheckRecognition(recognition_pb2.CheckRecognitionRequest(
            patient_id=patient_id, item_codes=["IMG-CT-CHEST"]), metadata=bearer_metadata(h003["Authorization"][7:]))
        assert [(i.item_code, i.reason, [x.result_id for x in i.recognised]) for i in answer.items] == [
            ("IMG-CT-CHEST", "", ["H002/RPT-77/1"])]
        listed = await stub.ListRecognisable(recognition_pb2.ListRecognisableRequest(patient_id=patient_id),
                                             metadata=bearer_metadata(h003["Authorization"][7:]))
        assert [(i.item_code, [x.result_id for x in i.recognised]) for i in listed.items] == [
            ("IMG-CT-CHEST", ["H002/RPT-77/1"])]
        # the hospital's own MRN names the patient over gRPC too; another hospital's MRN, or both, do not
        by_mrn = await stub.CheckRecognition(recognition_pb2.CheckRecognitionRequest(
            mrn="Z-1", item_codes=["IMG-CT-CHEST"]), metadata=bearer_metadata(h003["Authorization"][7:]))
        assert [x.result_id for x in by_mrn.items[0].recognised] == ["H002/RPT-77/1"]
        listed = await stub.ListRecognisable(recognition_pb2.ListRecognisableRequest(mrn="Z-1"),
                                             metadata=bearer_metadata(h003["Authorization"][7:]))
        assert [i.item_code for i in listed.items] == ["IMG-CT-CHEST"]
        for request, code in [(recognition_pb2.ListRecognisableRequest(mrn="MRN-9"), grpc.StatusCode.NOT_FOUND),
                              (recognition_pb2.ListRecognisableRequest(mrn="Z-1", patient_id=patient_id),
                               grpc.StatusCode.INVALID_ARGUMENT)]:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.ListRecognisable(request, metadata=bearer_metadata(h003["Authorization"][7:]))
            assert err.value.code() == code
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.CheckRecognition(recognition_pb2.CheckRecognitionRequest(
                patient_id=patient_id, item_codes=["IMG-CT-CHEST"]), metadata=bearer_metadata(h004["Authorization"][7:]))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
    async with rmr.engine.connect() as conn:
        audited = [(r.requesting_hospital, r.outcome) for r in await conn.execute(
            select(checks.c.requesting_hospital, checks.c.outcome).order_by(checks.c.created_at))]
    assert audited == [("H003", "answered"), ("H003", "answered"), ("H004", "denied"), ("H003", "answered"),
                       ("H003", "answered"), ("H003", "answered"), ("H003", "answered"),   # gRPC, by patient_id, by MRN
                       ("H003", "denied"), ("H004", "denied")]                              # H002's MRN; H004
    events = await read_all(kafka_bootstrap, rmr.topic("alliance.results_mutual_recognition.v1"), expected=2)
    decided = [json.loads(e.value)["data"] for e in events if b"RecognitionDecided" in e.value]
    assert [(d["outcome"], d["savingFen"], d["issuingHospital"]) for d in decided] == [("reused", "40000", "H002")]


async def _indexed(rmr):
    async with rmr.engine.connect() as conn:
        return (await conn.execute(select(result_index))).all()
