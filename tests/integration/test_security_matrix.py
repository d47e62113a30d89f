"""The security matrix, generated: every operation of every service × every token defect, role and hospital.

The five services run in-process on the real database and broker. Operations come from each service's own OpenAPI
document (with its `x-alliance-roles` declaration, the same that docs/authorization.md is generated from) and from the
gRPC methods each service registers, so a new endpoint is covered without anyone writing a case. For each:
(a) every token defect → 401 (problem+json; an OperationOutcome under /fhir; gRPC UNAUTHENTICATED);
(b) each role × own / other / no hospital with a valid token → never 5xx, never 401, exactly 403 where the table says
the role is not allowed and a documented status otherwise; another hospital's referral, order or FHIR Patient is 404.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import grpc
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from alliance_auth.dev import DEV_AUDIENCE, DEV_ISSUER
from alliance_auth.fastapi import OPENAPI_ROLES
from alliance_auth.grpc import bearer_metadata, handler_roles, registered_methods
from alliance_auth.roles import FORBIDDEN, OWN_HOSPITAL_ONLY, ROLE_ORDER
from alliance_testing.helpers import eventually
from cost_sharing.bootstrap import SPEC as COST_SHARING
from data_exchange.bootstrap import SPEC as DATA_EXCHANGE
from procurement.bootstrap import SPEC as PROCUREMENT
from referral.adapters.orm import member_hospitals as referral_members
from referral.adapters.store import rule_to_json
from referral.bootstrap import SPEC as REFERRAL
from referral.domain.rules import sample_rules
from results_mutual_recognition.bootstrap import SPEC as RMR

pytestmark = pytest.mark.timeout(420)

OWN, OTHER, NOWHERE = "H001", "H002", "H404"
CONCURRENCY = 8
PROBLEM, FHIR_JSON = "application/problem+json", "application/fhir+json"
# what an allowed caller may get besides success: the README's documented client errors
DOCUMENTED = {200, 201, 202, 204, 400, 404, 409, 412, 413, 415, 422, 428}
GRPC_ANSWERS = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
                grpc.StatusCode.FAILED_PRECONDITION}
NID = "330122196503121232"    # synthetic, checksum-valid
STENT = "140101000001" + "0001"
PRIVATE = {"hospital_id", "referral_id", "order_id", "resource_id"}     # path parameters naming H002's things
SUMMARY: dict[str, dict[str, Counter]] = {}


# --- the stack -------------------------------------------------------------------------------------------------------

class Stack:
    """The five services and the objects another hospital (H002) owns."""

    def __init__(self) -> None:
        self.runtimes: dict[str, Any] = {}
        self.objects: dict[str, str] = {}       # path parameter → id of an object H002 owns


@pytest.fixture(scope="module")
async def stack(databases, kafka_bootstrap, dev_keys):
    from alliance_service import build_runtime, upgrade

    prefix = f"test.{uuid.uuid4().hex[:8]}."
    started: list = []

    async def start(spec, **overrides):
        url = await databases.create(spec.name)
        await upgrade(Path(spec.service_dir), url)
        ports = {name: 0 for name in spec.settings_type.model_fields if name.endswith("_port")}
        settings = spec.settings_type(**{
            **ports, "database_url": url, "kafka_bootstrap": kafka_bootstrap, "jwks": str(dev_keys.jwks_path),
            "topic_prefix": prefix, "consumer_group": f"{prefix}{spec.name}", "environment": "test", **overrides})
        runtime = build_runtime(spec, settings)
        await runtime.start()
        started.append(runtime)
        return runtime

    s = Stack()
    try:
        dx = await start(DATA_EXCHANGE)
        rmr = await start(RMR, data_exchange_grpc=f"127.0.0.1:{dx.grpc_port}")
        ref = await start(REFERRAL, data_exchange_grpc=f"127.0.0.1:{dx.grpc_port}",
                          recognition_grpc=f"127.0.0.1:{rmr.grpc_port}")
        proc, cs = await start(PROCUREMENT), await start(COST_SHARING)
        s.runtimes = {rt.spec.name: rt for rt in (dx, ref, proc, cs, rmr)}
        await _seed(s, dev_keys)
        yield s
    finally:
        for runtime in reversed(started):
            await runtime.stop()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _seed(s: Stack, dev_keys) -> None:
    """H002 owns a FHIR Patient, a referral (offered to H003, not to H001) and an order."""
    dx, ref, proc = (s.runtimes[n] for n in ("data-exchange", "referral", "procurement"))
    admin = _bearer(dev_keys.issue("admin-1", roles=["alliance_admin"]))
    h002 = _bearer(dev_keys.issue("his-H002", hospital_id=OTHER, roles=["hospital"]))
    async with httpx.AsyncClient(timeout=30) as c:
        for hid, level, specialties in ((OWN, "primary", ["general_practice"]),
                                        (OTHER, "secondary", ["internal_medicine"]),
                                        ("H003", "tertiary", ["cardiology"])):
            r = await c.post(f"http://127.0.0.1:{dx.http_port}/v1/hospitals", headers=admin, json={
                "hospital_id": hid, "name": f"医院{hid}", "level": level, "region_code": "330100",
                "specialties": specialties, "total_beds": 300})
            assert r.status_code == 201, r.text
        patient = await c.post(f"http://127.0.0.1:{dx.http_port}/fhir/Patient",
                               headers=h002 | {"Content-Type": FHIR_JSON}, json={
            "resourceType": "Patient", "gender": "male", "birthDate": "1965-03-12",
            "identifier": [{"system": f"https://alliance.example/fhir/sid/mrn/{OTHER}", "value": "0012345"},
                           {"system": "urn:oid:2.16.156.10011.1.1", "value": NID}],
            "name": [{"family": "测试", "given": ["患者"]}]})
        assert patient.status_code == 201, patient.text
        s.objects["resource_id"] = patient.json()["id"] if "id" in patient.json() else \
            patient.headers["Location"].split("/")[3]
        from data_exchange.adapters.orm import patient_links
        async with dx.engine.connect() as conn:
            s.objects["patient_id"] = (await conn.execute(select(patient_links.c.patient_id))).scalar_one()

        r = await c.post(f"http://127.0.0.1:{ref.http_port}/v1/rules/versions", headers=admin, json={
            "effective_from": (datetime.now(UTC) + timedelta(seconds=1)).isoformat(),
            "rules": [rule_to_json(x) for x in sample_rules().rules]})
        assert r.status_code == 201, r.text

        async def members_reached(rt, table) -> bool:
            async with rt.engine.connect() as conn:
                return len((await conn.execute(select(table))).all()) == 3

        from procurement.adapters.orm import member_hospitals as procurement_members
        await eventually(lambda: members_reached(ref, referral_members))
        await eventually(lambda: members_reached(proc, procurement_members))
        await asyncio.sleep(1.0)            # the rules take effect
        beds = await c.put(f"http://127.0.0.1:{ref.http_port}/v1/beds/H003/cardiology", headers=admin,
                           json={"available": 10, "total": 60})
        assert beds.status_code == 200, beds.text
        referral = await c.post(f"http://127.0.0.1:{ref.http_port}/v1/referrals", headers=h002, json={
            "patient_id": s.objects["patient_id"], "diagnosis_code": "I21.0", "severity": "severe"})
        assert referral.status_code == 201, referral.text
        assert OWN not in referral.json()["referral"].get("offers", [])
        s.objects["referral_id"] = referral.json()["referral"]["referral_id"]

        p = f"http://127.0.0.1:{proc.http_port}/v1"
        assert (await c.post(f"{p}/items", headers=admin, json={
            "code": STENT, "name": "支架", "specification": "3.0x18mm", "manufacturer": "示例",
            "base_unit": "each"})).status_code == 201
        rid = (await c.post(f"{p}/rounds", headers=admin, json={
            "title": "matrix", "deadline": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
            "items": [{"item_code": STENT, "baseline_unit_price": "100"}]})).json()["round_id"]
        assert (await c.put(f"{p}/rounds/{rid}/commitments", headers=h002,
                            json={"items": [{"item_code": STENT, "quantity": 10}]})).status_code == 200
        assert (await c.put(f"{p}/rounds/{rid}/bids", headers=_bearer(dev_keys.issue("SUP-A", roles=["supplier"])),
                            json={"item_code": STENT, "semantics": "all_units",
                                  "tiers": [{"min_volume": 0, "unit_price": "90"}]})).status_code == 200
        assert (await c.post(f"{p}/rounds/{rid}/award", headers=admin, json={"close_now": True})).status_code == 200
        order = await c.post(f"{p}/orders", headers=h002, json={"lines": [{"item_code": STENT, "quantity": 2}]})
        assert order.status_code == 201, order.text
        s.objects["order_id"] = order.json()["order_id"]
        s.objects["round_id"] = rid


# --- tokens ----------------------------------------------------------------------------------------------------------

def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "sub": "admin-1", "iat": now, "exp": now + 600,
              "jti": uuid.uuid4().hex, "roles": ["alliance_admin"]}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def token_defects(dev_keys) -> dict[str, str | None]:
    """Each defect → the Authorization token (None: no header at all)."""
    key, kid, now = dev_keys.private_key, dev_keys.kid, int(time.time())

    def sign(claims: dict, signing_key=key, headers: dict | None = None) -> str:
        return jwt.encode(claims, signing_key, algorithm="ES256", headers={"kid": kid, "typ": "JWT"} | (headers or {}))

    return {
        "none": None,
        "not a JWT": "not-a-jwt",
        "expired": sign(_claims(iat=now - 7200, exp=now - 3600)),
        "not yet valid": sign(_claims(nbf=now + 3600)),
        "wrong issuer": sign(_claims(iss="https://evil.example")),
        "wrong audience": sign(_claims(aud="someone-else")),
        "forged signature": sign(_claims(), signing_key=ec.generate_private_key(ec.SECP256R1())),
        "alg none": jwt.encode(_claims(), None, algorithm="none", headers={"kid": kid}),
        "unknown kid": sign(_claims(), headers={"kid": "no-such-key"}),
        "role missing": sign(_claims(roles=None)),
    }


def role_tokens(dev_keys) -> dict[str, str]:
    return {role: dev_keys.issue(f"{role}-1", hospital_id=OWN if role == "hospital" else None, roles=[role])
            for role in ROLE_ORDER}


# --- operations ------------------------------------------------------------------------------------------------------

class Operation:
    """One HTTP operation of a service, with its declared roles."""

    def __init__(self, service: str, port: int, method: str, path: str, op: dict, spec: dict) -> None:
        self.service, self.port, self.method, self.path, self.op = service, port, method, path, op
        self.roles = op.get(OPENAPI_ROLES)
        self.params = op.get("parameters", [])
        content = op.get("requestBody", {}).get("content", {})
        self.media = next(iter(content), None)
        ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
        self.body_fields = set(spec.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1], {})
                               .get("properties", {}))
        # every operation documents 500 (the safety net's answer); for the matrix a 500 is always a failure
        self.documented = DOCUMENTED | {int(code) for code in op.get("responses", {})
                                        if code.isdigit() and code != "500"}

    @property
    def fhir(self) -> bool:
        return self.path.startswith("/fhir")

    def hospital_scoped(self) -> bool:
        names = {p["name"] for p in self.params} | self.body_fields
        return bool(names & {"hospital_id", "referral_id", "order_id", "resource_id", "round_id"})

    def names_another_hospitals_object(self) -> bool:
        """In the `other` variant, the path names a hospital, or an object only H002 may see (referral, order, FHIR)."""
        return any(p["in"] == "path" and p["name"] in PRIVATE for p in self.params)

    def request(self, variant: str, objects: dict[str, str]) -> tuple[str, dict, bytes | None, dict]:
        """URL, query, body and headers for the hospital variant `own`, `other` or `none`."""
        hospital = {"own": OWN, "other": OTHER, "none": NOWHERE}[variant]
        url, query = self.path, {}
        for p in self.params:
            name, schema = p["name"], p.get("schema", {})
            if p["in"] == "path":
                value = _path_value(name, schema, hospital, variant, objects)
                url = url.replace("{" + name + "}", quote(value, safe="") if name != "contract_id" else value)
                url = url.replace("{" + name + ":path}", value)
            elif p["in"] == "query":
                if name == "hospital_id":
                    if variant != "none":
                        query[name] = hospital
                elif p.get("required"):
                    query[name] = _query_value(name, schema)
        headers: dict[str, str] = {}
        body: bytes | None = None
        if self.method in ("post", "put", "patch"):
            doc = {"hospital_id": hospital} if "hospital_id" in self.body_fields and variant != "none" else {}
            if self.media in (None, "application/json"):
                headers["Content-Type"], body = "application/json", json.dumps(doc).encode()
            elif self.fhir:
                headers["Content-Type"], body = FHIR_JSON, b"{}"
            else:
                headers["Content-Type"], body = self.media, b""
        return url, query, body, headers


def _path_value(name: str, schema: dict, hospital: str, variant: str, objects: dict[str, str]) -> str:
    if name == "hospital_id":
        return hospital
    if name == "resource_type":
        return "Patient"
    if name == "period":
        return "2026-11"
    if variant == "other" and name in objects:
        return objects[name]
    if schema.get("enum"):
        return schema["enum"][0]
    if schema.get("format") == "uuid":
        return str(uuid.UUID(int=0))
    return {"kind": "item", "case_id": f"{NOWHERE}/V-0", "item_code": STENT}.get(name, f"no-such-{name}")


def _query_value(name: str, schema: dict) -> str:
    if name == "period" or schema.get("pattern", "").startswith("^\\d{4}-"):
        return "2026-11"
    kind = schema.get("format") or (schema.get("anyOf") or [{}])[0].get("format")
    if kind == "date-time":
        return "2026-11-01T00:00:00Z"
    if kind == "date":
        return "2026-11-01"
    return {"integer": "1", "number": "1", "boolean": "true"}.get(schema.get("type", ""), "x")


def operations(stack: Stack, service: str) -> list[Operation]:
    rt = stack.runtimes[service]
    spec = rt.app.openapi()
    return [Operation(service, rt.http_port, method, path, op, spec)
            for path, ops in sorted(spec["paths"].items()) for method, op in ops.items()
            if method in ("get", "put", "post", "patch", "delete") and op.get(OPENAPI_ROLES) != "public"]


def grpc_methods(stack: Stack, service: str) -> dict[str, Any]:
    rt = stack.runtimes[service]
    return registered_methods(lambda server: rt.spec.grpc_services(rt, server))


# --- running cases ---------------------------------------------------------------------------------------------------

async def _send(c: httpx.AsyncClient, gate: asyncio.Semaphore, op: Operation, variant: str, objects: dict,
                token: str | None) -> httpx.Response:
    url, query, body, headers = op.request(variant, objects)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with gate:
        return await c.request(op.method.upper(), f"http://127.0.0.1:{op.port}{url}", params=query, content=body,
                               headers=headers)


async def _grpc_call(port: int, method: str, token: str | None) -> grpc.StatusCode:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            await channel.unary_unary(method)(b"", metadata=bearer_metadata(token) if token else None, timeout=20)
        except grpc.aio.AioRpcError as exc:
            return exc.code()
    return grpc.StatusCode.OK


def _typed_error(op: Operation, r: httpx.Response) -> str | None:
    """Why an error response is not of the platform's error type, or None if it is."""
    kind = r.headers.get("content-type", "")
    if op.fhir:
        ok = kind.startswith(FHIR_JSON) and r.json().get("resourceType") == "OperationOutcome"
        return None if ok else f"not an OperationOutcome ({kind})"
    return None if kind.startswith(PROBLEM) else f"not problem+json ({kind})"


