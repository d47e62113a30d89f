"""What a sender and an operator see while the database and then the broker are down.

data-exchange runs as a real process. Four MLLP connections send ADT admissions while PostgreSQL and then
Kafka are stopped and started. Then: every valid message was answered AA or — during the outage — AR with
ERR-3 207 (never AE); after the sender resends each AR'd message unchanged, every message is stored exactly
once; the service's log holds a bounded number of lines for the outage (lost / summary / back, not one line
or traceback per failed attempt); readiness and gRPC health name the outage while it lasts; every outbox
row is published within DRAIN_BOUND_S once both are back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import asyncpg
import httpx
import pytest

from alliance_service import upgrade
from data_exchange.bootstrap import SPEC
from data_exchange.hl7 import MllpDecoder, ack_fields, frame

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CONNECTIONS = 4
MIN_MESSAGES = 300
LINES_PER_DEPENDENCY_PER_MINUTE = 20
DRAIN_BOUND_S = 60


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _adt(n: int) -> bytes:
    """A valid admission; synthetic MRN only (no name, no ID number)."""
    return ("\r".join([
        f"MSH|^~\\&|HIS|H002|ALLIANCE|ALLIANCE|20261123090000+0800||ADT^A04^ADT_A01|OUT-{n:05d}|P|2.5.1|||AL|NE"
        "||UNICODE UTF-8",
        "EVN|A04|20261123090000+0800",
        f"PID|1||OUT-{n:05d}^^^H002^MR||||19650312|M",
        f"PV1|1|O|||||||||||||||||OV-{n}",
    ]) + "\r").encode()


class Sender:
    """One MLLP connection that sends, waits for the ACK, and reconnects when the connection breaks."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._decoder = MllpDecoder()

    async def send(self, message: bytes, timeout: float = 20) -> bytes:
        try:
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)
                self._decoder = MllpDecoder()
            self._writer.write(frame(message))
            await self._writer.drain()
            while True:
                chunk = await asyncio.wait_for(self._reader.read(65536), timeout)
                if not chunk:
                    raise ConnectionError("closed before the ACK")
                for item in self._decoder.feed(chunk):
                    if isinstance(item, bytes):
                        return item
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


