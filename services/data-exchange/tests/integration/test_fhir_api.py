"""FHIR R4 REST against the real service: create, read, search, transaction, errors as OperationOutcome."""

from __future__ import annotations

import json

import httpx
import pytest

from alliance_testing.helpers import read_all
from data_exchange.bootstrap import SPEC

MRN_H002 = "https://alliance.example/fhir/sid/mrn/H002"
ITEMS = "https://alliance.example/fhir/CodeSystem/local/H002/items"
NATIONAL_ID = "urn:oid:2.16.156.10011.1.1"
NID = "330122196503121232"  # synthetic, checksum-valid
FHIR = "application/fhir+json"


def patient() -> dict:
    return {"resourceType": "Patient",
            "identifier": [{"system": MRN_H002, "value": "0012345"}, {"system": NATIONAL_ID, "value": NID}],
            "name": [{"family": "张", "given": ["建国"]}], "gender": "male", "birthDate": "1965-03-12",
            "telecom": [{"system": "phone", "value": "13900000001"}]}


def glucose(code: str = "GLU", value: str = "7.8") -> dict:
    return {"resourceType": "Observation", "status": "final",
            "identifier": [{"system": "https://alliance.example/fhir/sid/lis/H002", "value": f"LIS-{code}"}],
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "laboratory"}]}],
            "code": {"coding": [{"system": ITEMS, "code": code, "display": "空腹血糖"}]},
            "subject": {"identifier": {"system": MRN_H002, "value": "0012345"}},
            "effectiveDateTime": "2026-11-20T07:30:00+08:00",
            "valueQuantity": {"value": float(value), "unit": "mmol/L"}}


@pytest.fixture
async def api(start_service, dev_keys):
    rt = await start_service(SPEC, mllp_port=0)
    admin = {"Authorization": f"Bearer {dev_keys.issue('admin', roles=['alliance_admin'])}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", headers=admin) as c:
        for hid, level in (("H001", "tertiary"), ("H002", "secondary"), ("H003", "secondary")):
            r = await c.post("/v1/hospitals", json={"hospital_id": hid, "name": f"医院{hid}", "level": level,
                                                    "region_code": "330122", "total_beds": 100})
            assert r.status_code == 201
        assert (await c.put("/v1/code-maps/H002/item/GLU", json={"alliance_code": "LAB-GLU"})).status_code == 200

    def client(hospital: str) -> httpx.AsyncClient:
        token = dev_keys.issue(f"his-{hospital}", hospital_id=hospital, roles=["hospital"])
        return httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}/fhir",
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": FHIR})

    rt.extras["client"] = client
    return rt


async def test_create_read_and_search_keep_identifiers_protected_and_scoped(api, kafka_bootstrap):
    async with api.extras["client"]("H002") as h002:
        created = await h002.post("/Patient", json=patient())
        assert created.status_code == 201, created.text
        assert created.headers["content-type"].startswith(FHIR)
        pid = created.json()["id"]
        stored = created.json()
        assert NID not in json.dumps(stored) and "13900000001" not in json.dumps(stored)
        obs = await h002.post("/Observation", json=glucose())
        assert obs.status_code == 201, obs.text
        read = await h002.get(f"/Patient/{pid}")
        assert read.status_code == 200 and read.json()["id"] == pid
        by_nid = await h002.get("/Patient", params={"identifier": f"{NATIONAL_ID}|{NID}"})
        assert [e["resource"]["id"] for e in by_nid.json()["entry"]] == [pid]
        by_patient = await h002.get("/Observation", params={"patient": pid, "code": f"{ITEMS}|GLU",
                                                            "date": "ge2026-11-01"})
        assert by_patient.json()["total"] == 1
        assert (await h002.get("/Observation", params={"date": "lt2026-01-01"})).json()["total"] == 0
        for params, total in [({"code": "GLU"}, 1), ({"code": f"{ITEMS}|"}, 1), ({"code": "GL_"}, 0),
                              ({"identifier": "LIS-GLU"}, 1), ({"identifier": "100%"}, 0)]:
            found = await h002.get("/Observation", params=params)
            assert found.status_code == 200 and found.json()["total"] == total, (params, found.text)
    async with api.extras["client"]("H003") as h003:
        other = await h003.get(f"/Patient/{pid}")
        assert other.status_code == 404 and other.json()["resourceType"] == "OperationOutcome"
        assert (await h003.get("/Observation")).json()["total"] == 0
    records = await read_all(kafka_bootstrap, api.topic("alliance.data_exchange.v1"), expected=3)
    results = [json.loads(r.value) for r in records if b"ResultRecorded" in r.value]
    assert [(e["data"]["item"]["code"], e["data"]["source"], e["data"]["value"]) for e in results] == [
        ("LAB-GLU", "fhir", "7.8")]


@pytest.mark.parametrize("body, status, code", [
    (b"{not json", 400, "structure"),
    (json.dumps({"resourceType": "Encounter"}).encode(), 400, None),
    (json.dumps({**glucose(), "status": "guessed"}).encode(), 422, "code-invalid"),
    (json.dumps({k: v for k, v in glucose().items() if k != "code"}).encode(), 422, "required"),
    (json.dumps({**glucose(), "effectiveDateTime": "2026-13-45"}).encode(), 422, None),
])
async def test_invalid_resources_get_an_operation_outcome_never_a_500(api, body, status, code):
    async with api.extras["client"]("H002") as h002:
        r = await h002.post("/Observation", content=body)
    assert r.status_code == status, r.text
    assert r.json()["resourceType"] == "OperationOutcome"
    if code:
        assert code in {i["code"] for i in r.json()["issue"]}


