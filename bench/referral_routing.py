"""Benchmark: routing latency (POST /v1/referrals, p50/p99) for an alliance of 200 hospitals.

Each request first proves the referring hospital's care relationship with the patient (data-exchange's
PatientIndex/ResolvePatient over gRPC, the real service), then routes under the rules in force over every
member hospital with its bed status and open referrals, creates the referral, offers it and writes its events
to the outbox. Anchors, same run: the raw asyncpg query reading the candidate hospitals and their beds, and the
bare ResolvePatient gRPC call.
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
import grpc
import httpx

from alliance.data_exchange.v1 import clinical_pb2, clinical_pb2_grpc
from alliance_auth.dev import DevKeys
from alliance_auth.grpc import bearer_metadata
from alliance_service import build_runtime, upgrade
from alliance_testing.infra import Databases
from data_exchange.bootstrap import SPEC as DATA_EXCHANGE
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


async def _patients(url: str, origins: list[str]) -> None:
    """Patient AP-<n> is known to data-exchange with an MRN at the hospital that will refer it (synthetic)."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    await conn.copy_records_to_table("patients", columns=["patient_id", "status", "sex"],
                                     records=[(f"AP-{n}", "active", "U") for n in range(len(origins))])
    await conn.copy_records_to_table("patient_links", columns=["hospital_id", "mrn", "patient_id", "decision",
                                                               "score"],
                                     records=[(h, f"MRN-{n}", f"AP-{n}", "new", 1.0) for n, h in enumerate(origins)])
    await conn.execute("ANALYZE")
    await conn.close()


def _pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1]


async def run(hospitals: int, requests: int) -> dict:
    keys = DevKeys.create(Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-keys-{uuid.uuid4().hex[:6]}")
    dbs = Databases(os.environ["ALLIANCE_PG_DSN"])
    url, dx_url = await dbs.create("bench_referral"), await dbs.create("bench_dx")
    await upgrade(SPEC.service_dir, url)
    await upgrade(DATA_EXCHANGE.service_dir, dx_url)
    await _load(url, hospitals)
    rng = random.Random(9)
    origins = [f"H{rng.randint(1, hospitals):03d}" for _ in range(requests + 30)]
    await _patients(dx_url, origins)
    common = {"kafka_bootstrap": os.environ["ALLIANCE_KAFKA_BOOTSTRAP"], "http_port": 0, "grpc_port": 0,
              "jwks": str(keys.jwks_path), "log_level": "WARNING", "topic_prefix": f"bench.{uuid.uuid4().hex[:6]}."}
    dx = build_runtime(DATA_EXCHANGE, DATA_EXCHANGE.settings_type(database_url=dx_url, mllp_port=0, **common))
    await dx.start()
    rt = build_runtime(SPEC, SPEC.settings_type(database_url=url, data_exchange_grpc=f"127.0.0.1:{dx.grpc_port}",
                                                **common))
    await rt.start()
    raw = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{dx.grpc_port}")
    index = clinical_pb2_grpc.PatientIndexStub(channel)
    latencies, anchor, resolve, routed = [], [], [], 0
    try:
        for n in range(requests + 30):
            origin = origins[n]
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
            await index.ResolvePatient(clinical_pb2.ResolvePatientRequest(patient_id=f"AP-{n}"),
                                       metadata=bearer_metadata(token), timeout=5)
            t3 = time.perf_counter()
            if n >= 30:
                latencies.append((t1 - t0) * 1000)
                anchor.append((t2 - t1) * 1000)
                resolve.append((t3 - t2) * 1000)
                routed += r.status_code == 201
    finally:
        await channel.close()
        await raw.close()
        await rt.stop()
        await dx.stop()
        await dbs.drop_all()
    return {"hospitals": hospitals, "requests": requests, "routed": routed,
            "p50_ms": round(_pct(latencies, 50), 2), "p99_ms": round(_pct(latencies, 99), 2),
            "anchor_raw_query_p50_ms": round(_pct(anchor, 50), 3),
            "anchor_resolve_patient_p50_ms": round(_pct(resolve, 50), 3),
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
