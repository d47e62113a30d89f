"""The fault suite: the alliance keeps its books straight while its parts crash.

All five services run as real OS processes on the real broker and database. While patients are
admitted (HL7 over MLLP) and referred up and completed (HTTP), every service is killed with SIGKILL once
and restarted, the broker is restarted, the database is restarted, and duplicate and poison events are
injected. Then: every acknowledged input is accounted for, nothing is applied twice, the ledger balances
to the fen and its hash chain verifies, and no patient name, ID number or phone number is in any log.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from alliance.data_exchange.v1 import clinical_pb2 as dx
from alliance.referral.v1 import referral_pb2 as rf
from alliance_messaging import event_from_proto, proto_time
from alliance_service import upgrade
from alliance_testing.helpers import read_all
from data_exchange.entrypoints.mllp import send as mllp_send
from data_exchange.hl7 import ack_fields
from referral.adapters.store import rule_to_json
from referral.domain.rules import sample_rules

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SERVICES = {"data-exchange": "DATA_EXCHANGE_", "referral": "REFERRAL_", "procurement": "PROCUREMENT_",
            "cost-sharing": "COST_SHARING_", "results-mutual-recognition": "RESULTS_MUTUAL_RECOGNITION_"}
PATIENTS = 12
# Synthetic identities, and the check digits of GB 11643 made valid so data-exchange accepts them.
NAMES = ["测试甲", "测试乙", "测试丙", "测试丁", "测试戊", "测试己", "测试庚", "测试辛", "测试壬", "测试癸",
         "测试子", "测试丑"]


def _national_id(n: int) -> str:
    body = f"33012219650312{n:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return body + check


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Service:
    name: str
    env: dict[str, str]
    log: Path
    http_port: int
    proc: subprocess.Popen | None = None
    kills: int = 0

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen([str(BIN / f"alliance-{self.name}"), "run"], env=self.env, stdout=out,
                                     stderr=subprocess.STDOUT, cwd=ROOT)

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.kills += 1

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    async def ready(self, timeout: float = 60) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient() as c:
            while True:
                try:
                    if (await c.get(f"http://127.0.0.1:{self.http_port}/readyz", timeout=2)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                assert self.proc is not None and self.proc.poll() is None, f"{self.name} exited; see {self.log}"
                assert asyncio.get_running_loop().time() < deadline, f"{self.name} not ready; see {self.log}"
                await asyncio.sleep(0.3)


@dataclass
class Alliance:
    services: dict[str, Service]
    prefix: str
    mllp_port: int
    dev_keys: object
    acknowledged_admissions: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    costs: Counter = field(default_factory=Counter)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.services[service].http_port}/v1"

    def token(self, roles: list[str], hospital: str | None = None) -> dict:
        return {"Authorization": f"Bearer {self.dev_keys.issue('fault-suite', hospital_id=hospital, roles=roles)}"}


async def _call(method: str, url: str, *, ok=(200, 201), timeout: float = 90, **kw) -> httpx.Response:
    """Retry through crashes and restarts until the service answers; an answer in `ok` is acknowledged."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient(timeout=10) as c:
        while True:
            try:
                r = await c.request(method, url, **kw)
                if r.status_code in ok:
                    return r
                if r.status_code < 500:
                    raise AssertionError(f"{method} {url} -> {r.status_code} {r.text}")
            except httpx.HTTPError:
                pass
            assert asyncio.get_running_loop().time() < deadline, f"{method} {url} never answered"
            await asyncio.sleep(0.5)


