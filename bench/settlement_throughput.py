"""Benchmark: settlement throughput — ReferralCompleted events in, hash-chained ledger entries posted.

cost-sharing consumes each completion, finds the episode's encounter costs, posts one chained ledger entry
per encounter (two per referral) with its outbox event, in the consumer's batch transaction. Anchor, same
run: raw aiokafka consume + produce of the same events (read a topic, write each record to another topic).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from alliance.referral.v1 import referral_pb2 as rf
from alliance_auth.dev import DevKeys
from alliance_messaging import event_from_proto, proto_time
from alliance_service import build_runtime, upgrade
from alliance_testing.infra import Databases
from cost_sharing.bootstrap import SPEC


def _events(n: int) -> list[tuple[bytes, bytes]]:
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        m = rf.ReferralCompleted(
            referral=rf.ReferralRef(referral_id=f"R-{i}", patient_id=f"AP-{i}", origin_hospital=f"H{2 + i % 5:03d}",
                                    direction="up", diagnosis_code="I21.900"),
            receiving_hospital="H001", requested_at=proto_time(now - timedelta(days=2)), occurred_at=proto_time(now))
        out.append((f"R-{i}".encode(), event_from_proto(m, source="/bench", subject=f"R-{i}").to_json_bytes()))
    return out


async def _load(url: str, n: int) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    now = datetime.now(UTC)
    await conn.copy_records_to_table("member_hospitals", records=[
        (f"H{h:03d}", f"医院{h}", "tertiary" if h == 1 else "primary", "330100", True, 1) for h in range(1, 7)],
        columns=["hospital_id", "name", "level", "region_code", "active", "version"])
    rows = []
    for i in range(n):
        origin = f"H{2 + i % 5:03d}"
        rows.append((f"{origin}/O{i}", f"AP-{i}", origin, "O", "gp", None, now - timedelta(days=3), 0, "I10", [], [],
                     28_000 + i, 9_000, 2_000, now.strftime("%Y-%m")))
        rows.append((f"H001/I{i}", f"AP-{i}", "H001", "I", "cardiology", now - timedelta(days=5),
                     now - timedelta(days=1), 4, "I21.900", [], ["36.06"], 1_500_000 + i, 400_000, 600_000,
                     now.strftime("%Y-%m")))
    await conn.copy_records_to_table("encounters", records=rows, columns=[
        "encounter_id", "patient_id", "hospital_id", "patient_class", "department", "admitted_at", "discharged_at",
        "los_days", "principal_dx", "secondary_dx", "procedures", "total_fen", "drugs_fen", "consumables_fen",
        "period"])
    await conn.execute("ANALYZE")
    await conn.close()


async def _topics(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, num_partitions=3, replication_factor=1) for t in names])
    finally:
        await admin.close()


async def _produce(bootstrap: str, topic: str, events: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        batch = [await producer.send(topic, value, key=key) for key, value in events]
        await asyncio.gather(*batch)
    finally:
        await producer.stop()


async def anchor(bootstrap: str, events: list[tuple[bytes, bytes]]) -> float:
    """Raw aiokafka: consume every record of a topic and produce it to another (acks=all); records/s."""
    source, sink = f"bench.raw.{uuid.uuid4().hex[:6]}.in", f"bench.raw.{uuid.uuid4().hex[:6]}.out"
    await _topics(bootstrap, [source, sink])
    await _produce(bootstrap, source, events)
    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, group_id=f"bench-{uuid.uuid4().hex[:6]}",
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                isolation_level="read_committed")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await consumer.start()
    await producer.start()
    try:
        done, t0 = 0, None
        while done < len(events):
            batches = await consumer.getmany(timeout_ms=1000, max_records=500)
            if t0 is None and batches:
                t0 = time.perf_counter()
            sends = [await producer.send(sink, r.value, key=r.key) for records in batches.values() for r in records]
            await asyncio.gather(*sends)
            if batches:
                await consumer.commit()
            done += len(sends)
        return len(events) / (time.perf_counter() - (t0 or time.perf_counter()))
    finally:
        await consumer.stop()
        await producer.stop()


async def run(referrals: int) -> dict:
    bootstrap = os.environ["ALLIANCE_KAFKA_BOOTSTRAP"]
    events = _events(referrals)
    raw_rate = await anchor(bootstrap, events)
    keys = DevKeys.create(Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-keys-{uuid.uuid4().hex[:6]}")
    dbs = Databases(os.environ["ALLIANCE_PG_DSN"])
    url = await dbs.create("bench_cost_sharing")
    await upgrade(SPEC.service_dir, url)
    await _load(url, referrals)
    prefix = f"bench.{uuid.uuid4().hex[:6]}."
    settings = SPEC.settings_type(database_url=url, kafka_bootstrap=bootstrap, http_port=0, grpc_port=0,
                                  jwks=str(keys.jwks_path), log_level="WARNING", topic_prefix=prefix,
                                  consumer_group=f"bench-{uuid.uuid4().hex[:6]}")
    rt = build_runtime(SPEC, settings)
    await rt.start()
    raw = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await asyncio.sleep(3)   # let the consumer join its group
        t0 = time.perf_counter()
        await _produce(bootstrap, prefix + "alliance.referral.v1", events)
        entries = 0
        while entries < 2 * referrals:
            await asyncio.sleep(0.05)
            entries = await raw.fetchval("SELECT count(*) FROM ledger_entries")
            if time.perf_counter() - t0 > 600:
                raise SystemExit(f"only {entries} entries after 600 s")
        elapsed = time.perf_counter() - t0
        published = 0
        while published < 2 * referrals and time.perf_counter() - t0 < 600:
            published = await raw.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL "
                                            "AND event_type LIKE '%SettlementEntryPosted'")
            await asyncio.sleep(0.05)
        to_feed = time.perf_counter() - t0
        chain_ok = await raw.fetchval("SELECT count(*) FROM ledger_entries e JOIN ledger_entries p "
                                      "ON p.seq = e.seq - 1 WHERE e.prev_hash <> p.hash") == 0
    finally:
        await raw.close()
        await rt.stop()
        await dbs.drop_all()
    rate = referrals / elapsed
    return {"referrals": referrals, "entries": 2 * referrals, "referrals_per_s": round(rate, 1),
            "entries_per_s": round(2 * referrals / elapsed, 1),
            "referrals_per_s_to_feed": round(referrals / to_feed, 1), "chain_links_ok": chain_ok,
            "anchor_raw_consume_produce_per_s": round(raw_rate, 1),
            "ratio_vs_raw_consume_produce": round(rate / raw_rate, 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--referrals", type=int, default=2000)
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()
    f = asyncio.run(run(args.referrals))
    print(f"Settlement: {f['referrals_per_s']} completed referrals/s → {f['entries_per_s']} ledger entries/s "
          f"({f['referrals_per_s_to_feed']}/s to the regulators' feed); raw aiokafka consume+produce "
          f"{f['anchor_raw_consume_produce_per_s']} records/s; ratio {f['ratio_vs_raw_consume_produce']}")
    if args.json:
        Path(args.json).write_text(json.dumps(f, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
