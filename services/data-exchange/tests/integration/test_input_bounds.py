"""Issue 12, finding 4 in data-exchange: calendar-end times in HL7 and FHIR, CR in CSV fields, duplicate keys, gRPC."""

from __future__ import annotations

import grpc
import httpx
import pytest

from alliance.data_exchange.v1 import clinical_pb2 as pb
from alliance.data_exchange.v1 import clinical_pb2_grpc as pb_grpc
from alliance_auth.grpc import bearer_metadata
from data_exchange.bootstrap import SPEC
from data_exchange.hl7 import ack_fields

HL7 = "x-application/hl7-v2+er7"


def _oru(control: str, obx14: str, *, codes: tuple[str, ...] = ("WBC",)) -> bytes:
    return ("\r".join([
        f"MSH|^~\\&|LIS|H001|ALLIANCE|ALLIANCE|20261123083000+0800||ORU^R01^ORU_R01|{control}|P|2.5.1|||AL|NE||"
        "UNICODE UTF-8",
        "PID|1||M-1^^^H001^MR||测试||19491231|M",
        "OBR|1|PL-1|RPT-1|CBC^血常规^L|||20261123080000+0800||||||||||||||||LAB|F",
        *[f"OBX|{n}|NM|{code}^项目^L||5.6|10*9/L|3.5-9.5|N|||F|||{obx14}" for n, code in enumerate(codes, 1)],
    ]) + "\r").encode()


@pytest.fixture
async def dx(start_service, dev_keys):
    rt = await start_service(SPEC)
    admin = {"Authorization": f"Bearer {dev_keys.issue('admin', roles=['alliance_admin'])}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", headers=admin, timeout=30) as c:
        r = await c.post("/v1/hospitals", json={"hospital_id": "H001", "name": "H001", "level": "tertiary",
                                                "region_code": "330100", "specialties": [], "total_beds": 10})
        assert r.status_code == 201, r.text
    rt.extras["admin"] = admin
    rt.extras["hospital"] = {"Authorization": f"Bearer {dev_keys.issue('his', hospital_id='H001', roles=['hospital'])}"}
    return rt


@pytest.mark.parametrize("ts", ["99991231235959-1400", "00010101000000+1400", "21991231230000-1400"])
async def test_an_hl7_time_at_the_end_of_the_calendar_is_an_ae_naming_the_field(dx, ts):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dx.http_port}", headers=dx.extras["hospital"]) as c:
        r = await c.post("/v1/hl7/messages", content=_oru("C-EDGE", ts), headers={"Content-Type": HL7})
    assert r.status_code == 200, r.text
    ack = ack_fields(r.content)
    assert ack["code"] == "AE", ack
    assert [(e["segment"], e["field"]) for e in ack["errors"]] == [("OBX", "14")], ack["errors"]


async def test_one_unmapped_code_twice_in_a_message_is_held_not_an_error(dx):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dx.http_port}", headers=dx.extras["hospital"]) as c:
        r = await c.post("/v1/hl7/messages", headers={"Content-Type": HL7},
                         content=_oru("C-DUP", "20261123080000+0800", codes=("ZZ-LOCAL", "ZZ-LOCAL")))
        assert r.status_code == 200 and ack_fields(r.content)["code"] == "AA", r.content
        unmapped = await c.get("/v1/unmapped-codes", params={"hospital_id": "H001"}, headers=dx.extras["admin"])
    assert sorted(u["local_code"] for u in unmapped.json()) == ["CBC", "ZZ-LOCAL"]   # once each


@pytest.mark.parametrize("value", ["ge9999-12-31T23:59:59-14:00", "lt0001-01-01T00:00:00+14:00", "eq9999-12-31",
                                   "9999", "le2199-12-31T23:00:00-14:00"])