@pytest.fixture
async def alliance(databases, kafka_bootstrap, dev_keys, tmp_path):
    prefix = f"faults.{uuid.uuid4().hex[:6]}."
    mllp = _free_port()
    grpc_ports = {name: _free_port() for name in SERVICES}
    services = {}
    for name, env_prefix in SERVICES.items():
        spec = __import__(name.replace("-", "_") + ".bootstrap", fromlist=["SPEC"]).SPEC
        url = await databases.create(name)
        await upgrade(Path(spec.service_dir), url)
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not any(k.startswith(p) for p in SERVICES.values())}
        env |= {f"{env_prefix}DATABASE_URL": url, f"{env_prefix}KAFKA_BOOTSTRAP": kafka_bootstrap,
                f"{env_prefix}JWKS": str(dev_keys.jwks_path), f"{env_prefix}HTTP_PORT": str(port),
                f"{env_prefix}GRPC_PORT": str(grpc_ports[name]), f"{env_prefix}TOPIC_PREFIX": prefix,
                f"{env_prefix}CONSUMER_GROUP": f"{prefix}{name}", f"{env_prefix}ENVIRONMENT": "test",
                f"{env_prefix}LOG_LEVEL": "INFO"}
        if name == "data-exchange":
            env["DATA_EXCHANGE_MLLP_PORT"] = str(mllp)
        if name == "cost-sharing":
            env["COST_SHARING_SETTLEMENT_INTERVAL_SECONDS"] = "0.5"
            env["COST_SHARING_LEDGER_SIGNING_KEY_FILE"] = str(tmp_path / "ledger-key.pem")
        if name == "referral":
            env["REFERRAL_DATA_EXCHANGE_GRPC"] = f"127.0.0.1:{grpc_ports['data-exchange']}"
            env["REFERRAL_RECOGNITION_GRPC"] = f"127.0.0.1:{grpc_ports['results-mutual-recognition']}"
        services[name] = Service(name, env, tmp_path / f"{name}.log", port)
    for s in services.values():
        s.start()
    try:
        await asyncio.gather(*(s.ready() for s in services.values()))
        yield Alliance(services, prefix, mllp, dev_keys)
    finally:
        for s in services.values():
            s.stop()


async def _restart(a: Alliance, name: str) -> None:
    a.services[name].kill9()
    a.services[name].start()
    await a.services[name].ready()


async def _produce(bootstrap: str, topic: str, records: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key.encode())
    finally:
        await producer.stop()


def _adt(n: int, control: str) -> bytes:
    return ("\r".join([
        f"MSH|^~\\&|HIS|H002|ALLIANCE|ALLIANCE|20261123090000+0800||ADT^A04^ADT_A01|{control}|P|2.5.1|||AL|NE"
        "||UNICODE UTF-8",
        "EVN|A04|20261123090000+0800",
        f"PID|1||FS-{n:03d}^^^H002^MR~{_national_id(n)}^^^CHN^NNCHN||{NAMES[n]}||19650312|M|||||1390000{n:04d}",
        "PV1|1|O|||||||||||||||||FV-{n}",
    ]) + "\r").encode()


async def _admit(a: Alliance, n: int) -> str:
    """Send an ADT over MLLP until it is acknowledged (AA); resends carry the same control id."""
    control = f"FAULT-ADT-{n}"
    for _ in range(120):
        try:
            ack = ack_fields(await mllp_send("127.0.0.1", a.mllp_port, _adt(n, control), timeout=10))
            assert ack["code"] == "AA", ack
            a.acknowledged_admissions.append(f"FS-{n:03d}")
            return control
        except (OSError, TimeoutError):
            await asyncio.sleep(0.5)
    raise AssertionError(f"admission {n} never acknowledged")


