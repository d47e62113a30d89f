"""The fault suite: the alliance keeps its books straight while its parts crash.

All five services run as real OS processes on the real broker and database. While patients are
admitted and discharged (HL7 over MLLP, with their charges) and referred up and completed (HTTP), every service is killed with SIGKILL once
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
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from alliance.data_exchange.v1 import clinical_pb2 as dx
from alliance.referral.v1 import referral_pb2 as rf
from alliance_messaging import event_from_proto
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
CHINA = timezone(timedelta(hours=8))
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

    async def ready(self, timeout: float = 120) -> None:
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
    registry_grpc: int
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
        yield Alliance(services, prefix, mllp, dev_keys, grpc_ports["data-exchange"])
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


async def _admit(a: Alliance, n: int) -> None:
    """Send an ADT over MLLP until it is acknowledged (AA); resends carry the same control id."""
    await _send_acknowledged(a, _adt(n, f"FAULT-ADT-{n}"), f"admission {n}")
    a.acknowledged_admissions.append(f"FS-{n:03d}")


def _segment(name: str, fields: dict[int, str]) -> str:
    return "|".join([name, *(fields.get(i, "") for i in range(1, max(fields) + 1))])


def _hl7_time(at: datetime) -> str:
    return at.astimezone(CHINA).strftime("%Y%m%d%H%M%S+0800")


def _a03(n: int, hospital: str, mrn: str, patient_class: str, department: str, visit: str,
         admitted: datetime, discharged: datetime, charges: list[tuple[str, str]],
         procedures: tuple[str, ...] = ()) -> bytes:
    """A discharge with its charges (FT1: local charge code, amount in yuan), as a member HIS sends it."""
    lines = [f"MSH|^~\\&|HIS|{hospital}|ALLIANCE|ALLIANCE|{_hl7_time(discharged)}||ADT^A03^ADT_A03|{visit}|P|2.5.1"
             "|||AL|NE||UNICODE UTF-8",
             f"EVN|A03|{_hl7_time(discharged)}",
             f"PID|1||{mrn}^^^{hospital}^MR~{_national_id(n)}^^^CHN^NNCHN||{NAMES[n]}||19650312|M|||||1390000{n:04d}",
             _segment("PV1", {1: "1", 2: patient_class, 3: f"{department}^^^{hospital}", 19: visit,
                              44: _hl7_time(admitted), 45: _hl7_time(discharged)}),
             _segment("DG1", {1: "1", 3: "I21.900^急性心肌梗死^ICD-10", 6: "F", 15: "1"})]
    lines += [_segment("PR1", {1: str(i), 3: f"{code}^手术^ICD-9-CM-3", 5: _hl7_time(admitted)})
              for i, code in enumerate(procedures, 1)]
    lines += [_segment("FT1", {1: str(i), 4: f"{discharged.astimezone(CHINA):%Y%m%d}", 6: "CG",
                               7: f"{code}^费用^LOCAL", 10: "1", 11: amount})
              for i, (code, amount) in enumerate(charges, 1)]
    return ("\r".join(lines) + "\r").encode()


async def _send_acknowledged(a: Alliance, message: bytes, what: str) -> None:
    """Send over MLLP until acknowledged AA; a system error (AR, ERR-3 207) or no answer is resent unchanged
    (a resend carries the same MSH-10: applied once)."""
    for _ in range(240):
        try:
            ack = ack_fields(await mllp_send("127.0.0.1", a.mllp_port, message, timeout=10))
        except (OSError, TimeoutError):
            await asyncio.sleep(0.5)
            continue
        if ack["code"] == "AR" and [e["code"] for e in ack["errors"]] == ["207"]:
            await asyncio.sleep(0.5)
            continue
        assert ack["code"] == "AA", (what, ack)
        return
    raise AssertionError(f"{what} never acknowledged")


async def _alliance_id(a: Alliance, n: int) -> str:
    """The alliance patient id of an admitted MRN, from data-exchange's PatientIndex (gRPC, audited)."""
    import grpc

    from alliance.data_exchange.v1 import clinical_pb2_grpc
    from alliance_auth.grpc import bearer_metadata

    token = a.token(["hospital"], "H002")["Authorization"][7:]
    for _ in range(240):
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{a.registry_grpc}") as channel:
                found = await clinical_pb2_grpc.PatientIndexStub(channel).ResolvePatient(
                    dx.ResolvePatientRequest(mrn=dx.HospitalMrn(hospital_id="H002", mrn=f"FS-{n:03d}")),
                    metadata=bearer_metadata(token), timeout=5)
            if found.patient_id:
                return found.patient_id
        except grpc.aio.AioRpcError:
            pass
        await asyncio.sleep(0.5)
    raise AssertionError(f"patient {n} never resolved")


