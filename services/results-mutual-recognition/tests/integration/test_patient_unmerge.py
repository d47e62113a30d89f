"""A merge undone in data-exchange is undone here: each person is offered only their own results again.

Real Kafka and PostgreSQL; data-exchange's events are produced straight onto the broker (synthetic data).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import select

from alliance.data_exchange.v1 import clinical_pb2 as dx
from alliance.results_mutual_recognition.v1 import recognition_pb2
from alliance.results_mutual_recognition.v1 import recognition_pb2_grpc as recognition_grpc
from alliance_auth.grpc import bearer_metadata
from alliance_messaging import CloudEvent, event_from_proto, proto_time
from alliance_testing.helpers import eventually
from results_mutual_recognition.adapters.orm import decisions, patient_merges, result_index
from results_mutual_recognition.bootstrap import SPEC

SURVIVOR, RESTORED = "AP-UM-S", "AP-UM-R"
ITEMS = ["IMG-CT-CHEST", "LAB-CBC"]


class Producer:
    """data-exchange's side of the stream, keyed as data-exchange keys it."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
        self._topic = topic

    async def __aenter__(self) -> Producer:
        await self._producer.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self._producer.stop()

    async def send(self, key: str, message, event: CloudEvent | None = None) -> CloudEvent:
        event = event or event_from_proto(message, source="/data-exchange", subject=key)
        await self._producer.send_and_wait(self._topic, event.to_json_bytes(), key=key.encode())
        return event


def _linked(patient_id: str, hospital_id: str, mrn: str, at: datetime) -> dx.PatientLinked:
    return dx.PatientLinked(patient_id=patient_id, hospital_id=hospital_id, mrn=mrn, decision="NEW",
                            occurred_at=proto_time(at))


def _result(result_id: str, patient_id: str, hospital_id: str, mrn: str, item: str, at: datetime
            ) -> dx.ResultRecorded:
    return dx.ResultRecorded(result_id=result_id, patient_id=patient_id, hospital_id=hospital_id,
                             lab_id=hospital_id, category="imaging" if item.startswith("IMG") else "laboratory",
                             item=dx.CodedValue(code=item), value="synthetic", status="F",
                             effective_at=proto_time(at), report_ref=result_id.rsplit("/", 1)[0],
                             source="hl7v2", mrn=mrn)


@pytest.fixture
async def rmr(start_service, dev_keys):
    rt = await start_service(SPEC)
    admin = {"Authorization": f"Bearer {dev_keys.issue('admin', roles=['alliance_admin'])}"}
    qc = {"Authorization": f"Bearer {dev_keys.issue('qc', roles=['qc_center'])}"}
    now = datetime.now(UTC)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}/v1") as c:
        r = await c.post("/catalog/versions", headers=admin, json={
            "effective_from": (now + timedelta(seconds=1)).isoformat(),
            "items": [{"item_code": "IMG-CT-CHEST", "name": "胸部CT", "category": "imaging", "validity_days": 90},
                      {"item_code": "LAB-CBC", "name": "血常规", "category": "laboratory", "validity_days": 7}]})
        assert r.status_code == 201, r.text
        for lab, item in (("H001", "LAB-CBC"), ("H002", "IMG-CT-CHEST")):
            r = await c.post("/qc/eligibility", headers=qc, json={
                "lab_id": lab, "item_code": item, "status": "passed", "reference": "EQA-SYNTH",
                "effective_from": (now - timedelta(days=30)).isoformat()})
            assert r.status_code == 201, r.text
    rt.extras["produced"] = now + timedelta(seconds=2)      # results are taken after the catalog took effect
    rt.extras["at"] = now + timedelta(hours=1)              # when the doctors ask
    return rt


