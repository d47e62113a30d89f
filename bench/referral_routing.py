"""Benchmark: routing latency (POST /v1/referrals, p50/p99) for an alliance of 200 hospitals.

Each request routes under the rules in force over every member hospital with its bed status and open
referrals, creates the referral, offers it and writes its events to the outbox. Anchor, same run: the
raw asyncpg query reading the candidate hospitals and their beds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from alliance_auth.dev import DevKeys
from alliance_service import build_runtime, upgrade
from alliance_testing.infra import Databases
from referral.adapters.store import rule_to_json
from referral.bootstrap import SPEC
from referral.domain.rules import sample_rules

SPECIALTIES = ["cardiology", "neurology", "internal_medicine", "general_surgery", "respiratory"]
CASES = [("I21.0", "severe"), ("I63.9", "critical"), ("I10", "stable"), ("J44.1", "stable"), ("I10", "severe")]


async def _load(url: str, hospitals: int) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    rng, now = random.Random(3), datetime.now(UTC)
    rows, beds = [], []
    for n in range(1, hospitals + 1):
        level = "tertiary" if n % 10 == 1 else "secondary" if n % 3 == 0 else "primary"
        specs = rng.sample(SPECIALTIES, rng.randint(2, 5))
        region = f"33{rng.randint(1, 11):02d}{rng.randint(1, 30):02d}"
        rows.append((f"H{n:03d}", f"医院{n}", level, region, specs, rng.randint(50, 2000), True, 1))
        for s in specs:
            total = rng.randint(10, 120)
            beds.append((f"H{n:03d}", s, rng.randint(0, total), total, now - timedelta(hours=rng.randint(0, 12))))
    await conn.copy_records_to_table("member_hospitals", records=rows, columns=[
        "hospital_id", "name", "level", "region_code", "specialties", "total_beds", "active", "version"])
    await conn.copy_records_to_table("bed_status", records=beds)
    await conn.execute("INSERT INTO rule_versions (version, effective_from, rules, published_by) "
                       "VALUES (1, $1, $2::jsonb, 'bench')", now - timedelta(days=1),
                       json.dumps([rule_to_json(r) for r in sample_rules().rules]))
    await conn.execute("ANALYZE")
    await conn.close()


def _pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1]


async def run(hospitals: int, requests: int) -> dict:
    keys = DevKeys.create(Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-keys-{uuid.uuid4().hex[:6]}")
    dbs = Databases(os.environ["ALLIANCE_PG_DSN"])
    url = await dbs.create("bench_referral")
    await upgrade(SPEC.service_dir, url)
    await _load(url, hospitals)
    settings = SPEC.settings_type(database_url=url, kafka_bootstrap=os.environ["ALLIANCE_KAFKA_BOOTSTRAP"],
                                  http_port=0, grpc_port=0, jwks=str(keys.jwks_path), log_level="WARNING",
                                  topic_prefix=f"bench.{uuid.uuid4().hex[:6]}.")
    rt = build_runtime(SPEC, settings)
    await rt.start()
    raw = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    rng = random.Random(9)
    latencies, anchor, routed = [], [], 0
    try:
        for n in range(requests + 30):
            origin = f"H{rng.randint(1, hospitals):03d}"
            token = keys.issue("bench", hospital_id=origin, roles=["hospital"])
            code, severity = rng.choice(CASES)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}",
                                         headers={"Authorization": f"Bearer {token}"}) as c:
                t0 = time.perf_counter()
                r = await c.post("/v1/referrals", json={"patient_id": f"AP-{n}", "diagnosis_code": code,
                                                        "severity": severity})
                t1 = time.perf_counter()
            assert r.status_code in (200, 201), r.text
            await raw.fetch("SELECT h.*, b.available, b.total, b.reported_at FROM member_hospitals h "
                            "LEFT JOIN bed_status b ON b.hospital_id = h.hospital_id AND b.specialty = $1",
                            "cardiology")
            t2 = time.perf_counter()
            if n >= 30:
                latencies.append((t1 - t0) * 1000)
                anchor.append((t2 - t1) * 1000)
                routed += r.status_code == 201
    finally:
        await raw.close()
        await rt.stop()
        await dbs.drop_all()
    return {"hospitals": hospitals, "requests": requests, "routed": routed,
            "p50_ms": round(_pct(latencies, 50), 2), "p99_ms": round(_pct(latencies, 99), 2),
            "anchor_raw_query_p50_ms": round(_pct(anchor, 50), 3),
            "ratio_p50_vs_raw_query": round(_pct(latencies, 50) / _pct(anchor, 50), 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hospitals", type=int, default=200)
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()
    figures = asyncio.run(run(args.hospitals, args.requests))
    print(f"Referral routing over HTTP, {figures['hospitals']} hospitals: p50 {figures['p50_ms']} ms, "
          f"p99 {figures['p99_ms']} ms ({figures['routed']}/{figures['requests']} routed; "
          f"raw candidate query p50 {figures['anchor_raw_query_p50_ms']} ms)")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
