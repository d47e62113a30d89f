"""Benchmark: CheckRecognition latency (HTTP, p50/p99) with 100,000 results indexed.

Anchor, measured in the same run: the raw asyncpg round trip of the one indexed query the check needs
(this patient's results for the items). Needs the local broker and database (`make bench`).
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
from results_mutual_recognition.bootstrap import SPEC

ITEMS = [f"LAB-{n:03d}" for n in range(40)] + [f"IMG-{n:02d}" for n in range(10)]
HOSPITALS = [f"H{n:03d}" for n in range(1, 7)]


async def _load(dsn: str, results: int, patients: int) -> None:
    conn = await asyncpg.connect(dsn.replace("postgresql+asyncpg", "postgresql"))
    rng, now = random.Random(11), datetime.now(UTC)
    items = [{"item_code": c, "name": c, "category": "imaging" if c.startswith("IMG") else "laboratory",
              "validity_days": 90, "loinc": None, "conditions": []} for c in ITEMS]
    await conn.execute("INSERT INTO catalog_versions (version, effective_from, items, published_by) "
                       "VALUES (1, $1, $2::jsonb, 'bench')", now - timedelta(days=400), json.dumps(items))
    await conn.executemany("INSERT INTO qc_periods (lab_id, item_code, status, effective_from, reference, recorded_by) "
                           "VALUES ($1, $2, 'passed', $3, 'EQA', 'bench')",
                           [(h, c, now - timedelta(days=400)) for h in HOSPITALS for c in ITEMS])
    await conn.copy_records_to_table("patient_relations", columns=["hospital_id", "patient_id"],
                                     records=[(h, f"P{p:06d}") for p in range(patients) for h in HOSPITALS[:2]])
    rows = []
    for n in range(results):
        h = rng.choice(HOSPITALS)
        rows.append((f"{h}/R{n}/1", f"P{rng.randrange(patients):06d}", rng.choice(ITEMS), h, h, "5.6", "mmol/L",
                     now - timedelta(days=rng.randint(0, 180), minutes=rng.randint(0, 1440)), f"{h}/R{n}", "F"))
    await conn.copy_records_to_table("result_index", records=rows, columns=[
        "result_id", "patient_id", "item_code", "hospital_id", "lab_id", "value", "unit", "effective_at",
        "report_ref", "status"])
    await conn.execute("ANALYZE")
    await conn.close()


def _pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] if len(values) >= 100 else max(values)


async def run(results: int, patients: int, checks: int) -> dict:
    keys = DevKeys.create(Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-keys-{uuid.uuid4().hex[:6]}")
    dbs = Databases(os.environ["ALLIANCE_PG_DSN"])
    url = await dbs.create("bench_rmr")
    await upgrade(SPEC.service_dir, url)
    await _load(url, results, patients)
    settings = SPEC.settings_type(database_url=url, kafka_bootstrap=os.environ["ALLIANCE_KAFKA_BOOTSTRAP"],
                                  http_port=0, grpc_port=0, jwks=str(keys.jwks_path), log_level="WARNING",
                                  topic_prefix=f"bench.{uuid.uuid4().hex[:6]}.")
    rt = build_runtime(SPEC, settings)
    await rt.start()
    rng = random.Random(5)
    token = keys.issue("bench", hospital_id="H001", roles=["hospital"])
    raw = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}",
                                     headers={"Authorization": f"Bearer {token}"}) as c:
            latencies, anchor = [], []
            for n in range(checks + 50):
                patient, wanted = f"P{rng.randrange(patients):06d}", rng.sample(ITEMS, 3)
                t0 = time.perf_counter()
                r = await c.post("/v1/recognition/checks", json={"patient_id": patient, "item_codes": wanted})
                t1 = time.perf_counter()
                assert r.status_code == 200, r.text
                await raw.fetch("SELECT * FROM result_index WHERE patient_id = $1 AND item_code = ANY($2) "
                                "AND effective_at <= $3 ORDER BY effective_at DESC", patient, wanted,
                                datetime.now(UTC))
                t2 = time.perf_counter()
                if n >= 50:  # warm-up excluded
                    latencies.append((t1 - t0) * 1000)
                    anchor.append((t2 - t1) * 1000)
    finally:
        await raw.close()
        await rt.stop()
        await dbs.drop_all()
    return {"results_indexed": results, "patients": patients, "checks": checks, "items_per_check": 3,
            "p50_ms": round(_pct(latencies, 50), 2), "p99_ms": round(_pct(latencies, 99), 2),
            "anchor_raw_query_p50_ms": round(_pct(anchor, 50), 3),
            "ratio_p50_vs_raw_query": round(_pct(latencies, 50) / _pct(anchor, 50), 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=int, default=100_000)
    ap.add_argument("--patients", type=int, default=20_000)
    ap.add_argument("--checks", type=int, default=1000)
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()
    figures = asyncio.run(run(args.results, args.patients, args.checks))
    print(f"CheckRecognition over HTTP with {figures['results_indexed']:,} results indexed, 3 items per check: "
          f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms "
          f"(raw indexed query p50 {figures['anchor_raw_query_p50_ms']} ms)")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