async def test_a_fhir_date_search_at_the_end_of_the_calendar_is_an_operation_outcome(dx, value):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dx.http_port}", headers=dx.extras["hospital"]) as c:
        for resource in ("Observation", "Encounter", "DiagnosticReport"):
            r = await c.get(f"/fhir/{resource}", params={"patient": "P-1", "date": value})
            assert r.status_code == 400, r.text
            assert r.json()["resourceType"] == "OperationOutcome"


async def test_a_fhir_resource_dated_at_the_end_of_the_calendar_is_refused_with_an_operation_outcome(dx):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dx.http_port}", headers=dx.extras["hospital"]) as c:
        r = await c.post("/fhir/Patient", headers={"Content-Type": "application/fhir+json"}, json={
            "resourceType": "Patient", "identifier": [{"system": "urn:mrn:H001", "value": "M-9"}],
            "birthDate": "9999-12-31", "gender": "male"})
    assert 400 <= r.status_code < 500 and r.json()["resourceType"] == "OperationOutcome", r.text
    assert "birthDate" in r.text


@pytest.mark.parametrize("csv", [b"kind,local_code,alliance_code,display\nitem,L\r1,LAB-WBC,a\n",
                                 b"kind,local_code,alliance_code,display\r\nitem,\"L\r\n2\",LAB-WBC,b\r\n",
                                 b"kind,local_code,alliance_code,display\ritem,L3,LAB-WBC,c\ritem,L3,LAB-HGB,d\r"])
async def test_a_code_map_csv_with_line_breaks_or_a_repeated_code_answers_by_line_never_a_500(dx, csv):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dx.http_port}", headers=dx.extras["admin"]) as c:
        r = await c.post("/v1/code-maps/H001/import", content=csv, headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["imported"] + len(body["errors"]) >= 1 and all(e["row"] >= 2 for e in body["errors"])


async def test_a_repeated_code_in_a_code_map_csv_is_a_row_error_naming_the_first_line(dx):
    csv = b"kind,local_code,alliance_code,display\nitem,L3,LAB-WBC,c\nitem,L3,LAB-HGB,d\n"
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dx.http_port}", headers=dx.extras["admin"]) as c:
        r = await c.post("/v1/code-maps/H001/import", content=csv, headers={"Content-Type": "text/csv"})
    assert r.status_code == 200 and r.json()["imported"] == 1, r.text
    assert r.json()["errors"] == [{"row": 3, "error": "duplicate of row 2 (item L3)"}]


@pytest.mark.parametrize(("request_", "code"), [
    (pb.ResolvePatientRequest(patient_id=""), grpc.StatusCode.NOT_FOUND),
    (pb.ResolvePatientRequest(mrn=pb.HospitalMrn()), grpc.StatusCode.NOT_FOUND),
    (pb.GetPatientSummaryRequest(patient_id="", purpose="care"), grpc.StatusCode.INVALID_ARGUMENT)])   # names nobody
async def test_an_empty_patient_id_or_mrn_over_grpc_is_a_typed_answer_not_unknown(dx, dev_keys, request_, code):
    token = dev_keys.issue("his", hospital_id="H001", roles=["hospital"])
    async with grpc.aio.insecure_channel(f"127.0.0.1:{dx.grpc_port}") as channel:
        stub = pb_grpc.PatientIndexStub(channel)
        call = stub.ResolvePatient if isinstance(request_, pb.ResolvePatientRequest) else stub.GetPatientSummary
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await call(request_, metadata=bearer_metadata(token))
    assert e.value.code() == code, e.value.details()


@pytest.mark.parametrize("path", ["/fhir/Patient/..", "/fhir/Observation/R-1%2F..%2F..%2Fx", "/fhir/a/b/c"])
async def test_a_path_under_fhir_that_no_route_serves_is_an_operation_outcome(dx, path):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dx.http_port}", headers=dx.extras["hospital"]) as c:
        r = await c.get(path)
    assert r.status_code in (404, 405), r.text
    assert r.headers["content-type"].startswith("application/fhir+json") and r.json()["resourceType"] == "OperationOutcome"