@pytest.fixture
async def data_exchange(databases, kafka_bootstrap, dev_keys, tmp_path):
    url = await databases.create("data-exchange")
    await upgrade(Path(SPEC.service_dir), url)
    http, mllp, grpc_port = _free_port(), _free_port(), _free_port()
    prefix = f"outage.{os.getpid()}.{int(time.time())}."
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATA_EXCHANGE_")}
    env |= {"DATA_EXCHANGE_DATABASE_URL": url, "DATA_EXCHANGE_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "DATA_EXCHANGE_JWKS": str(dev_keys.jwks_path), "DATA_EXCHANGE_HTTP_PORT": str(http),
            "DATA_EXCHANGE_GRPC_PORT": str(grpc_port), "DATA_EXCHANGE_MLLP_PORT": str(mllp),
            "DATA_EXCHANGE_TOPIC_PREFIX": prefix, "DATA_EXCHANGE_CONSUMER_GROUP": f"{prefix}data-exchange",
            "DATA_EXCHANGE_ENVIRONMENT": "test", "DATA_EXCHANGE_LOG_LEVEL": "INFO"}
    log = tmp_path / "data-exchange.log"
    proc = _spawn(env, log)
    try:
        async with httpx.AsyncClient() as c:
            for _ in range(200):
                assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
                with contextlib.suppress(httpx.HTTPError):
                    if (await c.get(f"http://127.0.0.1:{http}/readyz", timeout=2)).status_code == 200:
                        break
                await asyncio.sleep(0.3)
            admin = {"Authorization": f"Bearer {dev_keys.issue('outage', roles=['alliance_admin'])}"}
            r = await c.post(f"http://127.0.0.1:{http}/v1/hospitals", headers=admin, json={
                "hospital_id": "H002", "name": "停机演练医院", "level": "secondary", "region_code": "330100",
                "specialties": ["general"], "total_beds": 100})
            assert r.status_code == 201, r.text
        yield {"http": http, "mllp": mllp, "grpc": grpc_port, "log": log, "dsn": url.replace("postgresql+asyncpg", "postgresql")}
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _spawn(env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen([str(BIN / "alliance-data-exchange"), "run"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, cwd=ROOT)


def _log_lines(log: Path, start: int, end: int) -> list[dict]:
    """The log lines written between two byte offsets; a non-JSON line (a raw traceback) counts as one."""
    with log.open("rb") as f:
        f.seek(start)
        text = f.read(end - start).decode(errors="replace")
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            out.append({"level": "RAW", "msg": line})
    return out


async def _readyz(port: int) -> dict:
    async with httpx.AsyncClient() as c:
        return (await c.get(f"http://127.0.0.1:{port}/readyz", timeout=5)).json()


async def _grpc_health(port: int) -> str:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


async def _wait_ready(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if (await _readyz(port)).get("status") == "ready":
                return
        await asyncio.sleep(0.5)
    raise AssertionError("not ready again")


@pytest.mark.timeout(900)   # five services, a broker and a database restarted: minutes on a loaded machine
async def test_outages_answer_ar_207_log_a_summary_and_store_every_message_once(data_exchange, infra_control):
    dx = data_exchange
    acks: dict[int, list[dict]] = {}
    to_resend: set[int] = set()
    counter = iter(range(1_000_000))
    faults_done = asyncio.Event()
    during: list[dict] = []
    grpc_health: list[str] = []
    sent = 0

    async def flow(sender: Sender) -> None:
        nonlocal sent
        while not (faults_done.is_set() and sent >= MIN_MESSAGES):
            n = next(counter)
            sent += 1
            try:
                ack = ack_fields(await sender.send(_adt(n)))
            except (OSError, TimeoutError):
                to_resend.add(n)                         # no ACK: unknown, resend unchanged
                await asyncio.sleep(0.2)
                continue
            acks.setdefault(n, []).append(ack)
            if ack["code"] != "AA":
                to_resend.add(n)
            await asyncio.sleep(0.1)

    async def faults() -> tuple[int, int, float]:
        await asyncio.sleep(2)
        start = dx["log"].stat().st_size
        t0 = time.monotonic()
        await infra_control.stop_pg()
        try:
            await asyncio.sleep(3)
            during.append(await _readyz(dx["http"]))  # readiness names the degraded dependency and since when
            grpc_health.append(await _grpc_health(dx["grpc"]))
        finally:
            await infra_control.start_pg()
        await asyncio.sleep(2)
        t1 = time.monotonic()
        await infra_control.stop_kafka()
        try:
            await asyncio.sleep(5)
            during.append(await _readyz(dx["http"]))
        finally:
            await infra_control.start_kafka()
        print(f"database outage {t1 - t0:.0f} s, broker stopped and started in {time.monotonic() - t1:.0f} s")
        await _wait_ready(dx["http"])
        for _ in range(60):                     # "back" is logged once it stayed up 5 s (a probe every 2 s)
            text = dx["log"].read_text(errors="replace")
            if text.count('"event": "dependency_back"') >= 2:
                break
            await asyncio.sleep(0.5)
        grpc_health.append(await _grpc_health(dx["grpc"]))
        faults_done.set()
        return start, dx["log"].stat().st_size, time.monotonic() - t0

    senders = [Sender(dx["mllp"]) for _ in range(CONNECTIONS)]
    (start, end, window), *_ = await asyncio.gather(faults(), *(flow(s) for s in senders))

    # the sender resends every AR'd (or unanswered) message unchanged until it is accepted
    for n in sorted(to_resend):
        for _ in range(60):
            try:
                ack = ack_fields(await senders[0].send(_adt(n)))
            except (OSError, TimeoutError):
                await asyncio.sleep(0.5)
                continue
            acks.setdefault(n, []).append(ack)
            if ack["code"] == "AA":
                break
            await asyncio.sleep(0.5)
    for s in senders:
        await s.close()

    assert during[0]["checks"]["database"] != "ok" and during[0]["degraded"]["database"]["since"], during[0]
    assert during[1]["checks"]["kafka"] != "ok" and during[1]["degraded"]["kafka"]["attempts"] >= 1, during[1]
    assert grpc_health == ["NOT_SERVING", "SERVING"], grpc_health
    every = [a for answers in acks.values() for a in answers]
    codes = Counter(a["code"] for a in every)
    print(f"{sent} messages over {CONNECTIONS} connections, answers {dict(codes)}, {len(to_resend)} resent")
    assert sent >= MIN_MESSAGES and codes["AE"] == 0, codes
    refused = [a for a in every if a["code"] == "AR"]
    assert refused, f"no message arrived while the database was down: {codes}"
    for a in refused:
        assert [e["code"] for e in a["errors"]] == ["207"] and "resend" in a["errors"][0]["text"], a
        assert a["acknowledged_control_id"].startswith("OUT-"), a
    assert all(answers[-1]["code"] == "AA" for answers in acks.values()), codes

    conn = await asyncpg.connect(dx["dsn"])
    try:
        stored = Counter(r["control_id"] for r in await conn.fetch(
            "SELECT control_id FROM inbound_messages WHERE sending_facility = 'H002'"))
        # the relay publishes the whole backlog once both are back (it once stalled here for good)
        t_drain = time.monotonic()
        left = -1
        while time.monotonic() - t_drain < DRAIN_BOUND_S:
            left = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            if not left:
                break
            await asyncio.sleep(0.5)
        total = await conn.fetchval("SELECT count(*) FROM outbox")
        failed = await conn.fetchval("SELECT count(*) FROM outbox WHERE attempts > 1")
    finally:
        await conn.close()
    assert stored == Counter({f"OUT-{n:05d}": 1 for n in acks}), "a message stored twice or not at all"
    assert left == 0, f"{left} of {total} outbox rows unpublished {DRAIN_BOUND_S} s after both came back"
    print(f"outbox drained: {total} rows published ({failed} after a failed attempt), "
          f"{time.monotonic() - t_drain:.1f} s after the resends")

    lines = _log_lines(dx["log"], start, end)
    noisy = [x for x in lines if x.get("level") in ("WARNING", "ERROR", "CRITICAL", "RAW")]
    limit = LINES_PER_DEPENDENCY_PER_MINUTE * 2 * max(1.0, window / 60)
    assert len(noisy) <= limit, (len(noisy), window, [x.get("msg") for x in noisy][:60])
    print(f"{len(noisy)} warning/error lines in the {window:.0f} s outage window (bound {limit:.0f})")
    assert not [x for x in lines if "exception" in x or x.get("level") == "RAW"], "a traceback in the log"
    events = Counter((x.get("dependency"), x.get("event")) for x in lines)
    for dependency in ("database", "kafka"):
        assert events[(dependency, "dependency_lost")] >= 1, events
        assert events[(dependency, "dependency_back")] >= 1, events