async def test_an_unmapped_code_is_kept_and_reported_as_a_warning(api):
    async with api.extras["client"]("H002") as h002:
        r = await h002.post("/Observation", json=glucose(code="HBA1C"))
    assert r.status_code == 201
    issues = r.json()["issue"]
    assert r.json()["resourceType"] == "OperationOutcome" and {i["severity"] for i in issues} == {"warning"}
    assert any("HBA1C" in i.get("diagnostics", "") for i in issues)


async def test_a_transaction_bundle_is_stored_all_or_nothing(api):
    p, o = "urn:uuid:6f1c2a52-7c1e-4b7e-9a35-0c3f1d9e8a01", "urn:uuid:6f1c2a52-7c1e-4b7e-9a35-0c3f1d9e8a02"
    observation = glucose() | {"subject": {"reference": p}}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": p, "resource": patient(), "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": o, "resource": observation, "request": {"method": "POST", "url": "Observation"}}]}
    async with api.extras["client"]("H002") as h002:
        ok = await h002.post("", json=bundle)
        assert ok.status_code == 200, ok.text
        assert [e["response"]["status"] if "response" in e else e["status"] for e in ok.json()["entry"]] == [
            "201 Created", "201 Created"]
        broken = json.loads(json.dumps(bundle))
        broken["entry"][1]["resource"]["status"] = "nonsense"
        bad = await h002.post("", json=broken)
        assert bad.status_code == 422
        assert (await h002.get("/Patient")).json()["total"] == 1


async def test_a_bundle_cannot_overwrite_another_hospitals_resource_by_its_id(api):
    async with api.extras["client"]("H002") as h002:
        mine = await h002.post("/Observation", json=glucose(), headers={"Prefer": "return=representation"})
        assert mine.status_code == 201, mine.text
        rid = mine.json()["id"]
        # H002 may update its own resource under its id
        own = await h002.post("", json={"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": glucose() | {"id": rid}, "request": {"method": "PUT", "url": f"Observation/{rid}"}}]})
        assert own.status_code == 200, own.text
    mrn_h003 = {"system": MRN_H002.replace("H002", "H003"), "value": "0099"}
    forged = glucose() | {"id": rid, "subject": {"identifier": mrn_h003},
                          "identifier": [{"system": "https://alliance.example/fhir/sid/lis/H003", "value": "LIS-X"}],
                          "valueQuantity": {"value": 99.9, "unit": "mmol/L"}}
    async with api.extras["client"]("H003") as h003:
        r = await h003.post("", json={"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": patient() | {"identifier": [mrn_h003]}, "request": {"method": "POST", "url": "Patient"}},
            {"resource": forged, "request": {"method": "PUT", "url": f"Observation/{rid}"}}]})
        assert r.status_code == 409 and r.json()["resourceType"] == "OperationOutcome", r.text
        assert (await h003.get("/Patient")).json()["total"] == 0          # all or nothing: the Patient is gone too
    async with api.extras["client"]("H002") as h002:
        stored = (await h002.get(f"/Observation/{rid}")).json()
    assert stored["meta"]["versionId"] == "2" and stored["valueQuantity"]["value"] != 99.9


async def test_metadata_is_a_capability_statement(api):
    async with api.extras["client"]("H002") as h002:
        r = await h002.get("/metadata")
    assert r.status_code == 200 and r.json()["resourceType"] == "CapabilityStatement"
    assert r.json()["fhirVersion"] == "4.0.1"


async def test_authentication_errors_under_fhir_are_operation_outcomes(api):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api.http_port}") as anonymous:
        r = await anonymous.get("/fhir/Patient")
        elsewhere = await anonymous.get("/v1/hospitals")
    assert r.status_code == 401 and r.json()["resourceType"] == "OperationOutcome"
    assert r.json()["issue"][0]["code"] == "login" and r.headers["www-authenticate"].startswith("Bearer")
    assert elsewhere.status_code == 401 and elsewhere.headers["content-type"].startswith("application/problem+json")


def _outcome(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text[:300]
    assert r.headers["content-type"].startswith(FHIR)
    body = r.json()
    assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["code"] == code
    return body


async def test_edge_refusals_under_fhir_are_operation_outcomes(api):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api.http_port}") as anonymous:
        _outcome(await anonymous.post("/fhir/Patient", content=b'{"resourceType": ',
                                      headers={"Content-Type": FHIR}), 401, "login")
    async with api.extras["client"]("H002") as h002:
        nul = json.dumps(patient(), ensure_ascii=False).replace("建国", "建\\u0000国").encode()
        body = _outcome(await h002.post("/Patient", content=nul), 422, "invalid")
        assert "U+0000" in body["issue"][0]["diagnostics"]
        _outcome(await h002.post("/Patient", content=b" " * (1 << 20) + json.dumps(patient()).encode()),
                 413, "too-long")
        padded = json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": []}).encode() + b" " * (2 << 20)
        assert (await h002.post("", content=padded)).status_code != 413  # a transaction Bundle may be 16 MiB
        _outcome(await h002.post("", content=b" " * (17 << 20)), 413, "too-long")


async def test_edge_refusals_on_the_hl7_route_stay_problem_json(api, dev_keys):
    token = dev_keys.issue("his-H002", hospital_id="H002", roles=["hospital"])
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api.http_port}") as c:
        r = await c.post("/v1/hl7/messages", content=b"MSH|" + b"x" * (17 << 20),
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "x-application/hl7-v2+er7"})
    assert r.status_code == 413 and r.headers["content-type"].startswith("application/problem+json")
