"""The regulators' feed on a secured broker: the service speaks SASL/SCRAM, a regulator may only read."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError
from sqlalchemy import insert

from alliance.results_mutual_recognition.v1 import recognition_pb2 as rmr
from alliance_messaging import KafkaSecurity, event_from_proto, proto_time
from alliance_testing.helpers import eventually
from cost_sharing.adapters.orm import member_hospitals
from cost_sharing.bootstrap import SPEC
from cost_sharing.ledger_cli import from_feed

HOSPITALS = [("H001", "tertiary", "330100"), ("H002", "primary", "330100"), ("H003", "primary", "330200")]


def _security(creds: dict[str, str], password: str | None = None) -> KafkaSecurity:
    return KafkaSecurity(creds["KAFKA_SECURITY_PROTOCOL"], creds["KAFKA_SASL_MECHANISM"], creds["KAFKA_USERNAME"],
                         password or creds["KAFKA_PASSWORD"])


async def test_the_service_publishes_over_sasl_and_a_regulator_reads_and_verifies_but_cannot_write(
        start_service, infra_control, dev_keys, kafka_bootstrap, unique):
    name, password = unique("svc-cs-").replace(".", "-"), secrets.token_urlsafe(18)
    sasl = os.environ.get("ALLIANCE_KAFKA_SASL_BOOTSTRAP")
    if not sasl:
        pytest.skip("needs the local infra's SASL listener (ALLIANCE_KAFKA_SASL_BOOTSTRAP); `make test` sets it")
    cs = await start_service(SPEC, start=False, kafka_bootstrap=sasl, kafka_security_protocol="SASL_PLAINTEXT",
                             kafka_sasl_mechanism="SCRAM-SHA-512", kafka_username=name, kafka_password=password)
    prefix = cs.settings.topic_prefix
    await infra_control.kafka_user(name, own_prefix=prefix, password=password)   # a service owns its prefix
    async with cs.engine.begin() as conn:
        await conn.execute(insert(member_hospitals), [
            {"hospital_id": h, "name": f"医院{h}", "level": lvl, "region_code": region, "active": True, "version": 1}
            for h, lvl, region in HOSPITALS])
    await cs.start()
    feed = cs.topic("alliance.cost_sharing.v1")

    admin = {"Authorization": f"Bearer {dev_keys.issue('admin-1', roles=['alliance_admin'])}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{cs.http_port}", timeout=30) as c:
        assert (await c.get("/readyz")).status_code == 200              # the broker probe authenticates too
        assert (await c.post("/v1/pools", headers=admin, json={
            "pool_id": "p-1", "name": "platform build", "period": "2026-11", "amount_fen": 10_001})).status_code == 201
        # the consumer path over SASL: an event from another service becomes a ledger entry
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            event = event_from_proto(rmr.RecognitionDecided(
                decision_id="D-1", patient_id="AP-9", requesting_hospital="H001", item_code="CT-HEAD",
                outcome="reused", result_id="H003/1", issuing_hospital="H003", saving_fen=35_000,
                occurred_at=proto_time(datetime(2026, 11, 12, tzinfo=UTC))), source="/test", subject="AP-9")
            await producer.send_and_wait(cs.topic("alliance.results_mutual_recognition.v1"), event.to_json_bytes(),
                                         key=b"AP-9")
        finally:
            await producer.stop()

        async def two_entries():
            entries = (await c.get("/v1/ledger/entries", headers=admin)).json()
            return entries if len(entries) == 2 else None
        await eventually(two_entries)

    regulator = await infra_control.kafka_user(unique("regulator-").replace(".", "-"), read=(feed,))
    security = _security(regulator)

    async def feed_verified():
        result = await from_feed(regulator["KAFKA_BOOTSTRAP"], feed, 1.0, None, security)
        return result if result["entries_checked"] == 2 else None
    verified = await eventually(feed_verified)
    assert verified["ok"] and verified["first_broken_seq"] is None

    # the same through the CLI a regulator runs, the password only in the environment
    cli = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cost_sharing.ledger_cli", "--kafka", regulator["KAFKA_BOOTSTRAP"], "--topic", feed,
        "--idle-seconds", "1", "--kafka-security-protocol", "SASL_PLAINTEXT", "--kafka-username",
        regulator["KAFKA_USERNAME"], stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "KAFKA_PASSWORD": regulator["KAFKA_PASSWORD"]})
    out, err = await cli.communicate()
    assert cli.returncode == 0, err.decode()[-2000:]
    assert json.loads(out)["entries_checked"] == 2

    # read-only: a forged entry is refused by the broker
    forger = AIOKafkaProducer(bootstrap_servers=regulator["KAFKA_BOOTSTRAP"], request_timeout_ms=5000,
                              **security.client_options())
    await forger.start()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await asyncio.wait_for(forger.send_and_wait(feed, b'{"forged": true}'), 20)
    finally:
        await forger.stop()

    # and the other services' streams are not theirs to read
    snoop = AIOKafkaConsumer(cs.topic("alliance.results_mutual_recognition.v1"), group_id=None,
                             bootstrap_servers=regulator["KAFKA_BOOTSTRAP"], auto_offset_reset="earliest",
                             **security.client_options())
    with pytest.raises(TopicAuthorizationFailedError):
        try:
            await snoop.start()
            await snoop.getmany(timeout_ms=3000)
        finally:
            await snoop.stop()

    # a wrong password gets no connection at all
    wrong = AIOKafkaConsumer(feed, group_id=None, bootstrap_servers=regulator["KAFKA_BOOTSTRAP"],
                             **_security(regulator, "not-the-password").client_options())
    with pytest.raises(KafkaError):
        try:
            await asyncio.wait_for(wrong.start(), 20)
        finally:
            await wrong.stop()
