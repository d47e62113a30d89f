"""With the database unreachable: HL7 gets AR with ERR-3 207 (resend unchanged), REST and FHIR a 503 with
Retry-After — a sender can tell a system error from a content error and knows to resend."""

from __future__ import annotations

import httpx
import pytest

from alliance_telemetry import OUTAGES
from data_exchange.bootstrap import SPEC
from data_exchange.entrypoints.mllp import send
from data_exchange.hl7 import ack_fields

UNREACHABLE = "postgresql+asyncpg://alliance@127.0.0.1:1/data_exchange"   # nothing listens on port 1
ADT = (b"MSH|^~\\&|HIS|H002|ALLIANCE|ALLIANCE|20261123090000+0800||ADT^A04^ADT_A01|DOWN-1|P|2.5.1\r"
       b"EVN|A04|20261123090000+0800\rPID|1||DOWN-1^^^H002^MR||||19650312|M\rPV1|1|O\r")


@pytest.fixture
async def down(start_service, dev_keys):
    """data-exchange whose database cannot be reached (the app and MLLP listener run; start-up checks don't)."""
    rt = await start_service(SPEC, start=False, database_url=UNREACHABLE, mllp_port=0)
    token = dev_keys.issue("his", hospital_id="H002", roles=["hospital"])
    transport = httpx.ASGITransport(app=rt.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dx", timeout=30,
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        yield rt, client
    OUTAGES.reset()             # this process's registry: the unreachable database is not the next test's
    await OUTAGES.close()


def _assert_system_error(ack: dict) -> None:
    assert ack["code"] == "AR" and ack["acknowledged_control_id"] == "DOWN-1", ack
    assert [(e["code"], e["code_text"]) for e in ack["errors"]] == [("207", "Application internal error")], ack
    assert "database unavailable" in ack["text"] and "resend it unchanged" in ack["errors"][0]["text"], ack


async def test_hl7_over_http_is_ar_207_with_503_and_retry_after(down):
    _, client = down
    r = await client.post("/v1/hl7/messages", content=ADT, headers={"Content-Type": "x-application/hl7-v2+er7"})
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    _assert_system_error(ack_fields(r.content))


async def test_hl7_over_mllp_is_ar_207_never_ae(down):
    rt, _ = down
    server = rt.extras["mllp"]
    await server.start()
    try:
        _assert_system_error(ack_fields(await send("127.0.0.1", server.port, ADT)))
    finally:
        await server.stop()


async def test_rest_answers_503_problem_json_with_retry_after(down):
    _, client = down
    r = await client.get("/v1/hospitals/H002")
    assert r.status_code == 503 and r.headers["retry-after"] == "5", r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"].endswith("/service-unavailable") and body["dependency"] == "database"
    assert "Traceback" not in r.text and "asyncpg" not in r.text


async def test_fhir_answers_503_operation_outcome_transient(down):
    _, client = down
    r = await client.get("/fhir/Patient", params={"identifier": "DOWN-1"})
    assert r.status_code == 503 and r.headers["retry-after"] == "5", r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    assert r.json()["resourceType"] == "OperationOutcome" and r.json()["issue"][0]["code"] == "transient"


async def test_readiness_names_the_degraded_database_and_since_when(down):
    _, client = down
    r = await client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["checks"]["database"] != "ok" and body["degraded"]["database"]["since"], body
