"""Hostile input against every operation of all five services: a typed 4xx, never a 5xx; gRPC never UNKNOWN.

Each HTTP operation comes from the service's own OpenAPI document; path parameters, query strings and bodies
(JSON from the operation's schema, CSV, FHIR JSON, HL7 v2) are filled with seeded junk — dates and periods in
year 0/9999, times shifted ±14 h at the ends of the calendar, CR inside CSV fields, duplicate keys in batches,
huge and negative numbers — and sent with tokens of every role. Every 4xx must be problem+json (an
OperationOutcome under /fhir). Each gRPC method of each servicer gets junk field values and out-of-range
Timestamps: never UNKNOWN/INTERNAL, no Python exception text in the details. Bounded and deterministic.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from urllib.parse import quote

import grpc
import httpx
import pytest
from google.protobuf import descriptor as pbd
from google.protobuf import descriptor_pool, symbol_database
from google.protobuf.message import Message

from alliance_auth.grpc import bearer_metadata
from cost_sharing.bootstrap import SPEC as COST_SHARING
from data_exchange.bootstrap import SPEC as DATA_EXCHANGE
from procurement.bootstrap import SPEC as PROCUREMENT
from referral.bootstrap import SPEC as REFERRAL
from results_mutual_recognition.bootstrap import SPEC as RESULTS

SEED = int(os.environ.get("ALLIANCE_HOSTILE_SEED", "20261203"))   # another seed explores further
BUDGET = 600      # HTTP requests per service
GRPC_CALLS = 40   # per gRPC method
JUNK = ["", "%", "..", "'; DROP TABLE ledger_entries;--", "2026-13", "9999-99", "张三", "🙂" * 40, "9" * 400,
        "-1", "0", "1e999", "NaN", "true", "null", "1401010000010001", "H001", "H002", "R-1/../../x"]
TIMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z",
         "1900-01-01T00:00:00+14:00", "2199-12-31T23:00:00-14:00", "2026-11-23T08:00:00+08:00",
         "2026-11-23T08:00:00", "9999-12-31", "2026-02-30T00:00:00Z", "2026-11-23T08:00:00+23:59"]
DATES = ["0001-01-01", "9999-12-31", "0000-00-00", "2026-02-30", "2026-11-23", "1899-12-31", "2200-01-01"]
PERIODS = ["0000-01", "9999-12", "0001-01", "2026-11", "2026-13", "1899-12", "2199-12", "2200-01", "2026-1"]
NUMBERS = [-1, 0, 1, 7, 10 ** 30, -10 ** 30, 2 ** 63, 2 ** 31, 1.5, 1e308, "-0.00001", "12.50"]
STRINGS = ["H001", "H002", "x", "WBC", "CBC", "I21.0", "cardiology", "P-1", "1401010000010001", ""]
VALUES = [None, True, -1, 0, 1.5, 10 ** 30, "", "x" * 3000, "NaN", "1e999", [], {}, [{}], {"a": None}]
FHIR_TYPES = ["Patient", "Observation", "Encounter", "DiagnosticReport", "ServiceRequest", "Bundle", "Unknown"]
FHIR_PARAMS = ["patient", "subject", "identifier", "code", "date", "_id", "_count", "_sort", "birthdate", "status"]
FHIR_DATES = ["ge9999-12-31T23:59:59-14:00", "lt0001-01-01T00:00:00+14:00", "eq9999-12-31", "0000", "9999",
              "le9999-12", "ge0001-01", "ne2026-11-23", "sa9999-12-31T23:00:00+14:00", "2026-11-23T08:00:00Z",
              "eb0001-01-01", "ap9999-12-31"]
HL7_TS = ["99991231235959-1400", "00010101000000+1400", "00000000", "9999", "20261323", "20261123083000+0800",
          "21991231230000-1400", "19000101000000+1400", "99991231", "2026112308300000000000"]
CSV_BODIES = [b"", b"\xff", b"a,b\n1,2\n", b"x\r", b'"unterminated', b"\r\r\r", b"\n\n"]
CSV_ROWS = {
    "data-exchange": ("kind,local_code,alliance_code,display", ["lab,L1,WBC,a", "lab,L1,WBC,b", 'lab,"L\r2",WBC,c',
                                                                "lab,L\r3,WBC,d", 'lab,"L\n4",WBC,e', "diag,D1,I21.0,x"]),
    "procurement": ("unified_code,name,specification,manufacturer,base_unit,insurance_code,udi_di",
                    ["C0000000000000000001,a,b,c,个,,", "C0000000000000000001,a,b,c,个,,", 'X,"a\rb",c,d,个,,',
                     "X,a\rb,c,d,个,,", 'X,"a\nb",c,d,个,,']),
    "procurement-map": ("local_code,unified_code,local_name,udi_di", ["L1,C1,a,", "L1,C1,b,", "L\r2,C1,c,",
                                                                     '"L\n3",C1,c,']),
    "results-mutual-recognition": ("item_code,name,category,validity_days,loinc,conditions",
                                   ["WBC,白细胞,lab,30,,", "WBC,白细胞,lab,30,,", "HGB,a\rb,lab,30,,",
                                    'HGB,"a\rb",lab,30,,', 'CT,"a\nb",imaging,180,,', "X,y,lab,-1,,",
                                    "Y,y,lab,99999999999999999999,,"]),
}


EDGE_TIMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59Z", "2199-12-31T23:00:00-14:00",
              "1900-01-01T00:00:00+14:00"]
ITEMS_CSV = "unified_code,name,specification,manufacturer,base_unit,insurance_code,udi_di\n"


def _findings() -> dict[str, list[tuple[str, str, str, object, str]]]:
    """The issue's findings as explicit cases: (role, method, url, json body or bytes, content type)."""
    j = "application/json"
    rmr: list = []
    for t in EDGE_TIMES:
        rmr += [("hospital", "POST", "/v1/recognition/checks", {"patient_id": "P-1", "item_codes": ["WBC"], "at": t}, j),
                ("admin", "POST", "/v1/qc/eligibility", {"lab_id": "L1", "item_code": "WBC", "status": "passed",
                                                          "effective_from": t, "reference": "EQA-1"}, j),
                ("admin", "POST", "/v1/catalog/versions", {"effective_from": t, "items": [
                    {"item_code": "WBC", "name": "a", "category": "lab", "validity_days": 30}]}, j),
                ("admin", "GET", f"/v1/catalog?at={quote(t)}", None, j)]
    rmr += [("admin", "GET", f"/v1/indicators?period={p}", None, j) for p in PERIODS]
    rmr += [("admin", "POST", "/v1/catalog/versions", {"effective_from": "2026-01-01T00:00:00Z", "items": [
                {"item_code": "WBC", "name": "a", "category": "lab", "validity_days": 30},
                {"item_code": "WBC", "name": "b", "category": "lab", "validity_days": 30}]}, j),
            ("admin", "PUT", "/v1/prices/H001", {"effective_from": "2026-01-01T00:00:00Z", "items": [
                {"item_code": "WBC", "price_fen": 100}, {"item_code": "WBC", "price_fen": 200}]}, j),
            ("admin", "POST", "/v1/catalog/versions/import?effective_from=2026-01-01T00:00:00Z",
             b"item_code,name,category,validity_days\nWBC,a\rb,lab,30\nHGB,\"a\rb\",lab,30\nWBC,c,lab,30\n", "text/csv"),
            ("admin", "GET", "/v1/indicators", None, j)]
    referral = [("admin", "GET", f"/v1/indicators?since={quote(t)}", None, j) for t in EDGE_TIMES]
    referral += [("admin", "GET", f"/v1/rules?at={quote(t)}", None, j) for t in EDGE_TIMES]
    referral += [("admin", "POST", "/v1/rules/versions", {"effective_from": t, "rules": [
        {"rule_id": "R1", "icd10": "I21", "direction": "up", "severities": ["critical"], "target_levels": ["tertiary"],
         "urgency": "emergency"}, {"rule_id": "R1", "icd10": "I21", "direction": "up", "severities": ["critical"],
                                   "target_levels": ["tertiary"], "urgency": "emergency"}]}, j)
        for t in EDGE_TIMES + ["2026-01-01T00:00:00Z"]]
    referral += [("hospital", "PUT", "/v1/beds/H001/cardiology", {"total": 2 ** 63, "available": -1}, j)]
    procurement = [("hospital", "POST", "/v1/price-reports", {
        "item_code": "C0000000000000000001", "pack_unit": "box", "units_per_pack": "10", "pack_content_unit": "each",
        "quantity_packs": "1", "pack_price": "10", "supplier_id": "SUP-A", "purchased_on": d}, j)
        for d in ["9999-12-31", "2199-12-31", "0001-01-01", "1899-12-31"]]
    procurement += [("admin", "GET", f"/v1/prices?period={p}", None, j) for p in PERIODS]
    procurement += [("admin", "GET", f"/v1/contracts?on={d}", None, j) for d in DATES]
    procurement += [("admin", "POST", "/v1/items/import", (ITEMS_CSV + "C0000000000000000001,a\rb,c,d,个,,\n"
                     "C0000000000000000001,\"a\rb\",c,d,个,,\n").encode(), "text/csv"),
                    ("admin", "POST", "/v1/rounds", {"title": "t", "deadline": "9999-12-31T23:59:59-14:00",
                                                     "items": [{"item_code": "X"}, {"item_code": "X"}]}, j)]
    cost_sharing = [("admin", "GET", f"/v1/{what}?period={p}", None, j)
                    for p in PERIODS for what in ("coefficients", "scorecard", "balances", "statements", "indicators")]
    cost_sharing += [("admin", "POST", f"/v1/indicators/{p}/evaluate", None, j) for p in PERIODS]
    cost_sharing += [("admin", "GET", f"/v1/netting/{p}", None, j) for p in PERIODS]
    cost_sharing += [("admin", "POST", "/v1/joint-services", {
        "service_id": "S1", "kind": "joint_surgery", "amount_fen": 100, "collected_by": "H001", "occurred_at": t,
        "parties": [{"hospital_id": "H001", "role": "lead"}, {"hospital_id": "H001", "role": "lead"}]}, j)
        for t in EDGE_TIMES]
    data_exchange = [("hospital", "GET", f"/fhir/{rt}?{param}={quote(v)}", None, "application/fhir+json")
                     for rt in ("Observation", "Encounter", "DiagnosticReport", "Patient") for v in FHIR_DATES
                     for param in ("date", "birthdate")]
    data_exchange += [("admin", "POST", "/v1/code-maps/H001/import",
                       b"kind,local_code,alliance_code,display\nlab,L1,WBC,a\nlab,L\r2,WBC,b\nlab,\"L\n3\",WBC,c\n"
                       b"lab,L1,WBC,d\n", "text/csv")]
    data_exchange += [("hospital", "POST", "/v1/hl7/messages", _hl7(random.Random(n)), "x-application/hl7-v2+er7")
                      for n in range(20)]
    return {"results-mutual-recognition": rmr, "referral": referral, "procurement": procurement,
            "cost-sharing": cost_sharing, "data-exchange": data_exchange}


