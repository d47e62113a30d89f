"""The vertical slice: an administrator registers hospitals in data-exchange; every other service learns them.

All five services run in this process on the real broker, each on its own fresh PostgreSQL database.
"""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import func, select

from alliance.data_exchange.v1 import facilities_pb2 as pb
from alliance.data_exchange.v1 import facilities_pb2_grpc as pb_grpc
from alliance_auth.dev import DevKeys
from alliance_auth.grpc import bearer_metadata
from alliance_service import NotMigrated, build_runtime
from alliance_telemetry import setup_telemetry
from alliance_telemetry.testing import InMemorySpanExporter
from alliance_testing.helpers import eventually
from cost_sharing.bootstrap import SPEC as COST_SHARING
from data_exchange.bootstrap import SPEC as DATA_EXCHANGE
from procurement.bootstrap import SPEC as PROCUREMENT
from referral.bootstrap import SPEC as REFERRAL
from results_mutual_recognition.bootstrap import SPEC as RMR

SAMPLE = json.loads((Path(__file__).parents[2] / "scripts" / "sample_alliance.json").read_text())["hospitals"]
READERS = (REFERRAL, PROCUREMENT, COST_SHARING, RMR)
SPANS = InMemorySpanExporter()


@pytest.fixture
async def alliance(start_service):
    setup_telemetry("tests", span_exporter=SPANS)
    registry = await start_service(DATA_EXCHANGE)
    readers = [await start_service(spec) for spec in READERS]
    return registry, readers


def _client(runtime, token: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{runtime.http_port}", headers=headers, timeout=10)


def _admin(dev_keys) -> str:
    return dev_keys.issue("admin-1", roles=["alliance_admin"])


async def _known_everywhere(readers, token, expect: dict[str, int]) -> bool:
    for rt in readers:
        async with _client(rt, token) as c:
            r = await c.get("/v1/member-hospitals")
            if r.status_code != 200 or {h["hospital_id"]: h["version"] for h in r.json()} != expect:
                return False
    return True


async def test_registered_hospitals_reach_every_service_and_updates_follow(alliance, dev_keys):
    registry, readers = alliance
    admin = _admin(dev_keys)
    async with _client(registry, admin) as c:
        for h in SAMPLE:
            r = await c.post("/v1/hospitals", json=h)
            assert r.status_code == 201, r.text
            assert r.headers["etag"] == '"1"'
        await eventually(lambda: _known_everywhere(readers, admin, {h["hospital_id"]: 1 for h in SAMPLE}))

        profile = {k: v for k, v in SAMPLE[2].items() if k != "hospital_id"}
        r = await c.put("/v1/hospitals/H003", json=profile | {"total_beds": 400}, headers={"If-Match": '"1"'})
        assert r.status_code == 200, r.text
        assert r.json()["version"] == 2
    expected = {h["hospital_id"]: 1 for h in SAMPLE} | {"H003": 2}
    await eventually(lambda: _known_everywhere(readers, admin, expected))

    referral = readers[0]
    async with _client(referral, admin) as c:
        h003 = (await c.get("/v1/member-hospitals/H003")).json()
    assert h003["total_beds"] == 400 and h003["level"] == "secondary" and "cardiology" in h003["specialties"]
    async with _client(readers[3], admin) as c:
        tertiary = (await c.get("/v1/member-hospitals/H001")).json()
    assert tertiary == {"hospital_id": "H001", "name": SAMPLE[0]["name"], "level": "tertiary", "active": True,
                        "version": 1}


async def test_repeating_a_registration_is_idempotent_and_a_conflicting_one_is_refused(alliance, dev_keys):
    registry, _ = alliance
    async with _client(registry, _admin(dev_keys)) as c:
        assert (await c.post("/v1/hospitals", json=SAMPLE[1])).status_code == 201
        again = await c.post("/v1/hospitals", json=SAMPLE[1])
        assert again.status_code == 200 and again.json()["version"] == 1
        clash = await c.post("/v1/hospitals", json=SAMPLE[1] | {"total_beds": 1})
        assert clash.status_code == 409
        assert clash.headers["content-type"].startswith("application/problem+json")
        stale = await c.put("/v1/hospitals/H002", json={k: v for k, v in SAMPLE[1].items() if k != "hospital_id"}
                            | {"total_beds": 2}, headers={"If-Match": '"7"'})
        assert stale.status_code == 412 and stale.json()["current_version"] == 1
        bad = await c.post("/v1/hospitals", json=SAMPLE[2] | {"region_code": "12", "total_beds": -5})
        assert bad.status_code == 422
        assert {tuple(e["location"])[-1] for e in bad.json()["errors"]} == {"region_code", "total_beds"}
    outbox = registry.spec.tables.outbox
    async with registry.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(outbox)) == 1


