"""HL7 v2 over real MLLP into a real database and broker: ACKs, duplicates, mapping, one patient, hostile input."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import httpx
import pytest
from sqlalchemy import func, select

from alliance_testing.helpers import read_all
from data_exchange.adapters.orm import inbound_messages, patients
from data_exchange.bootstrap import SPEC
from data_exchange.hl7 import MllpDecoder, ack_fields, frame

HOSPITALS = [
    {"hospital_id": "H001", "name": "省第一人民医院", "level": "tertiary", "region_code": "330100",
     "specialties": ["cardiology"], "total_beds": 1800},
    {"hospital_id": "H002", "name": "桐庐县人民医院", "level": "secondary", "region_code": "330122",
     "specialties": ["internal_medicine"], "total_beds": 380},
]
NID = "11010519491231002X"  # synthetic, checksum-valid


def oru(control: str, *, facility: str = "TLXRMYY", mrn: str = "MRN-77", wbc_code: str = "WBC",
        charset: str = "UNICODE UTF-8", name: str = "张三丰", value: str = "5.6", nid: str | None = NID,
        phone: str = "13812345678") -> str:
    return "\r".join([
        f"MSH|^~\\&|LIS|{facility}|ALLIANCE|ALLIANCE|20261123083000+0800||ORU^R01^ORU_R01|{control}|P|2.5.1"
        f"|||AL|NE||{charset}",
        f"PID|1||{mrn}^^^{facility}^MR" + (f"~{nid}^^^CHN^NNCHN" if nid else "")
        + f"||{name}||19491231|M|||||{phone}",
        "OBR|1|PL-1|RPT-9001|CBC^血常规^L|||20261123080000+0800||||||||||||||||LAB|F",
        f"OBX|1|NM|{wbc_code}^白细胞计数^L||{value}|10*9/L|3.5-9.5|N|||F|||20261123080000+0800",
        "OBX|2|NM|HGB^血红蛋白^L||135|g/L|130-175|N|||F|||20261123080000+0800",
        "NTE|1||复查 \\T\\ 随访",
    ]) + "\r"


def adt_a01(control: str, *, facility: str = "H001", mrn: str = "ZY-5001") -> str:
    return "\r".join([
        f"MSH|^~\\&|HIS|{facility}|ALLIANCE|ALLIANCE|20261123090000+0800||ADT^A01^ADT_A01|{control}|P|2.5.1"
        "|||AL|NE||UNICODE UTF-8",
        "EVN|A01|20261123090000+0800",
        f"PID|1||{mrn}^^^{facility}^MR~{NID}^^^CHN^NNCHN||张三丰||19491231|M|||||13812345678",
        "PV1|1|I|CARD^^^H001||||||||||||||||V-1001|||||||||||||||||||||||||20261123090000+0800",
    ]) + "\r"


class MllpClient:
    def __init__(self, port: int) -> None:
        self.port = port

    async def __aenter__(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.decoder = MllpDecoder()
        self.pending: list[bytes] = []
        return self

    async def __aexit__(self, *exc):
        self.writer.close()
        await self.writer.wait_closed()

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def ack(self) -> dict:
        while not self.pending:
            chunk = await asyncio.wait_for(self.reader.read(65536), 20)
            assert chunk, "connection closed"
            self.pending += [x for x in self.decoder.feed(chunk) if isinstance(x, bytes)]
        return ack_fields(self.pending.pop(0))

    async def send(self, message: str, encoding: str = "utf-8") -> dict:
        await self.send_raw(frame(message.encode(encoding)))
        return await self.ack()


@pytest.fixture
async def dx(start_service, dev_keys):
    rt = await start_service(SPEC, hl7_sender_charsets={"TLXRMYY-GBK": "gb18030"})
    admin = {"Authorization": f"Bearer {dev_keys.issue('admin', roles=['alliance_admin'])}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", headers=admin) as c:
        for h in HOSPITALS:
            assert (await c.post("/v1/hospitals", json=h)).status_code == 201
        r = await c.put("/v1/hospitals/H002/interface", json={"interface_facility_codes": ["TLXRMYY"]})
        assert r.status_code == 200
        for local, alliance in [("CBC", "LAB-CBC"), ("WBC", "LAB-WBC"), ("HGB", "LAB-HGB")]:
            r = await c.put(f"/v1/code-maps/H002/item/{local}", json={"alliance_code": alliance})
            assert r.status_code == 200, r.text
        assert (await c.put("/v1/code-maps/H001/department/CARD", json={"alliance_code": "DEP-CARD"})).status_code == 200
    rt.extras["admin_headers"] = admin
    return rt


def _events(records, type_suffix: str) -> list[dict]:
    out = []
    for r in records:
        body = json.loads(r.value)
        if body["type"].endswith(type_suffix):
            out.append(body)
    return out


async def test_an_oru_over_mllp_is_acknowledged_and_published_with_mapped_codes(dx, kafka_bootstrap):
    async with MllpClient(dx.extras["mllp"].port) as mllp:
        ack = await mllp.send(oru("MSG-1", charset="GB 18030-2000"), encoding="gb18030")
    assert (ack["code"], ack["acknowledged_control_id"], ack["charset"]) == ("AA", "MSG-1", "GB 18030-2000")
    topic = dx.topic("alliance.data_exchange.v1")
    records = await read_all(kafka_bootstrap, topic, expected=2 + 2 + 1)
    results = _events(records, "ResultRecorded")
    assert [(e["data"]["item"]["code"], e["data"]["item"]["localCode"]) for e in results] == [
        ("LAB-WBC", "WBC"), ("LAB-HGB", "HGB")]
    assert results[0]["data"]["hospitalId"] == "H002" and results[0]["data"]["value"] == "5.6"
    assert results[0]["data"]["reportRef"] == "H002/RPT-9001"
    assert NID not in records[0].value.decode() and "张三丰" not in b"".join(r.value for r in records).decode()


async def test_the_same_patient_from_two_hospitals_gets_one_alliance_id(dx, kafka_bootstrap):
    async with MllpClient(dx.extras["mllp"].port) as mllp:
        assert (await mllp.send(oru("MSG-2")))["code"] == "AA"
        assert (await mllp.send(adt_a01("ADT-1")))["code"] == "AA"
    topic = dx.topic("alliance.data_exchange.v1")
    linked = _events(await read_all(kafka_bootstrap, topic, expected=6), "PatientLinked")
    assert {e["data"]["hospitalId"] for e in linked} == {"H001", "H002"}
    assert len({e["data"]["patientId"] for e in linked}) == 1
    assert [e["data"]["decision"] for e in linked] == ["NEW", "LINK_NATIONAL_ID"]
    async with dx.engine.connect() as conn:
        row = (await conn.execute(select(patients))).one()
    assert row.national_id_hash and NID not in row.national_id_hash and row.national_id_masked == "110105********002X"


async def test_a_resent_message_gets_the_same_ack_and_is_processed_once(dx, kafka_bootstrap):
    async with MllpClient(dx.extras["mllp"].port) as mllp:
        first = await mllp.send(oru("MSG-3"))
        again = await mllp.send(oru("MSG-3"))
    assert first == again
    async with dx.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(inbound_messages)) == 1
    records = await read_all(kafka_bootstrap, dx.topic("alliance.data_exchange.v1"), expected=3)
    assert len(_events(records, "ResultRecorded")) == 2


async def test_an_unmapped_code_is_held_reported_and_published_once_mapped(dx, kafka_bootstrap):
    async with MllpClient(dx.extras["mllp"].port) as mllp:
        ack = await mllp.send(oru("MSG-4", wbc_code="WBC-NEW"))
    assert ack["code"] == "AA"
    assert [(e["severity"], e["code"]) for e in ack["errors"]] == [("W", "103")]
    assert "WBC-NEW" in ack["errors"][0]["text"]
    topic = dx.topic("alliance.data_exchange.v1")
    assert _events(await read_all(kafka_bootstrap, topic, expected=1, timeout=3), "ResultRecorded") == []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dx.http_port}", headers=dx.extras["admin_headers"]) as c:
        unmapped = (await c.get("/v1/unmapped-codes", params={"hospital_id": "H002"})).json()
        assert [(u["kind"], u["local_code"]) for u in unmapped] == [("item", "WBC-NEW")]
        r = await c.put("/v1/code-maps/H002/item/WBC-NEW", json={"alliance_code": "LAB-WBC"})
        assert r.json()["republished_records"] == 1
        assert (await c.get("/v1/unmapped-codes", params={"hospital_id": "H002"})).json() == []
    results = _events(await read_all(kafka_bootstrap, topic, expected=3), "ResultRecorded")
    assert [e["data"]["item"]["code"] for e in results] == ["LAB-WBC", "LAB-HGB"]


HOSTILE = [
    b"not hl7 at all",
    b"MSH|^~\\&|LIS|TLXRMYY|A|A|20261123||ORU^R01|X1|P|2.5.1\rPID|1||M1^^^TLXRMYY^MR\r",   # no OBR/OBX
    oru("X2").replace("20261123080000+0800", "20261399080000+0800").encode(),             # bad date
    oru("X3", value="abc").encode(),                                                       # NM not numeric
    oru("X4", charset="GB 18030-2000").encode("gb18030")[:-40] + "张".encode("gb18030")[:1] + b"\r",
    oru("X5").replace("ORU^R01", "ZZZ^Z99").encode(),                                      # unsupported type
    oru("X6", facility="UNKNOWN").encode(),                                                # not a member
    oru("X7", name="Robert'); DROP TABLE patients;--|\r").encode(),                        # injection
]


async def test_hostile_messages_get_ae_or_ar_and_the_listener_stays_up(dx):
    async with MllpClient(dx.extras["mllp"].port) as mllp:
        for raw in HOSTILE:
            ack = await mllp.send_raw(frame(raw)) or await mllp.ack()
            assert ack["code"] in ("AE", "AR"), (raw[:60], ack)
            assert ack["errors"], ack
        await mllp.send_raw(b"garbage outside any frame" + frame(oru("OK-1").encode()))
        outside = await mllp.ack()
        assert outside["code"] == "AR"
        assert (await mllp.ack())["code"] == "AA"
    async with dx.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(patients)) == 1   # only OK-1's patient


async def test_concurrent_connections_each_get_their_own_acks(dx):
    async def one(n: int) -> list[str]:
        async with MllpClient(dx.extras["mllp"].port) as mllp:
            return [(await mllp.send(oru(f"C{n}-{i}", mrn=f"MRN-C{n}")))["code"] for i in range(5)]

    results = await asyncio.gather(*(one(n) for n in range(8)))
    assert results == [["AA"] * 5] * 8


async def test_hl7_over_http_needs_a_hospital_token_for_its_own_facility(dx, dev_keys):
    url = f"http://127.0.0.1:{dx.http_port}/v1/hl7/messages"
    own = {"Authorization": f"Bearer {dev_keys.issue('his', hospital_id='H002', roles=['hospital'])}",
           "Content-Type": "x-application/hl7-v2+er7"}
    other = own | {"Authorization": f"Bearer {dev_keys.issue('his', hospital_id='H001', roles=['hospital'])}"}
    async with httpx.AsyncClient() as c:
        ok = await c.post(url, content=oru("HTTP-1").encode(), headers=own)
        wrong = await c.post(url, content=oru("HTTP-2").encode(), headers=other)
        anonymous = await c.post(url, content=oru("HTTP-3").encode())
    assert ok.status_code == 200 and ack_fields(ok.content)["code"] == "AA"
    assert ack_fields(wrong.content)["code"] == "AR"
    assert anonymous.status_code == 401


async def test_patient_index_over_grpc_is_scoped_to_the_callers_patients_and_audited(dx, dev_keys):
    import grpc
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from alliance.data_exchange.v1 import clinical_pb2 as pb
    from alliance.data_exchange.v1 import clinical_pb2_grpc as pb_grpc
    from alliance_auth.grpc import bearer_metadata
    from data_exchange.adapters.orm import audit_log

    async with MllpClient(dx.extras["mllp"].port) as mllp:
        assert (await mllp.send(oru("G-1")))["code"] == "AA"
        assert (await mllp.send(adt_a01("G-2")))["code"] == "AA"
    h002 = bearer_metadata(dev_keys.issue("his", hospital_id="H002", roles=["hospital"]))
    h003 = bearer_metadata(dev_keys.issue("his", hospital_id="H003", roles=["hospital"]))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{dx.grpc_port}") as channel:
        stub = pb_grpc.PatientIndexStub(channel)
        found = await stub.ResolvePatient(pb.ResolvePatientRequest(
            mrn=pb.HospitalMrn(hospital_id="H002", mrn="MRN-77")), metadata=h002)
        assert [(m.hospital_id, m.mrn) for m in found.mrns] == [("H002", "MRN-77")]
        summary = await stub.GetPatientSummary(pb.GetPatientSummaryRequest(
            patient_id=found.patient_id, purpose="referral handoff R-1"), metadata=h002)
        assert (summary.name, summary.birth_date, summary.national_id_masked) == (
            "张三丰", "1949-12-31", "110105********002X")
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GetPatientSummary(pb.GetPatientSummaryRequest(
                patient_id=found.patient_id, purpose="curiosity"), metadata=h003)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
    async with dx.engine.connect() as conn:
        rows = (await conn.execute(select(audit_log.c.hospital_id, audit_log.c.action, audit_log.c.outcome,
                                          audit_log.c.purpose).order_by(audit_log.c.audit_id))).all()
    assert [tuple(r) for r in rows] == [
        ("H002", "resolve", "allowed", "resolve"),
        ("H002", "read-summary", "allowed", "referral handoff R-1"),
        ("H003", "read-summary", "denied-or-unknown", "curiosity"),
    ]
    with pytest.raises(DBAPIError, match="append-only"):
        async with dx.engine.begin() as conn:
            await conn.execute(text("DELETE FROM audit_log"))


async def test_an_administrator_merges_duplicates_and_can_undo_it_exactly(dx, kafka_bootstrap):
    async with MllpClient(dx.extras["mllp"].port) as mllp:
        assert (await mllp.send(oru("M-1", mrn="A-1", nid=None, phone="13800000011")))["code"] == "AA"
        assert (await mllp.send(oru("M-2", mrn="A-2", nid=None, phone="13900000022")))["code"] == "AA"
    async with dx.engine.connect() as conn:
        ids = [r.patient_id for r in await conn.execute(select(patients.c.patient_id).order_by(patients.c.created_at))]
    assert len(ids) == 2
    base = f"http://127.0.0.1:{dx.http_port}/v1"
    async with httpx.AsyncClient(headers=dx.extras["admin_headers"]) as c:
        reviews = (await c.get(f"{base}/patient-reviews")).json()
        assert [r["provisional_patient_id"] for r in reviews] == [ids[1]]
        assert (await c.post(f"{base}/patients/{ids[0]}/merge", json={"absorbed_patient_id": ids[1]})).status_code == 200
        again = await c.post(f"{base}/patients/{ids[0]}/merge", json={"absorbed_patient_id": ids[1]})
        assert again.status_code == 409 and again.json()["type"].endswith("absorbed-merged")
        assert (await c.get(f"{base}/patient-reviews")).json() == []
        async with MllpClient(dx.extras["mllp"].port) as mllp:   # new data for A-2 now lands on the survivor
            assert (await mllp.send(oru("M-3", mrn="A-2", nid=None, phone="13900000022")))["code"] == "AA"
        assert (await c.post(f"{base}/patients/{ids[0]}/unmerge", json={"absorbed_patient_id": ids[1]})).status_code == 200
    records = await read_all(kafka_bootstrap, dx.topic("alliance.data_exchange.v1"), expected=10)
    merged = _events(records, "PatientsMerged")
    assert [(e["data"]["survivorPatientId"], e["data"]["absorbedPatientId"]) for e in merged] == [(ids[0], ids[1])]
    results = _events(records, "ResultRecorded")
    # events are keyed (ordered) per patient, not globally: count them per patient
    assert Counter(e["data"]["patientId"] for e in results) == {ids[0]: 4, ids[1]: 2}
    [unmerged] = _events(records, "PatientsUnmerged")
    # exactly the MRNs the merge had moved go back, so consumers can undo their own moves exactly
    assert (unmerged["data"]["survivorPatientId"], unmerged["data"]["restoredPatientId"]) == (ids[0], ids[1])
    assert unmerged["data"]["restoredMrns"] == [{"hospitalId": "H002", "mrn": "A-2"}]
    async with dx.engine.connect() as conn:
        from data_exchange.adapters.orm import patient_links
        links = {(r.mrn, r.patient_id) for r in await conn.execute(select(patient_links))}
    assert links == {("A-1", ids[0]), ("A-2", ids[1])}


A03 = "\r".join([
    "MSH|^~\\&|HIS|H001|ALLIANCE|ALLIANCE|20261123093000+0800||ADT^A03^ADT_A03|DIS-1|P|2.5.1|||AL|NE||UNICODE UTF-8",
    "EVN|A03|20261123093000",
    f"PID|1||ZY-5001^^^H001^MR~{NID}^^^CHN^NNCHN||张三丰||19491231|M",
    "PV1|1|I|CARD^^^H001||||||||||||||||V-2001|||||||||||||||||||||||||20261120081500|20261123090000",
    "DG1|1||I21.9^急性心肌梗死^ICD-10|||F||||||||||1",
    "DG1|2||I10.x00^高血压^ICD-10|||F||||||||||2",
    "PR1|1||36.06^冠状动脉药物洗脱支架置入术^ICD-9-CM-3||20261121103000",
    "FT1|1|||20261121||CG|250101001^血常规^LOCAL|||2|25.00",
    "FT1|2|||20261121||CG|330201001^支架^LOCAL|||1|12345.67",
    "FT1|3|||20261122||CG|110900001^床位费^LOCAL|||3|150.00",
]) + "\r"
ORM = "\r".join([
    "MSH|^~\\&|HIS|H001|ALLIANCE|ALLIANCE|20261123100000+0800||ORM^O01^ORM_O01|ORD-1|P|2.5.1|||AL|NE||UNICODE UTF-8",
    f"PID|1||ZY-5001^^^H001^MR~{NID}^^^CHN^NNCHN||张三丰||19491231|M",
    "ORC|NW|PO-1|||||||20261123100000",
    "OBR|1|PO-1||CT001^胸部CT平扫^LOCAL",
]) + "\r"


async def test_a_discharge_and_an_order_become_events_with_categories_and_integer_fen(dx, kafka_bootstrap):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dx.http_port}", headers=dx.extras["admin_headers"]) as c:
        csv = "kind,local_code,alliance_code\ncharge,250101001,laboratory\ncharge,330201001,consumables\n" \
              "charge,110900001,bed\nitem,CT001,IMG-CT-CHEST\n"
        r = await c.post("/v1/code-maps/H001/import", content=csv.encode(), headers={"Content-Type": "text/csv"})
        assert r.json()["imported"] == 4 and r.json()["errors"] == []
    async with MllpClient(dx.extras["mllp"].port) as mllp:
        for message in (A03, ORM):
            ack = await mllp.send(message)
            assert ack["code"] == "AA", ack["errors"]
    records = await read_all(kafka_bootstrap, dx.topic("alliance.data_exchange.v1"), expected=3)
    [discharge] = [e["data"] for e in _events(records, "EncounterDischarged")]
    assert discharge["encounterId"] == "H001/V-2001" and discharge["lengthOfStayDays"] == 3
    assert [(c["category"], c["amountFen"]) for c in discharge["costLines"]] == [
        ("laboratory", "2500"), ("consumables", "1234567"), ("bed", "15000")]
    assert discharge["totalCostFen"] == str(2500 + 1234567 + 15000)
    principal = [d["code"]["code"] for d in discharge["diagnoses"] if d.get("principal")]
    assert principal == ["I21.9"] and discharge["procedures"][0]["code"]["code"] == "36.06"
    [order] = [e["data"] for e in _events(records, "OrderPlaced")]
    assert order["orderId"] == "H001/PO-1" and order["items"][0]["code"] == "IMG-CT-CHEST"


async def test_a_sender_configured_for_gb18030_may_leave_msh_18_empty(dx, kafka_bootstrap):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dx.http_port}", headers=dx.extras["admin_headers"]) as c:
        r = await c.put("/v1/hospitals/H002/interface", json={"interface_facility_codes": ["TLXRMYY", "TLXRMYY-GBK"]})
        assert r.status_code == 200
    legacy = oru("GBK-1", facility="TLXRMYY-GBK", charset="", name="张三丰").encode("gb18030")
    async with MllpClient(dx.extras["mllp"].port) as mllp:
        assert (await mllp.send_raw(frame(legacy)) or await mllp.ack())["code"] == "AA"
        wrong = oru("GBK-2", charset="").encode("gb18030")     # TLXRMYY defaults to UTF-8: cannot decode
        ack = await mllp.send_raw(frame(wrong)) or await mllp.ack()
    assert ack["code"] == "AR" and ack["errors"][0]["field"] == "18"