async def _refer_and_complete(a: Alliance, n: int, now: datetime) -> None:
    """The patient's outpatient visit at the county hospital and inpatient stay at the tertiary one arrive as
    HL7 discharges; the county hospital refers up, the tertiary hospital completes."""
    outpatient = [("110200001", "15.00"), ("XY0001", f"{60 + n}.{n:02d}")]
    inpatient = [("110900001", "480.00"), ("330201001", "2350.00"), ("XY0100", f"{5000 + 7 * n}.00")]
    await _send_acknowledged(a, _a03(n, "H002", f"FS-{n:03d}", "O", "NK", f"FO-{n:03d}",
                                     now - timedelta(days=2, hours=1), now - timedelta(days=2), outpatient),
                             f"outpatient discharge {n}")
    await _send_acknowledged(a, _a03(n, "H001", f"FZ-{n:03d}", "I", "CARD", f"FI-{n:03d}",
                                     now - timedelta(days=1), now - timedelta(minutes=5), inpatient, ("36.06",)),
                             f"inpatient discharge {n}")
    patient = await _alliance_id(a, n)
    h002, h001 = a.token(["hospital"], "H002"), a.token(["hospital"], "H001")
    created = await _call("POST", f"{a.url('referral')}/referrals", headers=h002,
                          json={"patient_id": patient, "diagnosis_code": "I21.000", "severity": "severe"})
    referral_id = created.json()["referral"]["referral_id"]
    for action, who in [("accept", h001), ("transfer", h002), ("arrive", h001), ("complete", h001)]:
        await _call("POST", f"{a.url('referral')}/referrals/{referral_id}/{action}", headers=who, json={})
    a.completed.append(referral_id)
    a.costs["hospital:H002"] += sum(int(Decimal(x) * 100) for _, x in outpatient)
    a.costs["hospital:H001"] += sum(int(Decimal(x) * 100) for _, x in inpatient)


async def _eventually(probe, timeout: float = 120):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        got = await probe()
        if got is not None:
            return got
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.5)


@pytest.mark.timeout(900)   # five services, a broker and a database restarted: minutes on a loaded machine
async def test_the_books_stay_straight_through_crashes_restarts_duplicates_and_poison(
        alliance: Alliance, kafka_bootstrap, infra_control):
    a = alliance
    admin = a.token(["alliance_admin"])
    for h, level, specs in [("H001", "tertiary", ["cardiology"]), ("H002", "secondary", ["general"]),
                            ("H003", "primary", ["general"])]:
        await _call("POST", f"{a.url('data-exchange')}/hospitals", headers=admin, json={
            "hospital_id": h, "name": f"故障演练医院{h}", "level": level, "region_code": "330100",
            "specialties": specs, "total_beds": 500})
    # rules may not be backdated by the server's clock: a margin for a slow machine, then wait it out below
    start = datetime.now(UTC) + timedelta(seconds=3)
    await _call("POST", f"{a.url('referral')}/rules/versions", headers=admin, json={
        "effective_from": start.isoformat(), "rules": [rule_to_json(x) for x in sample_rules().rules]})
    sample = (await _call("GET", f"{a.url('cost-sharing')}/drg/tables/sample", headers=admin)).json()
    await _call("POST", f"{a.url('cost-sharing')}/drg/tables", headers=admin,
                json={"table": sample | {"effective_from": "2020-01-01"}})
    maps = {"H001": [("110900001", "bed"), ("330201001", "consumables"), ("XY0100", "drugs")],
            "H002": [("110200001", "treatment"), ("XY0001", "drugs")]}
    for h, rows in maps.items():
        csv = "kind,local_code,alliance_code,display\n" + "".join(f"charge,{c},{cat},费用\n" for c, cat in rows)
        csv += "department,CARD,DEP-CARD,心内科\n" if h == "H001" else "department,NK,DEP-IM,内科\n"
        await _call("POST", f"{a.url('data-exchange')}/code-maps/{h}/import", content=csv.encode(),
                    headers=admin | {"Content-Type": "text/csv"})
    await _eventually(lambda: _has_members(a, 3))
    await _call("PUT", f"{a.url('referral')}/beds/H001/cardiology", headers=a.token(["hospital"], "H001"),
                json={"available": 40, "total": 60})
    await asyncio.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()) + 0.2)   # the rules are in force

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
        await _refer_and_complete(a, n, now)
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
    dx_feed = await read_all(kafka_bootstrap, a.prefix + "alliance.data_exchange.v1", expected=1, timeout=30)
    discharged = [r for r in dx_feed if r.value and b"EncounterDischarged" in r.value][:4]
    await _produce(kafka_bootstrap, a.prefix + "alliance.data_exchange.v1",
                   [(r.key.decode(), r.value) for r in discharged])

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
    # (the feed is at-least-once: a record re-sent across the broker restart carries the same event id)
    linked = Counter(mrn for mrn, _ in {(json.loads(r.value)["data"].get("mrn"), json.loads(r.value)["id"])
                                        for r in dx_feed if r.value and b"PatientLinked" in r.value})
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
