"""What arrives as HL7 v2 is readable over FHIR (scoped, audited, held data hidden, no duplicates), and the
gRPC patient summary carries the patient's recent discharges. Real MLLP, database and broker; synthetic data."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest
from sqlalchemy import insert, select

from alliance.data_exchange.v1 import clinical_pb2 as pb
from alliance.data_exchange.v1 import clinical_pb2_grpc as pb_grpc
from alliance_auth.grpc import bearer_metadata
from data_exchange.adapters.orm import (
    audit_log,
    fhir_resources,
    patient_access_grants,
    patient_links,
)
from data_exchange.bootstrap import SPEC
from data_exchange.fhir import systems
from data_exchange.hl7 import MllpDecoder, ack_fields, frame

NID = "11010519491231002X"  # synthetic, checksum-valid
ITEMS_H002 = systems.local_items_system("H002")
HL7V2_TAG = {"system": systems.DATA_ORIGIN, "code": "hl7v2", "display": "received as HL7 v2"}


def oru(control: str, *, report: str = "RPT-9001", wbc_code: str = "WBC", wbc: str = "5.6", status: str = "F",
        mrn: str = "MRN-77") -> str:
    return "\r".join([
        f"MSH|^~\\&|LIS|H002|ALLIANCE|ALLIANCE|20261123083000+0800||ORU^R01^ORU_R01|{control}|P|2.5.1"
        "|||AL|NE||UNICODE UTF-8",
        f"PID|1||{mrn}^^^H002^MR~{NID}^^^CHN^NNCHN||张三丰||19491231|M|||||13812345678",
        f"OBR|1|PL-1|{report}|CBC^血常规^L|||20261123080000+0800||||||||||||||||LAB|F",
        f"OBX|1|NM|{wbc_code}^白细胞计数^L||{wbc}|10*9/L|3.5-9.5|N|||{status}|||20261123080000+0800",
        "OBX|2|NM|HGB^血红蛋白^L||135|g/L|130-175|N|||F|||20261123080000+0800",
    ]) + "\r"


def adt(event: str, control: str, *, visit: str = "V-2001", facility: str = "H001", mrn: str = "ZY-5001",
        nid: str | None = NID, admitted: str = "20261120081500", discharged: str = "20261123090000",
        charge: str = "330201001", name: str = "张三丰", phone: str = "") -> str:
    pv1 = [""] * 46
    pv1[1:4] = ["1", "I", f"CARD^^^{facility}"]
    pv1[19], pv1[44] = visit, admitted
    pv1[45] = discharged if event == "A03" else ""
    lines = [
        f"MSH|^~\\&|HIS|{facility}|ALLIANCE|ALLIANCE|20261123093000+0800||ADT^{event}^ADT_{event}|{control}|P|2.5.1"
        "|||AL|NE||UNICODE UTF-8",
        f"EVN|{event}|20261123093000",
        f"PID|1||{mrn}^^^{facility}^MR" + (f"~{nid}^^^CHN^NNCHN" if nid else "") + f"||{name}||19491231|M"
        + (f"|||||{phone}" if phone else ""),
        "|".join(["PV1", *pv1[1:]]),
    ]
    if event == "A03":
        lines += ["DG1|1||I21.9^急性心肌梗死^ICD-10|||F||||||||||1",
                  "PR1|1||36.06^冠状动脉药物洗脱支架置入术^ICD-9-CM-3||20261121103000",
                  "FT1|1|||20261121||CG|250101001^血常规^LOCAL|||2|25.00",
                  f"FT1|2|||20261121||CG|{charge}^支架^LOCAL|||1|12345.67"]
    return "\r".join(lines) + "\r"


async def send(port: int, *messages: str, expect: str = "AA") -> list[dict]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    decoder, acks = MllpDecoder(), []
    try:
        for message in messages:
            writer.write(frame(message.encode()))
            await writer.drain()
            while True:
                got = [x for x in decoder.feed(await asyncio.wait_for(reader.read(65536), 20)) if isinstance(x, bytes)]
                if got:
                    acks += [ack_fields(a) for a in got]
                    break
    finally:
        writer.close()
        await writer.wait_closed()
    for ack in acks:
        assert ack["code"] == expect, ack
    return acks


@pytest.fixture
async def dx(start_service, dev_keys):
    rt = await start_service(SPEC)
    admin = {"Authorization": f"Bearer {dev_keys.issue('admin', roles=['alliance_admin'])}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", headers=admin) as c:
        for hid in ("H001", "H002", "H003"):
            r = await c.post("/v1/hospitals", json={"hospital_id": hid, "name": f"医院{hid}", "level": "secondary",
                                                    "region_code": "330122", "total_beds": 100})
            assert r.status_code == 201
        for hospital, kind, local, alliance in [
                ("H002", "item", "CBC", "LAB-CBC"), ("H002", "item", "WBC", "LAB-WBC"), ("H002", "item", "HGB", "LAB-HGB"),
                ("H001", "department", "CARD", "DEP-CARD"), ("H001", "charge", "250101001", "laboratory"),
                ("H001", "charge", "330201001", "consumables"), ("H002", "department", "CARD", "DEP-CARD"),
                ("H002", "charge", "250101001", "laboratory"), ("H002", "charge", "330201001", "consumables")]:
            r = await c.put(f"/v1/code-maps/{hospital}/{kind}/{local}", json={"alliance_code": alliance})
            assert r.status_code == 200, r.text

    def fhir_client(hospital: str) -> httpx.AsyncClient:
        token = dev_keys.issue(f"his-{hospital}", hospital_id=hospital, roles=["hospital"])
        return httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}/fhir",
                                 headers={"Authorization": f"Bearer {token}"})

    rt.extras.update(fhir=fhir_client, admin=admin, port=rt.extras["mllp"].port)
    return rt


async def patient_of(dx, hospital: str, mrn: str) -> str:
    async with dx.engine.connect() as conn:
        return (await conn.execute(select(patient_links.c.patient_id).where(
            patient_links.c.hospital_id == hospital, patient_links.c.mrn == mrn))).scalar_one()


def entries(response: httpx.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resourceType"] == "Bundle" and body["type"] == "searchset"
    return [e["resource"] for e in body.get("entry", [])]


async def test_an_oru_is_found_over_fhir_by_patient_code_and_id_and_only_by_whom_may_see_it(dx):
    await send(dx.extras["port"], oru("R-1"))
    patient = await patient_of(dx, "H002", "MRN-77")
    async with dx.extras["fhir"]("H002") as h002, dx.extras["fhir"]("H003") as h003:
        observations = entries(await h002.get("/Observation", params={"patient": patient}))
        assert sorted(o["code"]["coding"][0]["code"] for o in observations) == ["LAB-HGB", "LAB-WBC"]
        for o in observations:
            assert o["meta"]["tag"] == [HL7V2_TAG] and o["meta"]["source"].endswith("/hl7v2/H002")
            assert o["meta"]["versionId"] == "1"
            assert o["subject"]["identifier"] == {"system": systems.mrn_system("H002"), "value": "MRN-77"}
        for code in ("WBC", f"{ITEMS_H002}|WBC", f"{systems.ALLIANCE_ITEM}|LAB-WBC", "LAB-WBC"):
            [wbc] = entries(await h002.get("/Observation", params={"patient": f"Patient/{patient}", "code": code}))
            assert wbc["valueQuantity"] == {"value": 5.6, "unit": "10*9/L"}, code
        assert entries(await h002.get("/Observation", params={"code": "WBC", "date": "lt2026-11-01"})) == []
        [report] = entries(await h002.get("/DiagnosticReport", params={"subject": patient, "code": "CBC"}))
        assert sorted(r["reference"] for r in report["result"]) == sorted(f"Observation/{o['id']}" for o in observations)
        assert report["identifier"] == [{"system": systems.filler_order_system("H002"), "value": "RPT-9001"}]
        read = await h002.get(f"/Observation/{wbc['id']}")
        assert read.status_code == 200 and read.json() == wbc and read.headers["etag"] == 'W/"1"'
        assert (await h002.get(f"/DiagnosticReport/{report['id']}")).status_code == 200
        # another hospital, neither treating nor referred: nothing, and the reads are audited as denied
        assert entries(await h003.get("/Observation", params={"patient": patient})) == []
        assert entries(await h003.get("/DiagnosticReport")) == []
        denied = await h003.get(f"/Observation/{wbc['id']}")
        assert denied.status_code == 404 and denied.json()["resourceType"] == "OperationOutcome"
        # once the patient is referred to it, it sees them like FHIR-posted data
        async with dx.engine.begin() as conn:
            await conn.execute(insert(patient_access_grants).values(
                hospital_id="H003", patient_id=patient, referral_id="R-1",
                expires_at=datetime.now(UTC) + timedelta(days=1)))
        assert len(entries(await h003.get("/Observation", params={"patient": patient}))) == 2
        assert (await h003.get(f"/Observation/{wbc['id']}")).status_code == 200
    async with dx.engine.connect() as conn:
        audits = [tuple(r) for r in await conn.execute(
            select(audit_log.c.hospital_id, audit_log.c.action, audit_log.c.outcome, audit_log.c.patient_id)
            .where(audit_log.c.action == "read").order_by(audit_log.c.audit_id))]
    assert audits == [("H002", "read", "allowed", patient), ("H002", "read", "allowed", patient),
                      ("H003", "read", "denied-or-unknown", None), ("H003", "read", "allowed", patient)]


async def test_a_resent_or_corrected_oru_updates_the_same_resources(dx):
    port = dx.extras["port"]
    await send(port, oru("R-1"), oru("R-1"))                       # the same message twice: one ACK replayed
    await send(port, oru("R-2"))                                   # the same content under a new control id
    async with dx.extras["fhir"]("H002") as h002:
        [first] = entries(await h002.get("/Observation", params={"code": "WBC"}))
        assert first["meta"]["versionId"] == "1"
        await send(port, oru("R-3", wbc="6.1", status="C"))        # a correction
        found = entries(await h002.get("/Observation"))
        assert len(found) == 2 and len(entries(await h002.get("/DiagnosticReport"))) == 1
        [corrected] = entries(await h002.get("/Observation", params={"code": "WBC"}))
    assert corrected["id"] == first["id"] and corrected["meta"]["versionId"] == "2"
    assert (corrected["status"], corrected["valueQuantity"]["value"]) == ("corrected", 6.1)
    async with dx.engine.connect() as conn:
        rows = (await conn.execute(select(fhir_resources.c.resource_type, fhir_resources.c.version))).all()
    assert sorted(tuple(r) for r in rows) == [("DiagnosticReport", 2), ("Observation", 1), ("Observation", 2),
                                              ("Patient", 1)]             # one Patient, unchanged by resends
    # a report resent without a line no longer serves that line
    without_hgb = "\r".join(s for s in oru("R-4", wbc="6.1", status="C").split("\r") if not s.startswith("OBX|2"))
    await send(port, without_hgb)
    async with dx.extras["fhir"]("H002") as h002:
        assert [o["id"] for o in entries(await h002.get("/Observation"))] == [first["id"]]
        [report] = entries(await h002.get("/DiagnosticReport"))
    assert report["result"] == [{"reference": f"Observation/{first['id']}"}] and report["meta"]["versionId"] == "3"


async def test_a_held_result_is_invisible_until_its_code_is_mapped(dx):
    await send(dx.extras["port"], oru("H-1", report="RPT-9002", wbc_code="WBC-NEW"))
    async with dx.extras["fhir"]("H002") as h002:
        assert entries(await h002.get("/Observation")) == []
        assert entries(await h002.get("/DiagnosticReport")) == []
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dx.http_port}", headers=dx.extras["admin"]) as c:
            r = await c.put("/v1/code-maps/H002/item/WBC-NEW", json={"alliance_code": "LAB-WBC"})
            assert r.json()["republished_records"] == 1
        [wbc] = entries(await h002.get("/Observation", params={"code": "WBC-NEW"}))
        assert wbc["code"]["coding"][0] == {"system": systems.ALLIANCE_ITEM, "code": "LAB-WBC", "display": "白细胞计数"}
        assert len(entries(await h002.get("/DiagnosticReport", params={"code": "LAB-CBC"}))) == 1


async def test_an_admission_and_discharge_are_one_encounter_that_is_found_read_and_scoped(dx):
    port = dx.extras["port"]
    await send(port, adt("A01", "A-1"))
    patient = await patient_of(dx, "H001", "ZY-5001")
    async with dx.extras["fhir"]("H001") as h001, dx.extras["fhir"]("H003") as h003:
        [admitted] = entries(await h001.get("/Encounter", params={"patient": patient}))
        assert (admitted["status"], admitted["meta"]["versionId"]) == ("in-progress", "1")
        await send(port, adt("A03", "D-1"), adt("A03", "D-2"))    # the discharge, resent under a new control id
        [encounter] = entries(await h001.get("/Encounter", params={"patient": patient, "date": "ge2026-11-20"}))
        assert encounter["id"] == admitted["id"] and encounter["meta"]["versionId"] == "2"
        assert encounter["status"] == "finished" and encounter["meta"]["tag"] == [HL7V2_TAG]
        assert encounter["period"] == {"start": "2026-11-20T08:15:00+08:00", "end": "2026-11-23T09:00:00+08:00"}
        assert encounter["identifier"] == [{"system": systems.visit_system("H001"), "value": "V-2001"}]
        assert {c["resourceType"]: c["code"]["coding"][0]["code"] for c in encounter["contained"]} == {
            "Condition": "I21.9", "Procedure": "36.06"}
        amounts = [p["valueMoney"]["value"] for e in encounter["extension"] for p in e["extension"]
                   if p["url"] == "amount"]
        assert amounts == [25, 12345.67]
        by_visit = entries(await h001.get("/Encounter", params={"identifier": f"{systems.visit_system('H001')}|V-2001"}))
        assert [e["id"] for e in by_visit] == [encounter["id"]]
        assert (await h001.get(f"/Encounter/{encounter['id']}")).json() == encounter
        assert entries(await h003.get("/Encounter", params={"patient": patient})) == []
        assert (await h003.get(f"/Encounter/{encounter['id']}")).status_code == 404
        # H002 treats the same patient (same national ID): it sees H001's stay too
        await send(port, oru("R-9"))
        assert await patient_of(dx, "H002", "MRN-77") == patient
    async with dx.extras["fhir"]("H002") as h002:
        assert [e["id"] for e in entries(await h002.get("/Encounter", params={"patient": patient}))] == [encounter["id"]]


async def test_a_held_discharge_leaves_the_encounter_as_it_was_until_mapped(dx):
    port = dx.extras["port"]
    await send(port, adt("A01", "A-1"), adt("A03", "D-1", charge="999999"))
    async with dx.extras["fhir"]("H001") as h001:
        [encounter] = entries(await h001.get("/Encounter"))
        assert (encounter["status"], encounter["meta"]["versionId"]) == ("in-progress", "1")
        assert "extension" not in encounter
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dx.http_port}", headers=dx.extras["admin"]) as c:
            r = await c.put("/v1/code-maps/H001/charge/999999", json={"alliance_code": "other"})
            assert r.json()["republished_records"] == 1
        [encounter] = entries(await h001.get("/Encounter"))
    assert (encounter["status"], encounter["meta"]["versionId"]) == ("finished", "2")


async def test_the_patient_summary_lists_recent_discharges_across_hospitals_and_merges(dx, dev_keys):
    port = dx.extras["port"]
    await send(port,
               adt("A03", "D-1", visit="V-1", admitted="20261001080000", discharged="20261005090000"),
               adt("A03", "D-2", visit="V-2", admitted="20261101080000", discharged="20261103090000"),
               adt("A01", "A-3", visit="V-3", admitted="20261120080000"),                 # not discharged yet
               adt("A03", "D-4", visit="V-4", discharged="20261124090000", charge="999999"))  # held
    survivor = await patient_of(dx, "H001", "ZY-5001")
    # the same person at H002 without a national ID: a separate patient until an administrator merges them
    await send(port, adt("A03", "D-5", facility="H002", mrn="B-1", nid=None, visit="W-1",
                         admitted="20261015080000", discharged="20261020090000"))
    absorbed = await patient_of(dx, "H002", "B-1")
    assert absorbed != survivor
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dx.http_port}/v1", headers=dx.extras["admin"]) as c:
        r = await c.post(f"/patients/{survivor}/merge", json={"absorbed_patient_id": absorbed})
        assert r.status_code == 200, r.text
    h001 = bearer_metadata(dev_keys.issue("his", hospital_id="H001", roles=["hospital"]))
    h003 = bearer_metadata(dev_keys.issue("his", hospital_id="H003", roles=["hospital"]))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{dx.grpc_port}") as channel:
        stub = pb_grpc.PatientIndexStub(channel)
        summary = await stub.GetPatientSummary(pb.GetPatientSummaryRequest(
            patient_id=absorbed, purpose="referral handoff R-7"), metadata=h001)
        assert summary.patient_id == survivor
        assert [e.encounter_id for e in summary.recent_encounters] == ["H001/V-2", "H002/W-1", "H001/V-1"]
        latest = summary.recent_encounters[0]
        assert (latest.patient_id, latest.hospital_id, latest.length_of_stay_days) == (survivor, "H001", 2)
        assert latest.department.code == "DEP-CARD" and latest.total_cost_fen == 2500 + 1234567
        assert [(c.category, c.amount_fen) for c in latest.cost_lines] == [("laboratory", 2500),
                                                                            ("consumables", 1234567)]
        assert [(d.code.code, d.principal) for d in latest.diagnoses] == [("I21.9", True)]
        assert "张三丰" not in str(summary.recent_encounters) and NID not in str(summary.recent_encounters)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GetPatientSummary(pb.GetPatientSummaryRequest(patient_id=survivor, purpose="curiosity"),
                                         metadata=h003)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        # at most five, newest first
        await send(port, *(adt("A03", f"D-X{i}", visit=f"X-{i}", admitted=f"2026110{i}080000",
                               discharged=f"2026111{i}090000") for i in range(5, 10)))
        summary = await stub.GetPatientSummary(pb.GetPatientSummaryRequest(
            patient_id=survivor, purpose="referral handoff R-8"), metadata=h001)
    assert [e.encounter_id for e in summary.recent_encounters] == [f"H001/X-{i}" for i in range(9, 4, -1)]


# --- one Patient per hospital + MRN, whichever door (issue 22) -----------------------------------------------

MRN_H001 = systems.mrn_system("H001")
MRN_H002 = systems.mrn_system("H002")


def alliance_ids(patient: dict) -> list[str]:
    return [i["value"] for i in patient["identifier"] if i["system"] == systems.ALLIANCE_PATIENT]


def mrns(patient: dict) -> list[tuple[str, str]]:
    return [(i["system"], i["value"]) for i in patient["identifier"] if i["system"].startswith(systems.MRN_PREFIX)]


def fhir_patient(mrn: str, hospital: str = "H002", **extra) -> dict:
    return {"resourceType": "Patient", "identifier": [{"system": systems.mrn_system(hospital), "value": mrn}],
            "name": [{"text": "李四"}], "gender": "female", "birthDate": "1980-02-29", **extra}


async def test_an_hl7_admitted_patient_is_a_fhir_patient_found_by_mrn_and_alliance_id_and_followed_from_subject(dx):
    port = dx.extras["port"]
    await send(port, adt("A01", "A-1", phone="13812345678"))
    patient = await patient_of(dx, "H001", "ZY-5001")
    async with dx.extras["fhir"]("H001") as h001, dx.extras["fhir"]("H003") as h003:
        [found] = entries(await h001.get("/Patient", params={"identifier": f"{MRN_H001}|ZY-5001"}))
        assert found["meta"]["tag"] == [HL7V2_TAG] and found["meta"]["versionId"] == "1" and found["active"] is True
        assert mrns(found) == [(MRN_H001, "ZY-5001")] and alliance_ids(found) == [patient]
        assert (found["name"], found["gender"], found["birthDate"]) == ([{"text": "张三丰"}], "male", "1949-12-31")
        assert {"system": systems.NATIONAL_ID, "value": "110105********002X"} in found["identifier"]
        assert found["telecom"] == [{"system": "phone", "value": "138****5678"}] and NID not in str(found)
        for query in (f"{systems.ALLIANCE_PATIENT}|{patient}", "ZY-5001", f"{systems.NATIONAL_ID}|{NID}"):
            assert [p["id"] for p in entries(await h001.get("/Patient", params={"identifier": query}))] == \
                [found["id"]], query
        # the derived Encounter names the Patient by server id: a plain read follows it
        [encounter] = entries(await h001.get("/Encounter", params={"patient": found["id"]}))
        assert encounter["subject"] == {"reference": f"Patient/{found['id']}", "type": "Patient",
                                        "identifier": {"system": MRN_H001, "value": "ZY-5001"}}
        followed = await h001.get(f"/{encounter['subject']['reference']}")
        assert followed.status_code == 200 and followed.json() == found
        # a hospital that does not treat the patient finds nothing by any identifier and cannot read it
        for query in (f"{MRN_H001}|ZY-5001", "ZY-5001", f"{systems.ALLIANCE_PATIENT}|{patient}"):
            assert entries(await h003.get("/Patient", params={"identifier": query})) == [], query
        assert (await h003.get(f"/Patient/{found['id']}")).status_code == 404


async def test_an_adt_a08_updates_the_patient_and_a_sparse_pid_erases_nothing(dx):
    port = dx.extras["port"]
    await send(port, adt("A01", "A-1"))
    async with dx.extras["fhir"]("H001") as h001:
        [before] = entries(await h001.get("/Patient", params={"identifier": f"{MRN_H001}|ZY-5001"}))
        await send(port, adt("A08", "U-1", name="张三风", phone="13900001111"))
        updated = await h001.get(f"/Patient/{before['id']}")
        assert updated.status_code == 200 and updated.headers["etag"] == 'W/"2"'
        after = updated.json()
        assert after["meta"]["versionId"] == "2" and after["name"] == [{"text": "张三风"}]
        assert after["telecom"] == [{"system": "phone", "value": "139****1111"}]
        # the same PID again changes nothing; a PID without name or phone erases neither
        await send(port, adt("A08", "U-2", name="张三风", phone="13900001111"), adt("A08", "U-3", name="", nid=None))
        again = (await h001.get(f"/Patient/{before['id']}")).json()
        assert again == after
        assert len(entries(await h001.get("/Patient"))) == 1


async def test_a_fhir_first_patient_stays_the_one_patient_when_hl7_and_fhir_send_the_mrn_again(dx):
    async with dx.extras["fhir"]("H002") as h002:
        created = await h002.post("/Patient", json=fhir_patient("MRN-77"), headers={"Prefer": "return=representation"})
        assert created.status_code == 201, created.text
        patient = created.json()
        ap = await patient_of(dx, "H002", "MRN-77")
        assert alliance_ids(patient) == [ap] and "tag" not in patient["meta"]
        await send(dx.extras["port"], oru("R-1"))                       # the same MRN by HL7 v2 (with more details)
        [only] = entries(await h002.get("/Patient", params={"identifier": f"{MRN_H002}|MRN-77"}))
        assert only["id"] == patient["id"] and only["meta"]["versionId"] == "2" and "tag" not in only["meta"]
        assert only["name"] == [{"text": "张三丰"}]
        assert only["telecom"] == [{"system": "phone", "value": "138****5678"}]
        observations = entries(await h002.get("/Observation", params={"patient": patient["id"]}))
        assert len(observations) == 2
        assert {o["subject"]["reference"] for o in observations} == {f"Patient/{patient['id']}"}
        assert (await h002.get(f"/{observations[0]['subject']['reference']}")).json() == only
        assert [p["id"] for p in entries(await h002.get("/Patient", params={
            "identifier": f"{systems.ALLIANCE_PATIENT}|{ap}"}))] == [patient["id"]]
        # a second FHIR create of the same MRN updates that Patient (200), never a second one
        again = await h002.post("/Patient", json=fhir_patient("MRN-77", gender="male"),
                                headers={"Prefer": "return=representation"})
        assert again.status_code == 200, again.text
        assert again.json()["id"] == patient["id"] and again.json()["meta"]["versionId"] == "3"
        assert again.headers["location"].endswith(f"/Patient/{patient['id']}/_history/3")
        assert len(entries(await h002.get("/Patient"))) == 1


async def test_an_hl7_first_patient_is_taken_over_by_a_fhir_create_and_a_bundle_of_the_same_mrn(dx):
    await send(dx.extras["port"], oru("R-1"))
    async with dx.extras["fhir"]("H002") as h002:
        [derived] = entries(await h002.get("/Patient"))
        assert derived["meta"]["tag"] == [HL7V2_TAG]
        created = await h002.post("/Patient", json=fhir_patient("MRN-77"), headers={"Prefer": "return=representation"})
        assert created.status_code == 200, created.text
        taken = created.json()
        assert taken["id"] == derived["id"] and taken["meta"]["versionId"] == "2" and "tag" not in taken["meta"]
        assert taken["name"] == [{"text": "李四"}] and alliance_ids(taken) == alliance_ids(derived)
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:0b6c8e0e-6a6f-4b8a-9c35-6c1f9f0f0a01", "resource": fhir_patient("MRN-77"),
             "request": {"method": "POST", "url": "Patient"}}]}
        r = await h002.post("", json=bundle)
        assert r.status_code == 200, r.text
        assert r.json()["entry"][0]["response"] == {"status": "200 OK",
                                                     "location": f"Patient/{derived['id']}/_history/3"}
        clash = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": fhir_patient("MRN-77", id="another-id"),
             "request": {"method": "PUT", "url": "Patient/another-id"}}]}
        r = await h002.post("", json=clash)
        assert r.status_code == 409 and r.json()["resourceType"] == "OperationOutcome"
        assert [p["id"] for p in entries(await h002.get("/Patient"))] == [derived["id"]]
        # results sent later still point at the same Patient
        await send(dx.extras["port"], oru("R-2", report="RPT-9003"))
        assert {o["subject"]["reference"] for o in entries(await h002.get("/Observation"))} == {
            f"Patient/{derived['id']}"}


async def test_another_hospitals_mrn_is_neither_shown_nor_searchable_even_for_a_patient_both_treat(dx, dev_keys):
    port = dx.extras["port"]
    await send(port, adt("A01", "A-1"), oru("R-1"))                    # the same person (national ID) at both
    ap = await patient_of(dx, "H001", "ZY-5001")
    assert await patient_of(dx, "H002", "MRN-77") == ap
    async with dx.extras["fhir"]("H001") as h001:
        assert entries(await h001.get("/Patient", params={"identifier": f"{MRN_H002}|MRN-77"})) == []
        assert entries(await h001.get("/Patient", params={"identifier": "MRN-77"})) == []
        both = entries(await h001.get("/Patient", params={"identifier": f"{systems.ALLIANCE_PATIENT}|{ap}"}))
        assert len(both) == 2 and all(alliance_ids(p) == [ap] for p in both)
        assert "MRN-77" not in str(both) and sorted(m for p in both for m in mrns(p)) == [(MRN_H001, "ZY-5001")]
        [wbc] = [o for o in entries(await h001.get("/Observation")) if o["code"]["coding"][0]["code"] == "LAB-WBC"]
        assert wbc["subject"]["identifier"] == {"system": systems.ALLIANCE_PATIENT, "value": ap}
        read = (await h001.get(f"/Observation/{wbc['id']}")).json()
        assert read["subject"] == wbc["subject"] and "MRN-77" not in str(read)
        h002_patient = (await h001.get(wbc["subject"]["reference"])).json()
        assert mrns(h002_patient) == [] and alliance_ids(h002_patient) == [ap]
    admin = dev_keys.issue("admin", roles=["alliance_admin"])
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dx.http_port}/fhir",
                                 headers={"Authorization": f"Bearer {admin}"}) as c:
        [seen] = entries(await c.get("/Patient", params={"identifier": f"{MRN_H002}|MRN-77"}))
        assert mrns(seen) == [(MRN_H002, "MRN-77")]


async def test_a_merge_and_an_unmerge_rewrite_the_patients_alliance_id_and_links(dx):
    port = dx.extras["port"]
    # one person registered twice at H002 (no national ID: a review, two alliance patients), and once at H001
    await send(port, adt("A01", "A-1", facility="H002", mrn="B-1", nid=None, visit="W-1"),
               adt("A01", "A-2", facility="H002", mrn="B-2", nid=None, visit="W-2"),
               adt("A01", "A-3", facility="H001", mrn="C-1", nid=None, visit="V-3", name="王五"))
    survivor, duplicate, other = [await patient_of(dx, h, m) for h, m in (("H002", "B-1"), ("H002", "B-2"),
                                                                          ("H001", "C-1"))]
    assert len({survivor, duplicate, other}) == 3
    async with dx.extras["fhir"]("H002") as h002, dx.extras["fhir"]("H001") as h001, \
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{dx.http_port}/v1", headers=dx.extras["admin"]) as admin:
        async def patient(client, mrn_system, mrn):
            [p] = entries(await client.get("/Patient", params={"identifier": f"{mrn_system}|{mrn}"}))
            return p
        b1, b2, c1 = await patient(h002, MRN_H002, "B-1"), await patient(h002, MRN_H002, "B-2"), \
            await patient(h001, MRN_H001, "C-1")
        r = await admin.post(f"/patients/{survivor}/merge", json={"absorbed_patient_id": duplicate})
        assert r.status_code == 200, r.text
        r = await admin.post(f"/patients/{survivor}/merge", json={"absorbed_patient_id": other})
        assert r.status_code == 200, r.text
        merged_b1, merged_b2 = await patient(h002, MRN_H002, "B-1"), await patient(h002, MRN_H002, "B-2")
        assert merged_b2["active"] is False and alliance_ids(merged_b2) == [survivor]
        assert merged_b2["link"] == [{"other": {"reference": f"Patient/{b1['id']}"}, "type": "replaced-by"}]
        assert merged_b1["link"] == [{"other": {"reference": f"Patient/{b2['id']}"}, "type": "replaces"}]
        assert merged_b1["active"] is True and merged_b1["meta"]["versionId"] == "2"
        # the duplicate's Encounter still names its Patient, which leads to the survivor
        [w2] = entries(await h002.get("/Encounter", params={"identifier": f"{systems.visit_system('H002')}|W-2"}))
        assert w2["subject"]["reference"] == f"Patient/{b2['id']}"
        # another hospital's Patient of the same person: only its alliance id changes, no cross-hospital link
        merged_c1 = await patient(h001, MRN_H001, "C-1")
        assert alliance_ids(merged_c1) == [survivor] and "link" not in merged_c1 and merged_c1["active"] is True
        # found by the survivor's id, by each hospital as far as it may see (visibility follows the alliance id
        # the data was filed under: H001 now treats the survivor, H002 not the merged-in patient of H001)
        by_h002 = entries(await h002.get("/Patient", params={"identifier": f"{systems.ALLIANCE_PATIENT}|{survivor}"}))
        assert sorted(p["id"] for p in by_h002) == sorted([b1["id"], b2["id"]])
        by_h001 = entries(await h001.get("/Patient", params={"identifier": f"{systems.ALLIANCE_PATIENT}|{survivor}"}))
        assert sorted(p["id"] for p in by_h001) == sorted([b1["id"], c1["id"]]) and "B-1" not in str(by_h001)
        # unmerge: as before the merge, in a new version
        r = await admin.post(f"/patients/{survivor}/unmerge", json={"absorbed_patient_id": duplicate})
        assert r.status_code == 200, r.text
        restored_b1, restored_b2 = await patient(h002, MRN_H002, "B-1"), await patient(h002, MRN_H002, "B-2")
        assert restored_b2["active"] is True and "link" not in restored_b2 and alliance_ids(restored_b2) == [duplicate]
        assert "link" not in restored_b1 and restored_b2["meta"]["versionId"] == "3"
        assert {k: v for k, v in restored_b2.items() if k != "meta"} == {k: v for k, v in b2.items() if k != "meta"}
        assert alliance_ids(await patient(h001, MRN_H001, "C-1")) == [survivor]     # still merged


async def test_the_patient_summary_takes_the_callers_own_mrn(dx, dev_keys):
    await send(dx.extras["port"], adt("A03", "D-1"))
    patient = await patient_of(dx, "H001", "ZY-5001")
    h001 = bearer_metadata(dev_keys.issue("his", hospital_id="H001", roles=["hospital"]))
    h003 = bearer_metadata(dev_keys.issue("his", hospital_id="H003", roles=["hospital"]))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{dx.grpc_port}") as channel:
        stub = pb_grpc.PatientIndexStub(channel)
        summary = await stub.GetPatientSummary(pb.GetPatientSummaryRequest(
            mrn=pb.HospitalMrn(mrn="ZY-5001"), purpose="referral handoff R-1"), metadata=h001)
        assert summary.patient_id == patient and [e.encounter_id for e in summary.recent_encounters] == ["H001/V-2001"]
        same = await stub.GetPatientSummary(pb.GetPatientSummaryRequest(
            mrn=pb.HospitalMrn(hospital_id="H001", mrn="ZY-5001"), purpose="referral handoff R-1"), metadata=h001)
        assert same.patient_id == patient
        for request, metadata, code in [
                (pb.GetPatientSummaryRequest(mrn=pb.HospitalMrn(mrn="ZY-5001"), purpose="x"), h003,
                 grpc.StatusCode.NOT_FOUND),                                  # H003's MRN ZY-5001: none
                (pb.GetPatientSummaryRequest(mrn=pb.HospitalMrn(hospital_id="H001", mrn="ZY-5001"), purpose="x"),
                 h003, grpc.StatusCode.NOT_FOUND),                            # another hospital's MRN
                (pb.GetPatientSummaryRequest(purpose="x"), h001, grpc.StatusCode.INVALID_ARGUMENT),
                (pb.GetPatientSummaryRequest(patient_id=patient, mrn=pb.HospitalMrn(mrn="ZY-5001"), purpose="x"),
                 h001, grpc.StatusCode.INVALID_ARGUMENT)]:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.GetPatientSummary(request, metadata=metadata)
            assert err.value.code() == code, request
            assert "Traceback" not in (err.value.details() or "")


def person(event: str, control: str, *, mrn: str = "ZY-9", name: str = "赵六", phone: str = "") -> str:
    """ADT^A28 (add person information) / A31 (update it): PID only, no visit."""
    return "\r".join([
        f"MSH|^~\\&|HIS|H001|ALLIANCE|ALLIANCE|20261123093000+0800||ADT^{event}^ADT_A05|{control}|P|2.5.1"
        "|||AL|NE||UNICODE UTF-8",
        f"EVN|{event}|20261123093000",
        f"PID|1||{mrn}^^^H001^MR||{name}||19800101|F" + (f"|||||{phone}" if phone else ""),
    ]) + "\r"


async def test_adt_a28_registers_a_patient_and_a31_updates_it_without_any_visit(dx):
    await send(dx.extras["port"], person("A28", "P-1"))
    ap = await patient_of(dx, "H001", "ZY-9")
    async with dx.extras["fhir"]("H001") as h001:
        [added] = entries(await h001.get("/Patient", params={"identifier": f"{MRN_H001}|ZY-9"}))
        assert alliance_ids(added) == [ap] and added["name"] == [{"text": "赵六"}] and added["gender"] == "female"
        await send(dx.extras["port"], person("A31", "P-2", name="赵陆", phone="13700001234"))
        [updated] = entries(await h001.get("/Patient", params={"identifier": f"{systems.ALLIANCE_PATIENT}|{ap}"}))
        assert updated["id"] == added["id"] and updated["meta"]["versionId"] == "2"
        assert updated["name"] == [{"text": "赵陆"}] and updated["telecom"][0]["value"] == "137****1234"
        assert entries(await h001.get("/Encounter")) == []


def a40(control: str, *, facility: str = "H002", mrn: str = "B-1", prior: str = "B-2") -> str:
    """ADT^A40: the hospital merged its MRN `prior` into `mrn`."""
    return "\r".join([
        f"MSH|^~\\&|HIS|{facility}|ALLIANCE|ALLIANCE|20261123093000+0800||ADT^A40^ADT_A39|{control}|P|2.5.1"
        "|||AL|NE||UNICODE UTF-8",
        "EVN|A40|20261123093000",
        f"PID|1||{mrn}^^^{facility}^MR||张三丰||19491231|M",
        f"MRG|{prior}^^^{facility}^MR",
    ]) + "\r"


async def test_an_adt_a40_merges_the_hospitals_two_mrns_and_their_patients_and_an_unmerge_undoes_it(dx):
    port = dx.extras["port"]
    await send(port, adt("A01", "A-1", facility="H002", mrn="B-1", nid=None, visit="W-1"),
               adt("A01", "A-2", facility="H002", mrn="B-2", nid=None, visit="W-2"))
    survivor, duplicate = await patient_of(dx, "H002", "B-1"), await patient_of(dx, "H002", "B-2")
    assert survivor != duplicate
    [unknown] = await send(port, a40("M-0", prior="B-404"), expect="AE")
    assert "MRG" in str(unknown) and await patient_of(dx, "H002", "B-2") == duplicate
    await send(port, a40("M-1"))
    assert await patient_of(dx, "H002", "B-2") == survivor
    async with dx.extras["fhir"]("H002") as h002:
        [b1] = entries(await h002.get("/Patient", params={"identifier": f"{MRN_H002}|B-1"}))
        [b2] = entries(await h002.get("/Patient", params={"identifier": f"{MRN_H002}|B-2"}))
        assert b2["active"] is False and alliance_ids(b2) == [survivor]
        assert b2["link"] == [{"other": {"reference": f"Patient/{b1['id']}"}, "type": "replaced-by"}]
        assert b1["link"] == [{"other": {"reference": f"Patient/{b2['id']}"}, "type": "replaces"}]
        await send(port, a40("M-2"))                                   # said again: nothing more to do
        assert (await h002.get(f"/Patient/{b2['id']}")).json() == b2
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dx.http_port}/v1",
                                     headers=dx.extras["admin"]) as admin:
            r = await admin.post(f"/patients/{survivor}/unmerge", json={"absorbed_patient_id": duplicate})
            assert r.status_code == 200, r.text
        restored = (await h002.get(f"/Patient/{b2['id']}")).json()
        assert restored["active"] is True and "link" not in restored and alliance_ids(restored) == [duplicate]


async def test_an_adt_a40_whose_prior_patient_other_hospitals_hold_goes_to_an_administrator(dx):
    port = dx.extras["port"]
    await send(port, adt("A01", "A-1", facility="H002", mrn="B-1", nid=None, visit="W-1"),
               adt("A01", "A-2", facility="H002", mrn="B-2", visit="W-2"),      # with the national ID
               adt("A01", "A-3", facility="H001", mrn="C-1", visit="V-3"))      # the same national ID at H001
    prior = await patient_of(dx, "H002", "B-2")
    assert await patient_of(dx, "H001", "C-1") == prior
    [ack] = await send(port, a40("M-1"))
    assert "review" in str(ack)
    assert await patient_of(dx, "H002", "B-2") == prior                        # not merged by the hospital alone
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dx.http_port}/v1", headers=dx.extras["admin"]) as c:
        reviews = (await c.get("/patient-reviews")).json()
    [review] = [r for r in reviews if r["provisional_patient_id"] == prior and "ADT^A40" in str(r["reasons"])]
    assert review["candidates"][0]["patient_id"] == await patient_of(dx, "H002", "B-1")
