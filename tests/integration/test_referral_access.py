"""Across three services: accepting a referral opens the patient's summary and results to the receiving hospital."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest
from sqlalchemy import select

from alliance.data_exchange.v1 import clinical_pb2, clinical_pb2_grpc
from alliance_auth.grpc import bearer_metadata
from alliance_testing.helpers import eventually
from data_exchange.bootstrap import SPEC as DATA_EXCHANGE
from data_exchange.entrypoints import mllp
from data_exchange.hl7 import ack_fields
from referral.adapters.orm import encounters as ref_encounters
from referral.adapters.orm import member_hospitals
from referral.adapters.store import rule_to_json
from referral.bootstrap import SPEC as REFERRAL
from referral.domain.rules import sample_rules
from results_mutual_recognition.adapters.orm import patient_relations
from results_mutual_recognition.bootstrap import SPEC as RMR

NID = "11010519491231002X"  # synthetic
ADT = ("MSH|^~\\&|HIS|H002|ALLIANCE|ALLIANCE|20261120083000+0800||ADT^A01^ADT_A01|ACC-1|P|2.5.1|||AL|NE||UNICODE UTF-8\r"
       f"PID|1||Z-7^^^H002^MR~{NID}^^^CHN^NNCHN||测试患者丙||19491231|F\r"
       "PV1|1|I|IM^^^H002||||||||||||||||V-7|||||||||||||||||||||||||20261120083000+0800\r")


async def _send(port: int, message: str) -> dict:
    return ack_fields(await mllp.send("127.0.0.1", port, message.encode()))


async def test_the_receiving_hospital_sees_the_referred_patient_only_after_accepting(start_service, dev_keys):
    dx, rmr = await start_service(DATA_EXCHANGE), await start_service(RMR)
    ref = await start_service(REFERRAL, data_exchange_grpc=f"127.0.0.1:{dx.grpc_port}",
                              recognition_grpc=f"127.0.0.1:{rmr.grpc_port}")
    token = {h: dev_keys.issue(f"his-{h}", hospital_id=h, roles=["hospital"]) for h in ("H001", "H002")}
    admin = {"Authorization": f"Bearer {dev_keys.issue('admin', roles=['alliance_admin'])}"}
    async with httpx.AsyncClient(headers=admin) as c:
        for hid, level, specs in (("H001", "tertiary", ["cardiology"]), ("H002", "secondary", ["internal_medicine"])):
            r = await c.post(f"http://127.0.0.1:{dx.http_port}/v1/hospitals", json={
                "hospital_id": hid, "name": f"医院{hid}", "level": level, "region_code": "330100",
                "specialties": specs, "total_beds": 300})
            assert r.status_code == 201
        now = datetime.now(UTC)
        r = await c.post(f"http://127.0.0.1:{ref.http_port}/v1/rules/versions", json={
            "effective_from": (now + timedelta(seconds=1)).isoformat(),
            "rules": [rule_to_json(x) for x in sample_rules().rules]})
        assert r.status_code == 201

    async def registry_reached_referral():
        async with ref.engine.connect() as conn:
            return len((await conn.execute(select(member_hospitals))).all()) == 2

    await eventually(registry_reached_referral)
    assert (await _send(dx.extras["mllp"].port, ADT))["code"] == "AA"
    async with dx.engine.connect() as conn:
        from data_exchange.adapters.orm import patient_links
        patient_id = (await conn.execute(select(patient_links.c.patient_id))).scalar_one()

    async def summary(hospital: str):
        async with grpc.aio.insecure_channel(f"127.0.0.1:{dx.grpc_port}") as channel:
            return await clinical_pb2_grpc.PatientIndexStub(channel).GetPatientSummary(
                clinical_pb2.GetPatientSummaryRequest(patient_id=patient_id, purpose="referral handoff"),
                metadata=bearer_metadata(token[hospital]))

    with pytest.raises(grpc.aio.AioRpcError) as before:
        await summary("H001")
    assert before.value.code() == grpc.StatusCode.NOT_FOUND
    await asyncio.sleep(1.0)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ref.http_port}/v1") as c:
        beds = await c.put("/beds/H001/cardiology", json={"available": 10, "total": 60},
                           headers={"Authorization": f"Bearer {token['H001']}"})
        assert beds.status_code == 200
        r = await c.post("/referrals", json={"patient_id": patient_id, "diagnosis_code": "I21.0",
                                             "severity": "severe"}, headers={"Authorization": f"Bearer {token['H002']}"})
        assert r.status_code == 201, r.text
        referral_id = r.json()["referral"]["referral_id"]
        accepted = await c.post(f"/referrals/{referral_id}/accept", headers={"Authorization": f"Bearer {token['H001']}"})
        assert accepted.status_code == 200

    async def granted():
        try:
            return await summary("H001")
        except grpc.aio.AioRpcError:
            return None

    found = await eventually(granted)
    assert found.name == "测试患者丙" and found.national_id_masked == "110105********002X"

    async def rmr_knows():
        async with rmr.engine.connect() as conn:
            rows = (await conn.execute(select(patient_relations.c.hospital_id))).all()
            return {r.hospital_id for r in rows} == {"H001", "H002"}

    await eventually(rmr_knows)

    async with httpx.AsyncClient(headers=admin) as c:
        assert (await c.put(f"http://127.0.0.1:{dx.http_port}/v1/code-maps/H002/department/IM",
                            json={"alliance_code": "DEP-IM"})).status_code == 200
    a03 = ("MSH|^~\\&|HIS|H002|ALLIANCE|ALLIANCE|20261121083000+0800||ADT^A03^ADT_A03|ACC-2|P|2.5.1|||AL|NE||UNICODE UTF-8\r"
           f"PID|1||Z-7^^^H002^MR~{NID}^^^CHN^NNCHN||测试患者丙||19491231|F\r"
           "PV1|1|I|IM^^^H002||||||||||||||||V-7|||||||||||||||||||||||||20261120083000+0800|20261121080000+0800\r"
           "DG1|1||I10^高血压^ICD-10|||F||||||||||1\r")
    assert (await _send(dx.extras["mllp"].port, a03))["code"] == "AA"

    async def stay_counted():
        async with ref.engine.connect() as conn:
            return (await conn.execute(select(ref_encounters))).all()

    [stay] = await eventually(stay_counted)
    assert (stay.hospital_id, stay.diagnosis_code, stay.encounter_id) == ("H002", "I10", "H002/V-7")

    async def handoff():
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ref.http_port}/v1") as c:
            r = await c.get(f"/referrals/{referral_id}/handoff", headers={"Authorization": f"Bearer {token['H001']}"})
            return r.json() if r.status_code == 200 else None

    packet = await eventually(handoff)
    assert packet["patient"]["name"] == "测试患者丙" and packet["recognisable_results"] == []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ref.http_port}/v1") as c:
        origin = await c.get(f"/referrals/{referral_id}/handoff", headers={"Authorization": f"Bearer {token['H002']}"})
    assert origin.status_code == 404          # readable by the receiving hospital only