def _roles(dev_keys) -> dict[str, str]:
    return {"admin": dev_keys.issue("admin-1", roles=["alliance_admin"]),
            "regulator": dev_keys.issue("nhc", roles=["regulator"]),
            "hospital": dev_keys.issue("his", hospital_id="H001", roles=["hospital"]),
            "hospital2": dev_keys.issue("his2", hospital_id="H002", roles=["hospital"]),
            "supplier": dev_keys.issue("SUP-A", roles=["supplier"]), "qc": dev_keys.issue("qc", roles=["qc_center"])}


def _tokens(dev_keys) -> list[str]:
    """Every role, administrators and hospitals twice as often (their input reaches the domain most)."""
    roles = _roles(dev_keys)
    return [*roles.values(), roles["admin"], roles["hospital"]]


class Junk:
    """Seeded values for one OpenAPI document: mostly-valid shapes that reach the domain, and junk."""

    def __init__(self, spec: dict, rng: random.Random) -> None:
        self.schemas, self.rng = spec.get("components", {}).get("schemas", {}), rng

    def resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
        if "allOf" in schema and len(schema["allOf"]) == 1:
            return self.resolve(schema["allOf"][0])
        return schema

    def value(self, schema: dict, name: str = "", depth: int = 0):
        rng, schema = self.rng, self.resolve(schema)
        if rng.random() < 0.12 or depth > 4:
            return rng.choice(VALUES + JUNK)
        if "anyOf" in schema:
            return self.value(rng.choice(schema["anyOf"]), name, depth + 1)
        if "enum" in schema:
            return rng.choice(schema["enum"] + [rng.choice(JUNK)])
        kind, fmt, lowered = schema.get("type"), schema.get("format", ""), name.lower()
        if fmt == "date-time" or lowered in ("at", "since", "effective_from", "effective_to", "reported_at"):
            return rng.choice(TIMES)
        if fmt == "date" or lowered in ("on", "day", "date") or lowered.endswith("_on") or lowered.endswith("_date"):
            return rng.choice(DATES)
        if "period" in lowered or "cycle" in lowered:
            return rng.choice(PERIODS)
        if kind in ("integer", "number"):
            return rng.choice(NUMBERS)
        if kind == "boolean":
            return rng.choice([True, False, "yes"])
        if kind == "array":
            items = [self.value(schema.get("items", {}), name, depth + 1) for _ in range(rng.randint(0, 3))]
            if items and rng.random() < 0.35:
                items.append(items[0])              # two entries with one key in a batch
            return items
        if kind == "object" or "properties" in schema:
            return self.document(schema, depth + 1)
        if "price" in lowered or "fen" in lowered or "amount" in lowered or "quantity" in lowered:
            return rng.choice(NUMBERS)
        return rng.choice(STRINGS + JUNK[:6])

    def document(self, schema: dict, depth: int = 0) -> dict:
        props = self.resolve(schema).get("properties", {})
        doc = {k: self.value(v, k, depth) for k, v in props.items() if self.rng.random() < 0.9}
        if self.rng.random() < 0.1:
            doc[self.rng.choice(["extra", "unit_price", "period"])] = self.rng.choice(VALUES)
        return doc

    def body(self, operation: dict) -> bytes:
        rng = self.rng
        if rng.random() < 0.1:
            return rng.choice([b"", b"null", b"[]", b"{", b"\xff\xfe", b"{" * 3000, b'"x"', b"1e999999"])
        schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
        value = self.value(schema) if self.resolve(schema).get("type") == "array" else self.document(schema)
        return json.dumps(value, ensure_ascii=False).encode()

    def param(self, param: dict) -> str:
        value = self.value(param.get("schema", {}), param["name"]) if self.rng.random() < 0.8 else None
        if value is None or isinstance(value, (list, dict)):
            value = self.rng.choice(JUNK + TIMES + PERIODS)
        return json.dumps(value) if isinstance(value, bool) else str(value)


