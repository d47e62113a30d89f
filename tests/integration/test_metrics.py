"""Metrics an operator can scrape, and gRPC reflection: services started in-process on the real infrastructure."""

from __future__ import annotations

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from alliance.data_exchange.v1 import facilities_pb2, facilities_pb2_grpc
from cost_sharing.bootstrap import SPEC as COST_SHARING
from data_exchange.bootstrap import SPEC as DATA_EXCHANGE
from data_exchange.entrypoints.mllp import send

MRN = "MRN-SECRET-4711"
NAME = "张三丰"
NID = "11010519491231002X"  # synthetic, checksum-valid
PHONE = "13812345678"
PATIENT_PATH_ID = "pat-SECRET-0815"


def oru(control: str) -> bytes:
    return ("\r".join([
        f"MSH|^~\\&|LIS|NOSUCHFAC|ALLIANCE|ALLIANCE|20261123083000+0800||ORU^R01^ORU_R01|{control}|P|2.5.1"
        "|||AL|NE||UNICODE UTF-8",
        f"PID|1||{MRN}^^^NOSUCHFAC^MR~{NID}^^^CHN^NNCHN||{NAME}||19491231|M|||||{PHONE}",
        "OBR|1|PL-1|RPT-9001|CBC^血常规^L|||20261123080000+0800||||||||||||||||LAB|F",
        "OBX|1|NM|WBC^白细胞计数^L||5.6|10*9/L|3.5-9.5|N|||F|||20261123080000+0800",
    ]) + "\r").encode()


def value(text: str, name: str, **labels: str) -> float | None:
    """The value of the one series of `name` whose labels include `labels` (None when there is none)."""
    found = []
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        series, _, number = line.rpartition(" ")
        head, _, rest = series.partition("{")
        if head != name:
            continue
        pairs = dict(p.split("=", 1) for p in rest.rstrip("}").split(",") if p) if rest else {}
        if all(pairs.get(k) == f'"{v}"' for k, v in labels.items()):
            found.append(float(number))
    assert len(found) <= 1, f"{name} {labels}: several series match"
    return found[0] if found else None


async def scrape(rt) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}") as anonymous:
        return await anonymous.get("/metrics")


@pytest.fixture
async def dx(start_service):
    return await start_service(DATA_EXCHANGE, mllp_port=0)


async def test_metrics_are_public_prometheus_text_by_route_template_with_no_patient_data(dx, dev_keys):
    hospital = {"Authorization": f"Bearer {dev_keys.issue('h', hospital_id='H001', roles=['hospital'])}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dx.http_port}") as c:
        assert (await c.get("/healthz")).status_code == 200
        for _ in range(3):
            assert (await c.get(f"/fhir/Patient/{PATIENT_PATH_ID}", headers=hospital)).status_code == 404
        assert (await c.get(f"/fhir/Patient/{PATIENT_PATH_ID}")).status_code == 401
        assert (await c.get(f"/no-such-route/{MRN}")).status_code == 404
    for n in range(2):
        await send("127.0.0.1", dx.extras["mllp"].port, oru(f"MSG-{n}"))

    response = await scrape(dx)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text

    route = "/fhir/{resource_type}/{resource_id}"
    assert value(text, "alliance_http_requests_total", route=route, method="GET", status_class="4xx") == 4
    assert value(text, "alliance_http_request_duration_seconds_count", route=route, method="GET",
                 status_class="4xx") == 4
    assert value(text, "alliance_http_request_duration_seconds_bucket", route=route, method="GET",
                 status_class="4xx", le="+Inf") == 4
    assert value(text, "alliance_http_requests_total", route="/healthz", status_class="2xx") == 1
    assert value(text, "alliance_http_requests_total", route="<unmatched>", status_class="4xx") == 1
    acks = {code: value(text, "alliance_mllp_messages_total", ack_code=code) for code in ("AA", "AE", "AR")}
    assert sum(v or 0 for v in acks.values()) == 2, acks
    assert value(text, "alliance_mllp_message_duration_seconds_count", ack_code=next(
        code for code, v in acks.items() if v)) == 2
    assert value(text, "alliance_dependency_up", dependency="database", service="data-exchange") == 1
    assert value(text, "alliance_dependency_up", dependency="kafka") == 1
    assert value(text, "alliance_outbox_backlog_events") is not None
    for family in ("alliance_grpc_requests_total", "alliance_relay_publish_duration_seconds",
                   "alliance_dlq_published_total"):
        assert f"# TYPE {family} " in text
    for secret in (MRN, NAME, NID, PHONE, PATIENT_PATH_ID, "SECRET", "Bearer"):
        assert secret not in text


async def test_grpc_calls_are_counted_by_method_and_code_and_reflection_lists_every_service(dx):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{dx.grpc_port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        assert (await health.Check(health_pb2.HealthCheckRequest())).status == health_pb2.HealthCheckResponse.SERVING
        registry = facilities_pb2_grpc.FacilityRegistryStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await registry.ListHospitals(facilities_pb2.ListHospitalsRequest())
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED

        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        answers = [a async for a in reflection.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]))]
        listed = {s.name for s in answers[0].list_services_response.service}
        assert {"alliance.data_exchange.v1.FacilityRegistry", "alliance.data_exchange.v1.PatientIndex",
                "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= listed
        described = [a async for a in reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="alliance.data_exchange.v1.FacilityRegistry")]))]
        assert described[0].file_descriptor_response.file_descriptor_proto

    text = (await scrape(dx)).text
    assert value(text, "alliance_grpc_requests_total", method="/grpc.health.v1.Health/Check", code="OK") == 1
    assert value(text, "alliance_grpc_requests_total", method="/alliance.data_exchange.v1.FacilityRegistry/ListHospitals",
                 code="UNAUTHENTICATED") == 1
    assert value(text, "alliance_grpc_request_duration_seconds_count",
                 method="/grpc.health.v1.Health/Check", code="OK") == 1


async def test_cost_sharing_exposes_its_ledger_and_warnings_and_counts_verifications(start_service, dev_keys):
    rt = await start_service(COST_SHARING)
    admin = {"Authorization": f"Bearer {dev_keys.issue('admin', roles=['alliance_admin'])}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", headers=admin) as c:
        assert (await c.get("/v1/ledger/verify")).json()["ok"] is True
    text = (await scrape(rt)).text
    assert value(text, "alliance_ledger_head_seq", service="cost-sharing") == 0
    assert value(text, "alliance_ledger_checkpoint_seq") == 0
    assert value(text, "alliance_ledger_checkpoint_age_seconds") is None    # nothing signed yet
    assert value(text, "alliance_ledger_verifications_total", result="ok") == 1
    assert "# TYPE alliance_warnings_open gauge" in text
    assert "# TYPE alliance_consumer_lag_messages gauge" in text
