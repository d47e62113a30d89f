"""Benchmark: end-to-end HL7 ingest — ORU^R01 over MLLP in, ACK out, ResultRecorded events on Kafka.

Needs the local broker and database (`make infra-up`, or run through `make bench`). Runs data-exchange
in this process on a fresh database, sends N messages over C concurrent MLLP connections, and measures
(a) ACKs per second and (b) messages per second until every event is on Kafka. The anchor, measured in
the same run on the same messages: python-hl7's parse rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer

sys.path.insert(0, str(Path(__file__).parent))
import hl7  # noqa: E402
from hl7_parse import _ITEMS, _rate, build_message  # noqa: E402

from alliance_auth.dev import DevKeys  # noqa: E402
from alliance_service import build_runtime, upgrade  # noqa: E402
from alliance_testing.infra import Databases  # noqa: E402
from data_exchange.bootstrap import SPEC  # noqa: E402
from data_exchange.hl7 import MllpDecoder, ack_fields, frame  # noqa: E402


async def _setup(keys: DevKeys):
    dbs = Databases(os.environ["ALLIANCE_PG_DSN"])
    url = await dbs.create("bench_dx")
    await upgrade(SPEC.service_dir, url)
    settings = SPEC.settings_type(database_url=url, kafka_bootstrap=os.environ["ALLIANCE_KAFKA_BOOTSTRAP"],
                                  http_port=0, grpc_port=0, mllp_port=0, jwks=str(keys.jwks_path),
                                  topic_prefix=f"bench.{uuid.uuid4().hex[:6]}.", log_level="WARNING")
    rt = build_runtime(SPEC, settings)
    await rt.start()
    admin = {"Authorization": f"Bearer {keys.issue('bench', roles=['alliance_admin'])}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", headers=admin, timeout=30) as c:
        for n in range(1, 8):
            hid = f"H{n:03d}"
            r = await c.post("/v1/hospitals", json={"hospital_id": hid, "name": f"医院{hid}", "region_code": "330100",
                                                    "level": "tertiary" if n == 1 else "secondary", "total_beds": 100})
            assert r.status_code == 201, r.text
            csv = "kind,local_code,alliance_code\nitem,CBC,LAB-CBC\n" + "".join(
                f"item,{code},LAB-{code.replace('%', 'P')}\n" for code, *_ in _ITEMS)
            r = await c.post(f"/v1/code-maps/{hid}/import", content=csv.encode(), headers={"Content-Type": "text/csv"})
            assert r.json()["errors"] == [], r.text
    return rt, dbs


async def _send(port: int, messages: list[bytes]) -> list[str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    decoder, codes = MllpDecoder(), []
    for raw in messages:
        writer.write(frame(raw))
        await writer.drain()
        acks: list[bytes] = []
        while not acks:
            acks = [x for x in decoder.feed(await reader.read(65536)) if isinstance(x, bytes)]
        fields = ack_fields(acks[0])
        if fields["code"] != "AA" and not codes.count("AE"):
            print("first non-AA ACK:", fields["code"], fields["errors"][:3], file=sys.stderr)
        codes.append(fields["code"])
    writer.close()
    return codes


async def _count_events(bootstrap: str, topic: str, expected: int, timeout: float) -> float:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"bench-{uuid.uuid4().hex}",
                                auto_offset_reset="earliest", isolation_level="read_committed")
    await consumer.start()
    seen, deadline = 0, time.perf_counter() + timeout
    try:
        while seen < expected and time.perf_counter() < deadline:
            for recs in (await consumer.getmany(timeout_ms=200)).values():
                seen += sum(1 for r in recs if b"ResultRecorded" in r.value)
    finally:
        await consumer.stop()
    if seen < expected:
        raise SystemExit(f"only {seen}/{expected} events arrived")
    return time.perf_counter()


async def run(n: int, connections: int) -> dict:
    rng = random.Random(7)
    # The generator dates results in November 2026; move them a month back so none is in the future.
    messages = [build_message(i, rng).replace(b"202611", b"202610") for i in range(n)]
    keys = DevKeys.create(Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-keys-{uuid.uuid4().hex[:6]}")
    rt, dbs = await _setup(keys)
    try:
        port = rt.extras["mllp"].port
        chunks = [messages[i::connections] for i in range(connections)]
        start = time.perf_counter()
        results = await asyncio.gather(*(_send(port, chunk) for chunk in chunks))
        acked = time.perf_counter()
        codes = [c for r in results for c in r]
        assert codes.count("AA") == n, {c: codes.count(c) for c in set(codes)}
        done = await _count_events(rt.settings.kafka_bootstrap, rt.topic("alliance.data_exchange.v1"),
                                   n * 12, timeout=300)
    finally:
        await rt.stop()
        await dbs.drop_all()
    anchor = _rate(hl7.parse, [m.decode() for m in messages[:200]], 2.0, 3)
    return {"messages": n, "connections": connections, "acks_per_s": round(n / (acked - start)),
            "end_to_end_per_s": round(n / (done - start)), "events": n * 12,
            "python_hl7_parse_per_s": round(anchor),
            "ratio_acks_vs_python_hl7_parse": round(n / (acked - start) / anchor, 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()
    figures = asyncio.run(run(args.messages, args.connections))
    print(f"MLLP ingest: {figures['messages']} ORU^R01 (12 OBX) over {figures['connections']} connections")
    print(f"  ACKs                        {figures['acks_per_s']:>8,} msg/s")
    print(f"  end to end (events on Kafka) {figures['end_to_end_per_s']:>7,} msg/s  ({figures['events']} events)")
    print(f"  anchor python-hl7 parse     {figures['python_hl7_parse_per_s']:>8,} msg/s   "
          f"ratio ACK rate / anchor = {figures['ratio_acks_vs_python_hl7_parse']}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