async def _refer_and_complete(a: Alliance, kafka: str, n: int, now: datetime) -> None:
    patient = f"AP-FS-{n:03d}"
    origin_cost, stay_cost = 20_000 + n, 1_200_000 + 7 * n
    discharges = [
        dx.EncounterDischarged(encounter_id=f"H002/FO{n}", patient_id=patient, hospital_id="H002", patient_class="O",
                               department=dx.CodedValue(code="gp"), discharged_at=proto_time(now - timedelta(days=2)),
                               diagnoses=[dx.Diagnosis(code=dx.CodedValue(code="I21.900"), principal=True)],
                               total_cost_fen=origin_cost),
        dx.EncounterDischarged(encounter_id=f"H001/FI{n}", patient_id=patient, hospital_id="H001", patient_class="I",
                               department=dx.CodedValue(code="cardiology"),
                               admitted_at=proto_time(now - timedelta(days=1)), discharged_at=proto_time(now),
                               length_of_stay_days=1,
                               diagnoses=[dx.Diagnosis(code=dx.CodedValue(code="I21.900"), principal=True)],
                               procedures=[dx.Procedure(code=dx.CodedValue(code="36.06"))],
                               total_cost_fen=stay_cost)]
    # data-exchange's stream of discharges (its HL7 → event path has its own suite); every 3rd twice
    records = [(patient, event_from_proto(m, source="/faults", subject=patient).to_json_bytes()) for m in discharges]
    await _produce(kafka, a.prefix + "alliance.data_exchange.v1", records + (records if n % 3 == 0 else []))
    h002, h001 = a.token(["hospital"], "H002"), a.token(["hospital"], "H001")
    created = await _call("POST", f"{a.url('referral')}/referrals", headers=h002,
                          json={"patient_id": patient, "diagnosis_code": "I21.000", "severity": "severe"})
    referral_id = created.json()["referral"]["referral_id"]
    for action, who in [("accept", h001), ("transfer", h002), ("arrive", h001), ("complete", h001)]:
        await _call("POST", f"{a.url('referral')}/referrals/{referral_id}/{action}", headers=who, json={})
    a.completed.append(referral_id)
    a.costs["hospital:H002"] += origin_cost
    a.costs["hospital:H001"] += stay_cost


async def _eventually(probe, timeout: float = 120):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        got = await probe()
        if got is not None:
            return got
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.5)