def _csv(rng: random.Random, which: str) -> bytes:
    if rng.random() < 0.25:
        return rng.choice(CSV_BODIES)
    header, rows = CSV_ROWS[which]
    chosen = rng.sample(rows, rng.randint(1, len(rows)))
    newline = rng.choice(["\n", "\r\n", "\r"])
    return (header + newline + newline.join(chosen) + newline).encode()


def _fhir_resource(rng: random.Random) -> dict:
    kind = rng.choice(["Patient", "Observation", "Encounter", "DiagnosticReport", "ServiceRequest"])
    doc: dict = {"resourceType": kind}
    subject = {"reference": rng.choice(["Patient/P-1", "Patient/x", "Patient/", ""])}
    when = rng.choice(TIMES + DATES)
    if kind == "Patient":
        doc |= {"identifier": [{"system": "urn:mrn:H001", "value": rng.choice(["M1", "", "9" * 400])}],
                "birthDate": rng.choice(DATES), "gender": rng.choice(["male", "x"]),
                "name": [{"text": "测试"}]}
    elif kind == "Observation":
        doc |= {"status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
                "subject": subject, "effectiveDateTime": when, "issued": rng.choice(TIMES),
                "valueQuantity": {"value": rng.choice(NUMBERS[:9]), "unit": "10*9/L"}}
    elif kind == "Encounter":
        doc |= {"status": "finished", "class": {"code": "IMP"}, "subject": subject,
                "period": {"start": when, "end": rng.choice(TIMES)}}
    elif kind == "DiagnosticReport":
        doc |= {"status": "final", "code": {"text": "CBC"}, "subject": subject, "effectiveDateTime": when,
                "issued": rng.choice(TIMES)}
    else:
        doc |= {"status": "active", "intent": "order", "code": {"text": "CT"}, "subject": subject,
                "authoredOn": when}
    return doc


