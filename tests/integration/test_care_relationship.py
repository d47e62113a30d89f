"""Across data-exchange, referral and results-mutual-recognition: a patient is reachable only through a care
relationship — the hospital's own MRN, or an accepted referral naming it, for that episode, bounded, revocable,
visible and audited. A request alone never opens access (issue 12, findings 1 and 2)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import grpc
import httpx
from sqlalchemy import select

from alliance.data_exchange.v1 import clinical_pb2, clinical_pb2_grpc
from alliance_auth.grpc import bearer_metadata
from alliance_messaging import dlq_topic, ensure_topics
from alliance_testing.helpers import eventually
from data_exchange.adapters.orm import audit_log, patient_links
from data_exchange.bootstrap import SPEC as DATA_EXCHANGE
from data_exchange.entrypoints import mllp
from data_exchange.hl7 import ack_fields
from referral.adapters.orm import member_hospitals
from referral.adapters.store import rule_to_json
from referral.bootstrap import SPEC as REFERRAL
from referral.domain.rules import sample_rules
from results_mutual_recognition.bootstrap import SPEC as RMR

NID = "11010519491231002X"  # synthetic
PID = f"PID|1||Z-7^^^H002^MR~{NID}^^^CHN^NNCHN||测试患者丙||19491231|F\r"
ADT = ("MSH|^~\\&|HIS|H002|ALLIANCE|ALLIANCE|20261120083000+0800||ADT^A01^ADT_A01|CARE-1|P|2.5.1|||AL|NE||UNICODE UTF-8\r"
       + PID + "PV1|1|I|IM^^^H002||||||||||||||||V-7|||||||||||||||||||||||||20261120083000+0800\r")
ORU = ("MSH|^~\\&|LIS|H002|ALLIANCE|ALLIANCE|20261120093000+0800||ORU^R01^ORU_R01|CARE-2|P|2.5.1|||AL|NE||UNICODE UTF-8\r"
       + PID + "OBR|1|PL-1|RPT-7|CBC^血常规^L|||20261120080000+0800||||||||||||||||LAB|F\r"
       "OBX|1|NM|WBC^白细胞计数^L||5.6|10*9/L|3.5-9.5|N|||F|||20261120080000+0800\r")
GRANT = timedelta(seconds=45)          # a referral's access, short so that expiry is seen in the test


async def test_access_follows_the_care_relationship_and_ends_with_the_grant(start_service, dev_keys,
                                                                          kafka_bootstrap):
    dx = await start_service(DATA_EXCHANGE, start=False, referral_access_duration=GRANT)
    # The referral stream exists before anyone subscribes: a topic created at subscription time can miss the
    # first assignment (aiokafka: "no partition metadata"), and then ReferralAccepted would wait minutes.
    topics = [dx.topic(t) for t in ("alliance.referral.v1", "alliance.data_exchange.v1")]
    s = dx.settings
    await ensure_topics(kafka_bootstrap, topics + [dlq_topic(t) for t in topics], s.topic_partitions,
                        s.topic_replication_factor, s.kafka_security)
    await asyncio.sleep(1.0)
    await dx.start()
    rmr = await start_service(RMR, data_exchange_grpc=f"127.0.0.1:{dx.grpc_port}", referral_access_duration=GRANT)
    ref = await start_service(REFERRAL, data_exchange_grpc=f"127.0.0.1:{dx.grpc_port}",
                              recognition_grpc=f"127.0.0.1:{rmr.grpc_port}")
    tokens = {h: dev_keys.issue(f"his-{h}", hospital_id=h, roles=["hospital"]) for h in ("H001", "H002", "H003")}
    tokens |= {role: dev_keys.issue(role, roles=[role]) for role in ("alliance_admin", "regulator", "supplier",
                                                                      "qc_center")}

    def client(who: str, port: int, prefix: str = "/v1") -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}{prefix}",
                                 headers={"Authorization": f"Bearer {tokens[who]}"})

    async with client("alliance_admin", dx.http_port) as c:
        for hid, level, specs in (("H001", "tertiary", ["cardiology"]), ("H002", "secondary", ["internal_medicine"]),
                                  ("H003", "secondary", ["internal_medicine"])):
            r = await c.post("/hospitals", json={"hospital_id": hid, "name": f"医院{hid}", "level": level,
                                                 "region_code": "330100", "specialties": specs, "total_beds": 300})
            assert r.status_code == 201
        for local, alliance in (("CBC", "LAB-CBC"), ("WBC", "LAB-WBC")):     # mapped results are not held
            assert (await c.put(f"/code-maps/H002/item/{local}", json={"alliance_code": alliance})).status_code == 200
    for message in (ADT, ORU):
        assert ack_fields(await mllp.send("127.0.0.1", dx.extras["mllp"].port, message.encode()))["code"] == "AA"
    async with dx.engine.connect() as conn:
        patient = (await conn.execute(select(patient_links.c.patient_id))).scalar_one()

    async def registry_reached_referral():
        async with ref.engine.connect() as conn:
            return len((await conn.execute(select(member_hospitals))).all()) == 3

    await eventually(registry_reached_referral)
    async with client("alliance_admin", ref.http_port) as c:
        r = await c.post("/rules/versions", json={"effective_from": (datetime.now(UTC) + timedelta(seconds=2))
                                                  .isoformat(), "rules": [rule_to_json(x) for x in sample_rules().rules]})
        assert r.status_code == 201
    await asyncio.sleep(2.1)
    async with client("H001", ref.http_port) as h001:
        assert (await h001.put("/beds/H001/cardiology", json={"available": 10, "total": 60})).status_code == 200

    async def summary(hospital: str):
        async with grpc.aio.insecure_channel(f"127.0.0.1:{dx.grpc_port}") as channel:
            return await clinical_pb2_grpc.PatientIndexStub(channel).GetPatientSummary(
                clinical_pb2.GetPatientSummaryRequest(patient_id=patient, purpose="care relationship test"),
                metadata=bearer_metadata(tokens[hospital]))

    async def reads(hospital: str) -> dict:
        """What `hospital` can read of the patient: summary, FHIR search and read, a recognition check."""
        try:
            await summary(hospital)
            summary_code = grpc.StatusCode.OK
        except grpc.aio.AioRpcError as exc:
            summary_code = exc.code()
        async with client(hospital, dx.http_port, "/fhir") as fhir, client(hospital, rmr.http_port) as recog:
            found = (await fhir.get("/Observation", params={"patient": patient})).json().get("entry", [])
            read = await fhir.get(f"/Observation/{observation}")
            check = await recog.post("/recognition/checks", json={"patient_id": patient, "item_codes": ["WBC"]})
        return {"summary": summary_code, "search": len(found), "read": read.status_code, "check": check.status_code}

    async with client("H002", dx.http_port, "/fhir") as h002:
        [entry] = (await h002.get("/Observation", params={"patient": patient})).json()["entry"]
        observation = entry["resource"]["id"]
    nothing = {"summary": grpc.StatusCode.NOT_FOUND, "search": 0, "read": 404, "check": 404}

    # (a) a hospital that never treated the patient cannot refer them, and nobody is opened to them
    async with client("H003", ref.http_port) as h003:
        refused = await h003.post("/referrals", json={"patient_id": patient, "diagnosis_code": "I21.0",
                                                      "severity": "severe"})
        unknown = await h003.post("/referrals", json={"patient_id": "AP-NOBODY", "diagnosis_code": "I21.0",
                                                      "severity": "severe"})
        by_other_mrn = await h003.post("/referrals", json={"mrn": "Z-7", "diagnosis_code": "I21.0",
                                                           "severity": "severe"})
    assert (refused.status_code, unknown.status_code, by_other_mrn.status_code) == (404, 404, 404)
    assert refused.json()["detail"] == unknown.json()["detail"]            # existence is not revealed
    async with client("H001", ref.http_port) as h001:
        assert (await h001.get("/referrals")).json() == []
    assert await reads("H001") == nothing and await reads("H003") == nothing

    # (b) the treating hospital refers by its own MRN; the receiving hospital accepts and reads
    async def refer_and_accept(who: dict) -> str:
        async with client("H002", ref.http_port) as h002, client("H001", ref.http_port) as h001:
            r = await h002.post("/referrals", json={**who, "diagnosis_code": "I21.0", "severity": "severe"})
            assert r.status_code == 201, r.text
            assert r.json()["referral"]["patient_id"] == patient
            referral_id = r.json()["referral"]["referral_id"]
            assert (await h001.post(f"/referrals/{referral_id}/accept")).status_code == 200
        return referral_id

    async def handoff(referral_id: str) -> httpx.Response:
        async with client("H001", ref.http_port) as h001:
            return await h001.get(f"/referrals/{referral_id}/handoff")

    async def readable(referral_id: str):
        packet = await handoff(referral_id)
        return packet.json() if packet.status_code == 200 else None

    first = await refer_and_accept({"mrn": "Z-7"})
    assert (await eventually(lambda: readable(first)))["patient"]["name"] == "测试患者丙"
    assert await reads("H001") == {"summary": grpc.StatusCode.OK, "search": 1, "read": 200, "check": 200}
    assert await reads("H003") == nothing

    # (e) a referral is read by its parties and administrators only
    for role in ("supplier", "qc_center", "regulator"):
        async with client(role, ref.http_port) as c:
            assert (await c.get(f"/referrals/{first}")).status_code == 403
    async with client("H003", ref.http_port) as h003:
        assert (await h003.get(f"/referrals/{first}")).status_code == 404

    # (c, d) revoked: the referring hospital holding the patient's MRN revokes; the receiving one may not
    async with client("H001", dx.http_port) as h001, client("H002", dx.http_port) as h002:
        assert (await h001.post(f"/patient-access-grants/{first}/revoke", json={"reason": "x"})).status_code == 403
        [listed] = (await h001.get("/patient-access-grants")).json()
        assert (listed["referral_id"], listed["hospital_id"], listed["status"]) == (first, "H001", "active")
        revoked = await h002.post(f"/patient-access-grants/{first}/revoke", json={"reason": "sent in error"})
        assert revoked.status_code == 200, revoked.text
        [grant] = revoked.json()
        assert (grant["status"], grant["revoked_by"], grant["revoke_reason"]) == ("revoked", "his-H002",
                                                                                  "sent in error")
    async with client("H003", dx.http_port) as h003:
        assert (await h003.get("/patient-access-grants")).json() == []
        assert (await h003.post(f"/patient-access-grants/{first}/revoke", json={"reason": "x"})).status_code == 404
    async with client("regulator", dx.http_port) as regulator:
        [seen] = (await regulator.get("/patient-access-grants")).json()
        assert seen["status"] == "revoked"
        assert (await regulator.post(f"/patient-access-grants/{first}/revoke",
                                     json={"reason": "x"})).status_code == 403
    # data-exchange ends access at once; the recognition service as soon as PatientAccessRevoked reaches it
    assert (await handoff(first)).status_code == 404
    ended = nothing | {"summary": grpc.StatusCode.PERMISSION_DENIED}

    async def revoked_everywhere():
        return await reads("H001") == ended or None

    await eventually(revoked_everywhere)

    # (b) by alliance id, a new episode; (c) it ends by itself when its bound passes
    second = await refer_and_accept({"patient_id": patient})
    assert (await eventually(lambda: readable(second)))["patient"]["name"] == "测试患者丙"
    assert await reads("H001") == {"summary": grpc.StatusCode.OK, "search": 1, "read": 200, "check": 200}
    async with client("H001", dx.http_port) as h001:
        grants = {g["referral_id"]: g for g in (await h001.get("/patient-access-grants")).json()}
    assert (grants[first]["status"], grants[second]["status"]) == ("revoked", "active")
    expires = datetime.fromisoformat(grants[second]["expires_at"])
    await asyncio.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 1)
    assert (await handoff(second)).status_code == 404
    assert await reads("H001") == ended
    async with client("H002", dx.http_port) as h002:
        assert {g["status"] for g in (await h002.get("/patient-access-grants")).json()} == {"revoked", "expired"}
    assert await reads("H002") == {"summary": grpc.StatusCode.OK, "search": 1, "read": 200, "check": 200}

    async with dx.engine.connect() as conn:
        audit = [tuple(r) for r in await conn.execute(select(audit_log.c.hospital_id, audit_log.c.action,
                                                             audit_log.c.resource, audit_log.c.outcome))]
    assert ("H002", "revoke", f"PatientAccessGrant/{first}", "applied") in audit
    assert ("H001", "revoke", f"PatientAccessGrant/{first}", "denied-or-unknown") in audit
    assert sum(1 for x in audit if x[1] == "grant") == 2                        # one per accepted referral
    assert ("H003", "read-summary", "PatientSummary", "denied-or-unknown") in audit