async def test_the_books_stay_straight_through_crashes_restarts_duplicates_and_poison(
        alliance: Alliance, kafka_bootstrap, infra_control):
    a = alliance
    admin = a.token(["alliance_admin"])
    start = datetime.now(UTC) + timedelta(seconds=1)
    for h, level, specs in [("H001", "tertiary", ["cardiology"]), ("H002", "secondary", ["general"]),
                            ("H003", "primary", ["general"])]:
        await _call("POST", f"{a.url('data-exchange')}/hospitals", headers=admin, json={
            "hospital_id": h, "name": f"故障演练医院{h}", "level": level, "region_code": "330100",
            "specialties": specs, "total_beds": 500})
    await _call("POST", f"{a.url('referral')}/rules/versions", headers=admin, json={
        "effective_from": start.isoformat(), "rules": [rule_to_json(x) for x in sample_rules().rules]})
    sample = (await _call("GET", f"{a.url('cost-sharing')}/drg/tables/sample", headers=admin)).json()
    await _call("POST", f"{a.url('cost-sharing')}/drg/tables", headers=admin,
                json={"table": sample | {"effective_from": "2020-01-01"}})
    await _eventually(lambda: _has_members(a, 3))
    await _call("PUT", f"{a.url('referral')}/beds/H001/cardiology", headers=a.token(["hospital"], "H001"),
                json={"available": 40, "total": 60})
    await asyncio.sleep(1.2)

    faults = {1: "cost-sharing", 3: "referral", 5: "data-exchange", 7: "results-mutual-recognition",
              8: "procurement", 9: "kafka", 10: "postgres"}
    now = datetime.now(UTC)
    for n in range(PATIENTS):
        fault = faults.get(n)
        if fault == "kafka":
            await infra_control.stop_kafka()
            await infra_control.start_kafka()
        elif fault == "postgres":
            await infra_control.stop_pg()
            await infra_control.start_pg()
        elif fault:
            await _restart(a, fault)
        await _admit(a, n)
        if n in (2, 6):          # a resent message (same MSH-10) is acknowledged again, applied once
            await _admit(a, n)
            a.acknowledged_admissions.pop()
        await _refer_and_complete(a, kafka_bootstrap, n, now)
    # poison on two streams, and a completion replayed with its original event id
    poison = event_from_proto(rf.ReferralCompleted(referral=rf.ReferralRef(referral_id="R-POISON")),
                              source="/faults", subject="R-POISON").to_json_bytes()
    await _produce(kafka_bootstrap, a.prefix + "alliance.referral.v1", [("R-POISON", b"{not json"),
                                                                        ("R-POISON", poison)])
    await _produce(kafka_bootstrap, a.prefix + "alliance.data_exchange.v1", [("AP-X", b"\x00\x01garbage")])
    referral_feed = await read_all(kafka_bootstrap, a.prefix + "alliance.referral.v1", expected=1, timeout=30)
    replayed = [r for r in referral_feed if b"ReferralCompleted" in r.value and b"R-POISON" not in r.value][:3]
    await _produce(kafka_bootstrap, a.prefix + "alliance.referral.v1",
                   [(r.key.decode(), r.value) for r in replayed])

    regulator = a.token(["regulator"])
    cs = a.url("cost-sharing")

    async def settled():
        entries = (await _call("GET", f"{cs}/ledger/entries", headers=regulator, params={"limit": 1000})).json()
        refs = [e["reference"] for e in entries if e["kind"] == "referral_settlement"]
        return entries if len(refs) >= 2 * len(a.completed) else None

    entries = await _eventually(settled)
    refs = Counter(e["reference"] for e in entries if e["kind"] == "referral_settlement")
    # every acknowledged completion settled, each encounter exactly once
    assert len(refs) == 2 * PATIENTS and set(refs.values()) == {1}
    assert {r.split(":")[1] for r in refs} == set(a.completed)
    # the ledger balances to the fen, hospitals are credited exactly what their stays cost
    balances = (await _call("GET", f"{cs}/balances", headers=regulator)).json()
    assert sum(balances.values()) == 0
    assert {k: balances[k] for k in a.costs} == dict(a.costs)
    verified = await _eventually(lambda: _verified_with_checkpoint(cs, regulator, len(entries)))
    assert verified["ok"] and verified["checkpoint_faults"] == []
    # every acknowledged admission is in the master patient index once
    dx_feed = await read_all(kafka_bootstrap, a.prefix + "alliance.data_exchange.v1", expected=PATIENTS, timeout=30)
    linked = Counter(json.loads(r.value)["data"].get("mrn") for r in dx_feed
                     if r.value and b"PatientLinked" in r.value)
    assert {m: linked[m] for m in a.acknowledged_admissions} == dict.fromkeys(a.acknowledged_admissions, 1)
    # poison went to the dead-letter topics; the partitions kept moving
    dlq = await read_all(kafka_bootstrap, a.prefix + "alliance.referral.v1.dlq", expected=2, timeout=30)
    assert len([r for r in dlq if r.key == b"R-POISON"]) >= 2
    # every service was killed once and came back; no identifier in any log
    assert all(s.kills == 1 for s in a.services.values())
    for s in a.services.values():
        text = s.log.read_text(errors="replace")
        for n in range(PATIENTS):
            for secret in (NAMES[n], _national_id(n), f"1390000{n:04d}"):
                assert secret not in text, f"{secret!r} appears in {s.name}'s log"


async def _has_members(a: Alliance, n: int):
    for svc in ("referral", "cost-sharing"):
        got = (await _call("GET", f"{a.url(svc)}/member-hospitals", headers=a.token(["alliance_admin"]))).json()
        if len(got) < n:
            return None
    return True


async def _verified_with_checkpoint(cs: str, headers: dict, entries: int):
    v = (await _call("GET", f"{cs}/ledger/verify", headers=headers)).json()
    return v if v["entries_checked"] >= entries and v["checkpoints_checked"] and v["ok"] else None