async def _recognised(rmr, token: str, patient_id: str) -> dict[str, list[str]] | None:
    """item code -> recognised result ids, as the gRPC edge answers a hospital; None when refused."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{rmr.grpc_port}") as channel:
        stub = recognition_grpc.RecognitionStub(channel)
        try:
            answer = await stub.CheckRecognition(recognition_pb2.CheckRecognitionRequest(
                patient_id=patient_id, item_codes=ITEMS, at=proto_time(rmr.extras["at"])),
                metadata=bearer_metadata(token))
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.NOT_FOUND
            return None
        return {i.item_code: [x.result_id for x in i.recognised] for i in answer.items}


async def test_an_unmerge_gives_each_patient_back_only_their_own_results(rmr, kafka_bootstrap, dev_keys):
    h003 = dev_keys.issue("his3", hospital_id="H003", roles=["hospital"])   # treats both (as two registrations)
    h002 = dev_keys.issue("his2", hospital_id="H002", roles=["hospital"])   # treats only the restored person
    produced, t0 = rmr.extras["produced"], datetime.now(UTC)
    async with Producer(kafka_bootstrap, rmr.topic("alliance.data_exchange.v1")) as dx_stream:
        for patient, hospital, mrn in ((SURVIVOR, "H001", "S-1"), (SURVIVOR, "H003", "Z-S"),
                                       (RESTORED, "H002", "A-2"), (RESTORED, "H003", "Z-R")):
            await dx_stream.send(patient, _linked(patient, hospital, mrn, t0))
        await dx_stream.send(SURVIVOR, _result("H001/RPT-S/1", SURVIVOR, "H001", "S-1", "LAB-CBC", produced))
        await dx_stream.send(RESTORED, _result("H002/RPT-R/1", RESTORED, "H002", "A-2", "IMG-CT-CHEST", produced))

        async def both_indexed():
            async with rmr.engine.connect() as conn:
                return len((await conn.execute(select(result_index))).all()) == 2

        await eventually(both_indexed)
        assert await _recognised(rmr, h003, SURVIVOR) == {"IMG-CT-CHEST": [], "LAB-CBC": ["H001/RPT-S/1"]}
        assert await _recognised(rmr, h002, SURVIVOR) is None

        # an administrator merges the two registrations: the survivor now has both results
        await dx_stream.send(SURVIVOR, dx.PatientsMerged(survivor_patient_id=SURVIVOR, absorbed_patient_id=RESTORED,
                                                         by="admin", occurred_at=proto_time(t0 + timedelta(seconds=1))))
        merged = {"IMG-CT-CHEST": ["H002/RPT-R/1"], "LAB-CBC": ["H001/RPT-S/1"]}
        await eventually(lambda: _same(_recognised(rmr, h003, SURVIVOR), merged))
        assert await _recognised(rmr, h002, SURVIVOR) == merged      # H002 treats the merged person
        # while merged, the restored person's MRN brings another result: data-exchange files it on the survivor
        await dx_stream.send(SURVIVOR, _result("H002/RPT-R2/1", SURVIVOR, "H002", "A-2", "IMG-CT-CHEST",
                                               produced + timedelta(seconds=1)))
        merged = {"IMG-CT-CHEST": ["H002/RPT-R2/1", "H002/RPT-R/1"], "LAB-CBC": ["H001/RPT-S/1"]}
        await eventually(lambda: _same(_recognised(rmr, h003, SURVIVOR), merged))
        # a doctor at H003 reuses the CT for the merged patient: that decision is history and stays
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rmr.http_port}/v1",
                                     headers={"Authorization": f"Bearer {h003}"}) as c:
            r = await c.post("/recognition/checks", json={"patient_id": SURVIVOR, "item_codes": ["IMG-CT-CHEST"],
                                                          "at": rmr.extras["at"].isoformat()})
            check_id = r.json()["check_id"]
            r = await c.post(f"/recognition/checks/{check_id}/choices",
                             json={"item_code": "IMG-CT-CHEST", "kind": "reuse", "result_id": "H002/RPT-R/1"})
            assert r.status_code == 201, r.text

        # the merge was wrong: undone, with exactly the MRNs the merge had moved
        unmerge = await dx_stream.send(SURVIVOR, dx.PatientsUnmerged(
            survivor_patient_id=SURVIVOR, restored_patient_id=RESTORED, by="admin",
            occurred_at=proto_time(t0 + timedelta(seconds=2)),
            restored_mrns=[dx.HospitalMrn(hospital_id="H002", mrn="A-2"), dx.HospitalMrn(hospital_id="H003",
                                                                                         mrn="Z-R")]))
        survivor_only = {"IMG-CT-CHEST": [], "LAB-CBC": ["H001/RPT-S/1"]}
        restored_only = {"IMG-CT-CHEST": ["H002/RPT-R2/1", "H002/RPT-R/1"], "LAB-CBC": []}
        await eventually(lambda: _same(_recognised(rmr, h003, SURVIVOR), survivor_only))
        assert await _recognised(rmr, h003, RESTORED) == restored_only
        assert await _recognised(rmr, h002, RESTORED) == restored_only
        assert await _recognised(rmr, h002, SURVIVOR) is None          # H002 only ever treated the other person
        async with rmr.engine.connect() as conn:
            state = await _state(conn)
            [decision] = (await conn.execute(select(decisions))).all()
        assert (decision.patient_id, decision.result_id, decision.outcome) == (SURVIVOR, "H002/RPT-R/1", "reused")
        assert state["results"] == {"H001/RPT-S/1": (SURVIVOR, False), "H002/RPT-R/1": (RESTORED, False),
                                    "H002/RPT-R2/1": (RESTORED, False)}

        # the same unmerge again (redelivered, and re-published under a new event id): nothing changes
        await dx_stream.send(SURVIVOR, None, event=unmerge)
        await dx_stream.send(SURVIVOR, dx.PatientsUnmerged(
            survivor_patient_id=SURVIVOR, restored_patient_id=RESTORED, by="admin",
            occurred_at=proto_time(t0 + timedelta(seconds=2)),
            restored_mrns=[dx.HospitalMrn(hospital_id="H002", mrn="A-2")]))
        # a later event on the same key shows the replays were consumed before it
        await dx_stream.send(SURVIVOR, _result("H001/RPT-S2/1", SURVIVOR, "H001", "S-1", "LAB-CBC",
                                               produced + timedelta(seconds=2)))

        async def marker_indexed():
            async with rmr.engine.connect() as conn:
                return (await conn.execute(select(result_index).where(
                    result_index.c.result_id == "H001/RPT-S2/1"))).first()

        await eventually(marker_indexed)
        async with rmr.engine.connect() as conn:
            after = await _state(conn)
        assert after["results"] == {**state["results"], "H001/RPT-S2/1": (SURVIVOR, False)}
        assert after["merges"] == state["merges"]
        assert await _recognised(rmr, h003, RESTORED) == restored_only
        assert rmr.consumer.duplicates >= 1


async def test_a_result_that_cannot_be_attributed_is_offered_to_nobody(rmr, kafka_bootstrap, dev_keys):
    """Without the MRN on the result (an older data-exchange), a result filed on the survivor while merged
    from a hospital a restored MRN belongs to is withheld; one from elsewhere stays with the survivor."""
    h003 = dev_keys.issue("his3", hospital_id="H003", roles=["hospital"])
    produced, t0 = rmr.extras["produced"], datetime.now(UTC)
    async with Producer(kafka_bootstrap, rmr.topic("alliance.data_exchange.v1")) as dx_stream:
        for patient, hospital, mrn in ((SURVIVOR, "H001", "S-1"), (SURVIVOR, "H003", "Z-S"),
                                       (RESTORED, "H002", "A-2"), (RESTORED, "H003", "Z-R")):
            await dx_stream.send(patient, _linked(patient, hospital, mrn, t0))
        await dx_stream.send(SURVIVOR, dx.PatientsMerged(survivor_patient_id=SURVIVOR, absorbed_patient_id=RESTORED,
                                                         by="admin", occurred_at=proto_time(t0)))
        # filed on the survivor while merged, without the MRN it came under
        await dx_stream.send(SURVIVOR, _result("H002/RPT-X/1", SURVIVOR, "H002", "", "IMG-CT-CHEST", produced))
        await dx_stream.send(SURVIVOR, _result("H001/RPT-Y/1", SURVIVOR, "H001", "", "LAB-CBC", produced))
        await eventually(lambda: _same(_recognised(rmr, h003, SURVIVOR),
                                       {"IMG-CT-CHEST": ["H002/RPT-X/1"], "LAB-CBC": ["H001/RPT-Y/1"]}))
        await dx_stream.send(SURVIVOR, dx.PatientsUnmerged(
            survivor_patient_id=SURVIVOR, restored_patient_id=RESTORED, by="admin",
            occurred_at=proto_time(t0 + timedelta(seconds=1)),
            restored_mrns=[dx.HospitalMrn(hospital_id="H002", mrn="A-2"),
                           dx.HospitalMrn(hospital_id="H003", mrn="Z-R")]))
        await eventually(lambda: _same(_recognised(rmr, h003, SURVIVOR),
                                       {"IMG-CT-CHEST": [], "LAB-CBC": ["H001/RPT-Y/1"]}))
        assert await _recognised(rmr, h003, RESTORED) == {"IMG-CT-CHEST": [], "LAB-CBC": []}
        async with rmr.engine.connect() as conn:
            assert (await _state(conn))["results"] == {"H002/RPT-X/1": (SURVIVOR, True),
                                                       "H001/RPT-Y/1": (SURVIVOR, False)}


async def _same(answer, expected) -> bool:
    return (await answer) == expected


async def _state(conn) -> dict:
    results = {r.result_id: (r.patient_id, r.withheld) for r in await conn.execute(select(result_index))}
    merges = [(r.survivor_id, r.absorbed_id, r.unmerged_at is not None)
              for r in await conn.execute(select(patient_merges).order_by(patient_merges.c.merge_id))]
    return {"results": results, "merges": merges}