def _fhir_body(rng: random.Random, resource_type: str) -> bytes:
    if rng.random() < 0.1:
        return rng.choice([b"", b"null", b"[]", b"{}", b'{"resourceType": 5}', b"\xff\xfe", b"1e999999"])
    if resource_type == "Bundle" or rng.random() < 0.15:
        entries = [{"resource": _fhir_resource(rng), "request": {"method": rng.choice(["POST", "PUT"]),
                                                                 "url": rng.choice(FHIR_TYPES)}}
                   for _ in range(rng.randint(0, 3))]
        return json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries}).encode()
    doc = _fhir_resource(rng)
    if resource_type in FHIR_TYPES:
        doc["resourceType"] = resource_type
    return json.dumps(doc, ensure_ascii=False).encode()


def _hl7(rng: random.Random) -> bytes:
    ts = lambda: rng.choice(HL7_TS)  # noqa: E731
    facility = rng.choice(["H001", "H002", "X"])
    msh = f"MSH|^~\\&|LIS|{facility}|ALLIANCE|ALLIANCE|{ts()}||{{}}|C{rng.randint(1, 10**6)}|P|2.5.1|||AL|NE||UNICODE UTF-8"
    pid = f"PID|1||M{rng.randint(1, 9)}^^^{facility}^MR||测试||{ts()}|M"
    kind = rng.choice(["oru", "a01", "a03", "orm", "junk"])
    if kind == "oru":
        segs = [msh.format("ORU^R01^ORU_R01"), pid, f"OBR|1|PL-1|RPT-1|CBC^血常规^L|||{ts()}||||||||||||||||LAB|F",
                f"OBX|1|NM|WBC^白细胞^L||{rng.choice(['5.6', '1e999', '-1', 'x'])}|10*9/L|3.5-9.5|N|||F|||{ts()}"]
        if rng.random() < 0.5:      # the same unmapped local code twice in one message
            segs += [f"OBX|{n}|NM|ZZ-LOCAL^未映射^L||1|g/L|||||F|||{ts()}" for n in (2, 3)]
    elif kind in ("a01", "a03"):
        segs = [msh.format(f"ADT^{kind.upper()}^ADT_{kind.upper()}"), f"EVN|{kind.upper()}|{ts()}", pid,
                f"PV1|1|I|CARD^^^{facility}||||||||||||||||V-1|||||||||||||||||||||||||{ts()}|{ts()}"]
    elif kind == "orm":
        segs = [msh.format("ORM^O01^ORM_O01"), pid, f"ORC|NW|ORD-1|||||||{ts()}", f"OBR|1|ORD-1||CT^CT^L|||{ts()}"]
    else:
        segs = [rng.choice(["MSH|", "MSH|^~\\&", "PID|1", "\x0b", "MSH|^~\\&|" + "|" * 30, msh.format("ZZZ")])]
    return ("\r".join(segs) + "\r").encode()