async def test_auth_matrix_on_the_registry(alliance, dev_keys, tmp_path):
    registry, _ = alliance
    admin = _admin(dev_keys)
    async with _client(registry, admin) as c:
        for h in SAMPLE[:2]:
            assert (await c.post("/v1/hospitals", json=h)).status_code == 201
    forged = DevKeys.create(tmp_path / "other").issue("admin-1", roles=["alliance_admin"])
    cases = [
        ("no token", None, "GET", "/v1/hospitals", 401),
        ("expired", dev_keys.issue("admin-1", roles=["alliance_admin"], ttl=-120), "GET", "/v1/hospitals", 401),
        ("wrong signature", forged, "GET", "/v1/hospitals", 401),
        ("wrong audience", dev_keys.issue("admin-1", roles=["alliance_admin"], audience="another-api"),
         "GET", "/v1/hospitals", 401),
        ("wrong role", dev_keys.issue("h1", hospital_id="H001", roles=["hospital"]), "POST", "/v1/hospitals", 403),
        ("regulator cannot write", dev_keys.issue("r1", roles=["regulator"]), "PUT", "/v1/hospitals/H001", 403),
        ("another hospital", dev_keys.issue("h1", hospital_id="H001", roles=["hospital"]),
         "GET", "/v1/hospitals/H002/interface", 404),
        ("own hospital", dev_keys.issue("h1", hospital_id="H001", roles=["hospital"]),
         "GET", "/v1/hospitals/H001/interface", 200),
        ("any member reads the directory", dev_keys.issue("h2", hospital_id="H002", roles=["hospital"]),
         "GET", "/v1/hospitals/H001", 200),
    ]
    body = {k: v for k, v in SAMPLE[0].items() if k != "hospital_id"}
    for name, token, method, path, status in cases:
        async with _client(registry, token) as c:
            r = await c.request(method, path, json=body if method != "GET" else None)
        assert r.status_code == status, f"{name}: {r.status_code} {r.text}"
        if status >= 400:
            assert r.headers["content-type"].startswith("application/problem+json"), name
        if status == 401:
            assert r.headers["www-authenticate"].startswith("Bearer"), name
    async with _client(registry, dev_keys.issue("h1", hospital_id="H001", roles=["hospital"])) as c:
        other = await c.put("/v1/hospitals/H002/interface", json={"interface_facility_codes": ["X"]})
        missing = await c.get("/v1/hospitals/H999/interface")
    assert other.status_code == missing.status_code == 404
    assert other.json()["detail"] == "hospital H002 not found"


async def test_grpc_registry_needs_a_token_but_health_does_not(alliance, dev_keys):
    registry, _ = alliance
    async with _client(registry, _admin(dev_keys)) as c:
        assert (await c.post("/v1/hospitals", json=SAMPLE[0])).status_code == 201
    async with grpc.aio.insecure_channel(f"127.0.0.1:{registry.grpc_port}") as channel:
        health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(
            service="alliance.data_exchange.v1.FacilityRegistry"))
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        stub = pb_grpc.FacilityRegistryStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GetHospital(pb.GetHospitalRequest(hospital_id="H001"))
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        token = dev_keys.issue("h3", hospital_id="H003", roles=["hospital"])
        found = await stub.GetHospital(pb.GetHospitalRequest(hospital_id="H001"), metadata=bearer_metadata(token))
        assert (found.level, found.version) == (pb.HOSPITAL_LEVEL_TERTIARY, 1)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GetHospital(pb.GetHospitalRequest(hospital_id="H404"), metadata=bearer_metadata(token))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_one_trace_runs_from_the_admin_call_to_the_db_write_in_another_service(alliance, dev_keys):
    registry, readers = alliance
    SPANS.clear()
    async with _client(registry, _admin(dev_keys)) as c:
        assert (await c.post("/v1/hospitals", json=SAMPLE[4])).status_code == 201
    await eventually(lambda: _known_everywhere(readers, _admin(dev_keys), {"H005": 1}))
    spans = SPANS.get_finished_spans()
    http = next(s for s in spans if s.kind.name == "SERVER" and s.attributes.get("http.route") == "/v1/hospitals"
                and s.attributes.get("http.request.method", s.attributes.get("http.method")) == "POST")
    trace_id = http.context.trace_id
    referral_group = readers[0].consumer.group_id
    consume = next(s for s in spans if s.context.trace_id == trace_id and s.kind.name == "CONSUMER"
                   and s.attributes.get("messaging.consumer.group.name") == referral_group)
    writes = [s for s in spans if s.context.trace_id == trace_id and s.parent is not None
              and s.parent.span_id == consume.context.span_id and "INSERT" in s.name.upper()]
    assert writes, [s.name for s in spans if s.context.trace_id == trace_id]
    groups = {s.attributes.get("messaging.consumer.group.name") for s in spans
              if s.context.trace_id == trace_id and s.kind.name == "CONSUMER"}
    assert groups == {rt.consumer.group_id for rt in readers}


async def test_a_service_refuses_to_start_on_an_unmigrated_database(databases, kafka_bootstrap, dev_keys):
    url = await databases.create("unmigrated")
    settings = REFERRAL.settings_type(database_url=url, kafka_bootstrap=kafka_bootstrap, http_port=0, grpc_port=0,
                                      jwks=str(dev_keys.jwks_path))
    runtime = build_runtime(REFERRAL, settings)
    with pytest.raises(NotMigrated, match="no revision"):
        await runtime.start()
    await runtime.engine.dispose()


async def test_readiness_reports_an_unreachable_broker_as_503(alliance, databases, dev_keys):
    registry, _ = alliance
    async with _client(registry, None) as c:
        ok = await c.get("/readyz")
    assert ok.status_code == 200 and ok.json()["checks"] == {"database": "ok", "kafka": "ok", "outbox": "ok"}
    url = await databases.create("nobroker")
    settings = REFERRAL.settings_type(database_url=url, kafka_bootstrap="127.0.0.1:1", http_port=0, grpc_port=0,
                                      jwks=str(dev_keys.jwks_path))
    runtime = build_runtime(REFERRAL, settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(runtime.app), base_url="http://t") as c:
        r = await c.get("/readyz")
    await runtime.engine.dispose()
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["checks"]["database"] == "ok" and r.json()["checks"]["kafka"] != "ok"