def _report(request: pytest.FixtureRequest, line: str) -> None:
    """One summary line per service, shown on the terminal even under output capture."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is None or reporter is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.ensure_newline()
        reporter.write_line(line)


SERVICES = ["data-exchange", "referral", "procurement", "cost-sharing", "results-mutual-recognition"]


async def test_every_token_defect_is_401_on_every_operation(stack, dev_keys, request):
    defects = token_defects(dev_keys)
    gate, failures = asyncio.Semaphore(CONCURRENCY), []
    async with httpx.AsyncClient(timeout=30) as c:
        for service in SERVICES:
            ops, methods = operations(stack, service), grpc_methods(stack, service)
            cases = [(op, name, token) for op in ops for name, token in defects.items()]
            answers = await asyncio.gather(*(_send(c, gate, op, "own", stack.objects, token)
                                             for op, _, token in cases))
            seen: Counter = Counter()
            for (op, name, _), r in zip(cases, answers, strict=True):
                seen[r.status_code] += 1
                if r.status_code != 401 or _typed_error(op, r):
                    failures.append(f"{op.method.upper()} {op.path} [{name}] → {r.status_code} "
                                    f"{_typed_error(op, r) or r.text[:120]}")
                elif not r.headers.get("WWW-Authenticate", "").startswith("Bearer"):
                    failures.append(f"{op.method.upper()} {op.path} [{name}] → 401 without WWW-Authenticate")
            port = stack.runtimes[service].grpc_port
            grpc_cases = [(m, name, token) for m in methods for name, token in defects.items()]
            codes = await asyncio.gather(*(_grpc_call(port, m, token) for m, _, token in grpc_cases))
            for (m, name, _), code in zip(grpc_cases, codes, strict=True):
                seen[f"gRPC {code.name}"] += 1
                if code != grpc.StatusCode.UNAUTHENTICATED:
                    failures.append(f"{m} [{name}] → {code.name}")
            SUMMARY.setdefault(service, {})["defects"] = seen
            _report(request, f"security matrix {service} token defects: {len(ops)} operations + {len(methods)} gRPC "
                             f"methods × {len(defects)} defects = {len(cases) + len(grpc_cases)} cases → "
                             + ", ".join(f"{k}: {v}" for k, v in sorted(seen.items(), key=str)))
    assert not failures, f"{len(failures)} cases answered other than 401:\n" + "\n".join(failures[:60])


async def test_a_hospital_token_without_a_hospital_id_is_401_on_every_operation(stack, dev_keys):
    token = dev_keys.issue("his-nobody", roles=["hospital"])
    gate, failures = asyncio.Semaphore(CONCURRENCY), []
    async with httpx.AsyncClient(timeout=30) as c:
        for service in SERVICES:
            ops = operations(stack, service)
            answers = await asyncio.gather(*(_send(c, gate, op, "own", stack.objects, token) for op in ops))
            failures += [f"{op.method.upper()} {op.path} → {r.status_code}" for op, r in zip(ops, answers, strict=True)
                         if r.status_code != 401 or _typed_error(op, r)]
            port = stack.runtimes[service].grpc_port
            for m in grpc_methods(stack, service):
                if (code := await _grpc_call(port, m, token)) != grpc.StatusCode.UNAUTHENTICATED:
                    failures.append(f"{m} → {code.name}")
    assert not failures, "\n".join(failures[:60])


async def test_every_role_gets_what_the_authorisation_table_says(stack, dev_keys, request):
    tokens = role_tokens(dev_keys)
    gate, failures = asyncio.Semaphore(CONCURRENCY), []
    async with httpx.AsyncClient(timeout=30) as c:
        for service in SERVICES:
            ops, methods = operations(stack, service), grpc_methods(stack, service)
            cases = [(op, role, variant) for op in ops for role in ROLE_ORDER
                     for variant in (("own", "other", "none") if op.hospital_scoped() else ("own",))]
            answers = await asyncio.gather(*(_send(c, gate, op, variant, stack.objects, tokens[role])
                                             for op, role, variant in cases))
            seen: Counter = Counter()
            for (op, role, variant), r in zip(cases, answers, strict=True):
                seen[r.status_code] += 1
                expected = op.roles["answers"][role]
                where = f"{op.method.upper()} {op.path} [{role}, {variant} hospital] → {r.status_code}"
                if expected == FORBIDDEN:
                    if r.status_code != 403 or _typed_error(op, r):
                        failures.append(f"{where}, the table says 403: {r.text[:120]}")
                elif expected == OWN_HOSPITAL_ONLY and variant == "other" and op.names_another_hospitals_object():
                    # a write's body is validated before ownership is looked at: 422 tells nothing about the resource
                    if r.status_code not in ((404,) if op.method == "get" else (404, 422)):
                        failures.append(f"{where}, another hospital's resource must answer 404: {r.text[:120]}")
                elif r.status_code not in op.documented or r.status_code in (401, 403):
                    failures.append(f"{where}, not a documented answer for an allowed role: {r.text[:160]}")
                elif r.status_code >= 400 and _typed_error(op, r):
                    failures.append(f"{where}: {_typed_error(op, r)}")
            port = stack.runtimes[service].grpc_port
            grpc_cases = [(m, role) for m in methods for role in ROLE_ORDER]
            codes = await asyncio.gather(*(_grpc_call(port, m, tokens[role]) for m, role in grpc_cases))
            for (m, role), code in zip(grpc_cases, codes, strict=True):
                seen[f"gRPC {code.name}"] += 1
                denied = handler_roles(methods[m]).answer(role) == FORBIDDEN
                if (code == grpc.StatusCode.PERMISSION_DENIED) != denied or (not denied and code not in GRPC_ANSWERS):
                    failures.append(f"{m} [{role}] → {code.name} (table: {handler_roles(methods[m]).answer(role)})")
            SUMMARY.setdefault(service, {})["roles"] = seen
            _report(request, f"security matrix {service} roles: {len(ops)} operations + {len(methods)} gRPC methods × "
                             f"{len(ROLE_ORDER)} roles × own/other/no hospital = {len(cases) + len(grpc_cases)} cases "
                             "→ " + ", ".join(f"{k}: {v}" for k, v in sorted(seen.items(), key=str)))
    assert not failures, f"{len(failures)} cases differ from the table:\n" + "\n".join(failures[:80])


async def test_another_hospitals_referral_order_and_patient_answer_404(stack, dev_keys):
    """H001 names objects H002 owns: reads answer 404 (never 200), writes never succeed; their owner reads them."""
    own = dev_keys.issue("his-H001", hospital_id=OWN, roles=["hospital"])
    owner = dev_keys.issue("his-H002", hospital_id=OTHER, roles=["hospital"])
    dx, ref, proc = (stack.runtimes[n] for n in ("data-exchange", "referral", "procurement"))
    o = stack.objects
    reads = [f"http://127.0.0.1:{ref.http_port}/v1/referrals/{o['referral_id']}",
             f"http://127.0.0.1:{ref.http_port}/v1/referrals/{o['referral_id']}/handoff",
             f"http://127.0.0.1:{proc.http_port}/v1/orders/{o['order_id']}",
             f"http://127.0.0.1:{dx.http_port}/fhir/Patient/{o['resource_id']}"]
    async with httpx.AsyncClient(timeout=30) as c:
        for url in reads:
            assert (await c.get(url, headers=_bearer(own))).status_code == 404, url
        for url in reads[0], reads[2], reads[3]:
            assert (await c.get(url, headers=_bearer(owner))).status_code == 200, url
        found = (await c.get(f"http://127.0.0.1:{dx.http_port}/fhir/Patient", headers=_bearer(own),
                             params={"_id": o["resource_id"]})).json()
        assert found["total"] == 0
        listed = (await c.get(f"http://127.0.0.1:{ref.http_port}/v1/referrals", headers=_bearer(own))).json()
        assert o["referral_id"] not in {x["referral_id"] for x in listed}
        for action in ("accept", "cancel", "complete"):
            r = await c.post(f"http://127.0.0.1:{ref.http_port}/v1/referrals/{o['referral_id']}/{action}",
                             headers=_bearer(own), json={})
            assert r.status_code == 404, (action, r.status_code, r.text)
        receipt = await c.post(f"http://127.0.0.1:{proc.http_port}/v1/orders/{o['order_id']}/receipts",
                               headers=_bearer(own), json={"lines": []})
        assert receipt.status_code in (404, 422), receipt.text
    from alliance.data_exchange.v1 import clinical_pb2, clinical_pb2_grpc
    async with grpc.aio.insecure_channel(f"127.0.0.1:{dx.grpc_port}") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await clinical_pb2_grpc.PatientIndexStub(channel).GetPatientSummary(
                clinical_pb2.GetPatientSummaryRequest(patient_id=o["patient_id"], purpose="matrix"),
                metadata=bearer_metadata(own))
    assert denied.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_wrong_role_is_403_where_it_was_404(stack, dev_keys):
    """The review found 404 for a wrong role where the README promises 403 (finding 9): now 403 everywhere."""
    dx, ref, cs = (stack.runtimes[n] for n in ("data-exchange", "referral", "cost-sharing"))
    cases = [("regulator", "GET", f"http://127.0.0.1:{dx.http_port}/v1/hospitals/{OWN}/interface", None),
             ("supplier", "PUT", f"http://127.0.0.1:{dx.http_port}/v1/hospitals/{OWN}/interface",
              {"interface_facility_codes": ["X"]}),
             ("regulator", "GET", f"http://127.0.0.1:{dx.http_port}/fhir/Patient/{stack.objects['resource_id']}", None),
             ("supplier", "GET", f"http://127.0.0.1:{dx.http_port}/v1/code-maps/{OWN}", None),
             ("qc_center", "PUT", f"http://127.0.0.1:{ref.http_port}/v1/beds/{OWN}/cardiology",
              {"available": 1, "total": 2}),
             ("supplier", "POST", f"http://127.0.0.1:{cs.http_port}/v1/drg/in-stay",
              {"hospital_id": OWN, "principal_dx": "I21.900", "accumulated_cost_fen": 1})]
    async with httpx.AsyncClient(timeout=30) as c:
        answers = [(role, method, url, (await c.request(method, url, json=body, headers=_bearer(
            dev_keys.issue(f"{role}-1", roles=[role])))).status_code) for role, method, url, body in cases]
    assert [a for a in answers if a[3] != 403] == []