def _fault(method: str, url: str, r: httpx.Response, sent: object) -> str | None:
    """What is wrong with one answer, or None."""
    where = f"{method.upper()} {url} {sent!r:.200} -> {r.status_code} {r.text[:240]}"
    ctype = r.headers.get("content-type", "")
    if r.status_code >= 500:
        return where
    if url.startswith("/fhir") and r.status_code >= 400:
        if not ctype.startswith("application/fhir+json") or r.json().get("resourceType") != "OperationOutcome":
            return "not an OperationOutcome: " + where
    elif r.status_code >= 400:
        if not ctype.startswith("application/problem+json") or not {"type", "title", "status"} <= set(r.json()):
            return "not problem+json: " + where
    elif url.startswith("/v1/hl7") and not (r.content.startswith(b"MSH|") and b"\rMSA|" in r.content):
        return "not an ACK: " + where
    return None


async def _hammer(name: str, rt, dev_keys, seed: int, budget: int) -> tuple[int, int, Counter]:
    spec = rt.app.openapi()
    rng = random.Random(seed)
    junk, tokens = Junk(spec, rng), _tokens(dev_keys)
    routes = [(path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items()
              if not path.startswith(("/healthz", "/readyz"))]
    statuses: Counter = Counter()
    faults: list[str] = []
    roles, findings = _roles(dev_keys), _findings()[name]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", timeout=30) as c:
        for role, method, url, body, ctype in findings:
            headers = {"Authorization": f"Bearer {roles[role]}", "Content-Type": ctype}
            content = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
            r = await c.request(method, url, content=content, headers=headers)
            statuses[r.status_code] += 1
            if (fault := _fault(method.lower(), url, r, content and content[:160])) is not None:
                faults.append("finding: " + fault)
        for n in range(budget - len(findings)):
            path, method, op = routes[n] if n < len(routes) else rng.choice(routes)   # every operation at least once
            url = path
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    value = junk.param(param) if param["name"] not in ("resource_type",) else rng.choice(FHIR_TYPES)
                    url = url.replace("{" + param["name"] + "}", quote(value or "x", safe=""))
            query = [(p["name"], junk.param(p)) for p in op.get("parameters", [])
                     if p["in"] == "query" and rng.random() < 0.7]
            headers = {"Authorization": f"Bearer {rng.choice(tokens)}", "Content-Type": "application/json"}
            content = junk.body(op) if method in ("post", "put") else None
            request_types = json.dumps(op.get("requestBody", {}))
            if path.startswith("/fhir"):
                headers["Content-Type"] = "application/fhir+json"
                content = _fhir_body(rng, url.split("/")[2] if url.count("/") > 1 else "Bundle") \
                    if method == "post" else None
                if method == "get" and "{resource_type}" in path and "{resource_id}" not in path:
                    query = [(rng.choice(FHIR_PARAMS), rng.choice(FHIR_DATES + JUNK[:8]))
                             for _ in range(rng.randint(1, 3))]
            elif "text/csv" in request_types:
                headers["Content-Type"] = "text/csv"
                which = "procurement-map" if "mappings" in path else name
                content = _csv(rng, which)
            elif "hl7-v2" in request_types:
                headers["Content-Type"] = "x-application/hl7-v2+er7"
                content = _hl7(rng)
            r = await c.request(method.upper(), url, params=query, content=content, headers=headers)
            statuses[r.status_code] += 1
            if (fault := _fault(method, url, r, (query, content and content[:160]))) is not None:
                faults.append(fault)
    return len(routes), budget, statuses, faults


SPECS = {"procurement": PROCUREMENT, "cost-sharing": COST_SHARING, "data-exchange": DATA_EXCHANGE,
         "referral": REFERRAL, "results-mutual-recognition": RESULTS}


async def _seed(name: str, rt, dev_keys) -> None:
    """Member hospitals in data-exchange, so HL7 and FHIR input reaches mapping rather than stopping at the door."""
    if name != "data-exchange":
        return
    admin = {"Authorization": f"Bearer {dev_keys.issue('admin-1', roles=['alliance_admin'])}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", headers=admin, timeout=30) as c:
        for hid, level in (("H001", "tertiary"), ("H002", "secondary")):
            r = await c.post("/v1/hospitals", json={"hospital_id": hid, "name": hid, "level": level,
                                                    "region_code": "330100", "specialties": ["cardiology"],
                                                    "total_beds": 100})
            assert r.status_code in (200, 201), r.text


@pytest.mark.parametrize("name", list(SPECS))
async def test_every_operation_answers_hostile_input_with_a_typed_error_never_a_500(start_service, dev_keys, name):
    peers = {}
    if name in ("referral", "results-mutual-recognition"):   # configured as deployed: junk reaches the real path
        index = await start_service(SPECS["data-exchange"])
        peers["data_exchange_grpc"] = f"127.0.0.1:{index.grpc_port}"
        if name == "referral":
            peers["recognition_grpc"] = f"127.0.0.1:{(await start_service(SPECS['results-mutual-recognition'])).grpc_port}"
    rt = await start_service(SPECS[name], **peers)
    await _seed(name, rt, dev_keys)
    operations, sent, statuses, faults = await _hammer(name, rt, dev_keys, seed=SEED, budget=BUDGET)
    print(f"\n{name}: {operations} operations, {sent} requests, statuses {dict(sorted(statuses.items()))}")
    if _grpc_services(rt):
        methods, calls, codes, grpc_faults = await _grpc_hammer(name, rt, dev_keys)
        print(f"{name} gRPC: {methods} methods, {calls} calls, statuses {dict(sorted(codes.items()))}")
        faults += grpc_faults
    assert not faults, f"{len(faults)} faults:\n" + "\n".join(faults[:30])


# gRPC: every method of every servicer, with junk fields and Timestamps outside 1..9999 and the business range.
class _Registrar:
    """Stands in for a grpc server to learn which services a ServiceSpec registers."""

    def add_generic_rpc_handlers(self, handlers) -> None: ...

    def add_registered_method_handlers(self, name, handlers) -> None: ...


def _grpc_services(rt) -> list:
    """The descriptors of every gRPC service the service itself registers (new servicers are covered unasked)."""
    names = rt.spec.grpc_services(rt, _Registrar())
    return [descriptor_pool.Default().FindServiceByName(n) for n in names]


TS_SECONDS = [-62135596801, -62135596800, 253402300799, 253402300800, -(2 ** 62), 2 ** 62, 0, -2208988801,
              7258118400, 1_795_000_000]
GRPC_STRINGS = ["", "H001", "P-1", "WBC", "x" * 5000, "'; --", "张三", "🙂", "9" * 400]
PYTHON_INTERNALS = ("Traceback", "Error(", "Exception", 'File "', "object has no attribute", "line ")


def _fill(message: Message, rng: random.Random, depth: int = 0) -> None:
    for field in message.DESCRIPTOR.fields:
        if rng.random() < 0.2:
            continue
        if field.message_type is not None and field.message_type.full_name == "google.protobuf.Timestamp":
            ts = getattr(message, field.name)
            ts.seconds, ts.nanos = rng.choice(TS_SECONDS), rng.choice([0, 999_999_999])
            continue
        repeated = field.is_repeated if hasattr(field, "is_repeated") else field.label == field.LABEL_REPEATED
        count = rng.choice([0, 1, 3, 1001]) if repeated else 1
        for _ in range(count):
            if field.message_type is not None:
                if depth > 3:
                    break
                child = getattr(message, field.name).add() if repeated else getattr(message, field.name)
                _fill(child, rng, depth + 1)
                if not repeated:
                    child.SetInParent()
                continue
            if field.type == pbd.FieldDescriptor.TYPE_STRING:
                value = rng.choice(GRPC_STRINGS)
            elif field.type == pbd.FieldDescriptor.TYPE_BOOL:
                value = rng.choice([True, False])
            elif field.type == pbd.FieldDescriptor.TYPE_ENUM:
                value = rng.choice([v.number for v in field.enum_type.values] + [999])
            elif field.cpp_type in (pbd.FieldDescriptor.CPPTYPE_INT64,):
                value = rng.choice([-(2 ** 63), -1, 0, 2 ** 63 - 1])
            elif field.cpp_type in (pbd.FieldDescriptor.CPPTYPE_INT32,):
                value = rng.choice([-(2 ** 31), -1, 0, 2 ** 31 - 1])
            elif field.cpp_type in (pbd.FieldDescriptor.CPPTYPE_UINT32, pbd.FieldDescriptor.CPPTYPE_UINT64):
                value = rng.choice([0, 1, 2 ** 32 - 1])
            elif field.cpp_type in (pbd.FieldDescriptor.CPPTYPE_DOUBLE, pbd.FieldDescriptor.CPPTYPE_FLOAT):
                value = rng.choice([0.0, -1.0, float("inf"), float("nan"), 1e308])
            else:
                value = b"\xff" * rng.randint(0, 40)
            if repeated:
                getattr(message, field.name).append(value)
            else:
                setattr(message, field.name, value)


async def _grpc_hammer(name: str, rt, dev_keys) -> tuple[int, int, Counter, list[str]]:
    rng, tokens, codes = random.Random(SEED), _tokens(dev_keys), Counter()
    db = symbol_database.Default()
    calls, faults = 0, []
    services = _grpc_services(rt)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{rt.grpc_port}") as channel:
        for service in services:
            for method in service.methods:
                request_type = db.GetSymbol(method.input_type.full_name)
                response_type = db.GetSymbol(method.output_type.full_name)
                call = channel.unary_unary(f"/{service.full_name}/{method.name}",
                                           request_serializer=request_type.SerializeToString,
                                           response_deserializer=response_type.FromString)
                for _ in range(GRPC_CALLS):
                    request = request_type()
                    _fill(request, rng)
                    calls += 1
                    try:
                        await call(request, metadata=bearer_metadata(rng.choice(tokens)), timeout=30)
                        codes["OK"] += 1
                    except grpc.aio.AioRpcError as e:
                        codes[e.code().name] += 1
                        if e.code() in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL) or any(
                                s in (e.details() or "") for s in PYTHON_INTERNALS):
                            faults.append(f"gRPC {method.full_name} {str(request)[:200]!r} -> {e.code().name} "
                                          f"{(e.details() or '')[:200]}")
    return sum(len(s.methods) for s in services), calls, codes, faults


async def test_out_of_range_numbers_are_422_not_database_errors(start_service, dev_keys):
    """The 500s the hostile input found: a negative LIMIT, a sequence or an amount beyond BIGINT."""
    admin = {"Authorization": f"Bearer {dev_keys.issue('admin-1', roles=['alliance_admin'])}"}
    procurement, cost_sharing = await start_service(PROCUREMENT), await start_service(COST_SHARING)
    async with httpx.AsyncClient(headers=admin, timeout=30) as c:
        p, s = f"http://127.0.0.1:{procurement.http_port}/v1", f"http://127.0.0.1:{cost_sharing.http_port}/v1"
        answers = [await c.get(f"{p}/items", params={"limit": -1}),
                   await c.get(f"{s}/ledger/entries", params={"after_seq": "9" * 70}),
                   await c.get(f"{s}/drg/cases", params={"limit": -5}),
                   await c.post(f"{s}/pools", json={"pool_id": "p", "name": "x", "period": "2026-11",
                                                    "amount_fen": 10**30}),
                   await c.post(f"{p}/contracts/x/overruns", json={"hospital_id": "H001", "cause": "market",
                                                                   "overrun_fen": 10**30})]
    assert [a.status_code for a in answers] == [422] * 5
