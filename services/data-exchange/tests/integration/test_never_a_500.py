"""Hostile HTTP input against every data-exchange endpoint: a typed 4xx, never a 500 (seeded, bounded)."""

from __future__ import annotations

import random
from urllib.parse import quote

import httpx
import pytest

from data_exchange.bootstrap import SPEC

JUNK = ["", "%", "_", "|", "||", "a|b|c", "\\", "'; DROP TABLE patients;--", "ge", "eq2026", "2026-13-01",
        "lt9999-99", "Patient/", "Patient/../x", "\x00", "张三", "🙂" * 50, "9" * 400, "-1", "0", "1001", "true",
        "urn:oid:2.16.156.10011.1.1|", "|11010519491231002X", "http://loinc.org|", "ge2026-11-01T25:00"]
PARAMS = ["patient", "subject", "identifier", "code", "date", "_id", "_count", "_sort", "name", "status", "authored"]
TYPES = ["Patient", "Observation", "Encounter", "DiagnosticReport", "ServiceRequest", "Unknown"]


def _bodies(rng: random.Random) -> list[bytes]:
    base = [b"", b"null", b"[]", b"{}", b"{\"resourceType\": 5}", b"\xff\xfe", b"{" * 5000, b"1e999999",
            b'{"resourceType": "Observation", "valueQuantity": {"value": NaN}}',
            b'{"resourceType": "Bundle", "type": "transaction", "entry": [{}]}',
            b'{"resourceType": "Bundle", "type": "transaction", "entry": "x"}']
    for _ in range(40):
        doc = {"resourceType": rng.choice(TYPES + ["Bundle"]),
               rng.choice(["id", "identifier", "subject", "code", "status", "entry", "valueQuantity"]):
                   rng.choice(JUNK + [[], {}, [{}], {"reference": "Patient/x"}, 1.5, None, True])}
        base.append(repr(doc).replace("'", '"').replace("None", "null").replace("True", "true").encode())
    return base


@pytest.fixture
async def client(start_service, dev_keys):
    rt = await start_service(SPEC, mllp_port=0)
    token = dev_keys.issue("his", hospital_id="H002", roles=["hospital"])
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", timeout=20,
                                 headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


async def test_fhir_search_and_create_answer_hostile_input_without_a_500(client):
    rng = random.Random(20261123)
    for _ in range(250):
        rtype = rng.choice(TYPES)
        params = [(rng.choice(PARAMS), rng.choice(JUNK)) for _ in range(rng.randint(1, 3))]
        r = await client.get(f"/fhir/{rtype}", params=params)
        assert r.status_code < 500, (rtype, params, r.text[:300])
    for body in _bodies(rng):
        for path in ("/fhir/Observation", "/fhir/Patient", "/fhir"):
            r = await client.post(path, content=body, headers={"Content-Type": "application/fhir+json"})
            assert r.status_code < 500, (path, body[:80], r.text[:300])
            assert r.headers["content-type"].startswith(("application/fhir+json", "application/problem+json"))


async def test_the_other_endpoints_answer_hostile_input_without_a_500(client):
    rng = random.Random(7)
    paths = ["/v1/hospitals/{}", "/v1/hospitals/{}/interface", "/v1/code-maps/{}", "/v1/unmapped-codes?hospital_id={}",
             "/fhir/Patient/{}", "/fhir/Observation/{}"]
    for _ in range(120):
        path = rng.choice(paths).format(quote(rng.choice(JUNK) or "x", safe=""))
        r = await client.get(path)
        assert r.status_code < 500, (path, r.text[:200])
    empty = await client.post("/v1/hl7/messages", content=b"", headers={"Content-Type": "x-application/hl7-v2+er7"})
    assert empty.status_code == 422 and empty.headers["content-type"].startswith("application/problem+json")
    for body in (b"\xff", b"MSH|", b"MSH|^~\\&|" + b"|" * 10000, b"MSH|^~\\&|a|H002\r" * 3):
        r = await client.post("/v1/hl7/messages", content=body, headers={"Content-Type": "x-application/hl7-v2+er7"})
        assert r.status_code == 200 and b"MSA|A" in r.content, (body[:40], r.content[:200])


async def test_nul_characters_inside_payloads_are_refused_not_stored(client, dev_keys):
    patient = {"resourceType": "Patient", "identifier": [{"system": "https://alliance.example/fhir/sid/mrn/H002",
                                                          "value": "N\u0000UL"}], "name": [{"text": "a\u0000b"}]}
    import json as _json

    r = await client.post("/fhir/Patient", content=_json.dumps(patient).encode(),
                          headers={"Content-Type": "application/fhir+json"})
    assert 400 <= r.status_code < 500, r.text
    hl7 = ("MSH|^~\\&|LIS|H002|A|A|20261120083000+0800||ADT^A04^ADT_A01|NUL-1|P|2.5.1\r"
           "PID|1||M\x001^^^H002^MR||张\x00三||19491231|M\r"
           "PV1|1|O|CARD^^^H002||||||||||||||||V-1\r").encode()
    r = await client.post("/v1/hl7/messages", content=hl7, headers={"Content-Type": "x-application/hl7-v2+er7"})
    assert r.status_code == 200 and (b"MSA|AE" in r.content or b"MSA|AR" in r.content), r.content
