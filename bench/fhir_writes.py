"""Benchmark: FHIR writes and identifier search on data-exchange, next to a bare FastAPI + asyncpg insert.

Ours, on the real service (JWT, validation, patient index, code mapping, store, audit, outbox), driven by a load
client in its own process with 8 keep-alive connections: Patient creates (a new synthetic person each),
Observation creates referencing a Patient by its MRN, transaction Bundles of 100 entries (50 Patients and 50
Observations referencing them), and Patient search by MRN identifier. Anchor, same run, same client: a bare
FastAPI endpoint that inserts the posted JSON with one asyncpg statement and answers 201.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import asyncpg
import httpx
import uvicorn
from fastapi import FastAPI, Request, Response

from alliance_auth.dev import DevKeys
from alliance_service import build_runtime, upgrade
from alliance_testing.infra import Databases
from data_exchange.bootstrap import SPEC

HOSPITAL = "H002"
MRN = f"https://alliance.example/fhir/sid/mrn/{HOSPITAL}"
ITEMS = f"https://alliance.example/fhir/CodeSystem/local/{HOSPITAL}/items"
FAMILY = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰"


def patient(n: int, run: str) -> dict:
    """A synthetic person: MRN, name, birth date and sex distinct enough that nobody matches anybody else."""
    return {"resourceType": "Patient", "identifier": [{"system": MRN, "value": f"B{run}{n:07d}"}],
            "name": [{"family": FAMILY[n % len(FAMILY)],
                      "given": [GIVEN[(n // len(FAMILY)) % len(GIVEN)] + GIVEN[(n // 7) % len(GIVEN)]]}],
            "gender": "male" if n % 2 else "female",
            "birthDate": f"{1930 + n % 90}-{1 + n % 12:02d}-{1 + (n // 12) % 28:02d}"}


def observation(n: int, run: str, subject: dict | None = None) -> dict:
    return {"resourceType": "Observation", "status": "final",
            "identifier": [{"system": f"https://alliance.example/fhir/sid/lis/{HOSPITAL}", "value": f"L{run}{n:07d}"}],
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "laboratory"}]}],
            "code": {"coding": [{"system": ITEMS, "code": "GLU", "display": "空腹血糖"}]},
            "subject": subject or {"identifier": {"system": MRN, "value": f"B{run}{n:07d}"}},
            "effectiveDateTime": "2026-11-20T07:30:00+08:00",
            "valueQuantity": {"value": 5.0 + (n % 30) / 10, "unit": "mmol/L"}}


def bundle(first: int, size: int, run: str) -> dict:
    entries = []
    for n in range(first, first + size // 2):
        ref = f"urn:uuid:{uuid.uuid4()}"
        entries.append({"fullUrl": ref, "resource": patient(n, run), "request": {"method": "POST", "url": "Patient"}})
        entries.append({"resource": observation(n, run, {"reference": ref}),
                        "request": {"method": "POST", "url": "Observation"}})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


# ---- the load client (run in its own process: `fhir_writes.py --client PLAN.json`) ----

async def _connection(host: str, port: int, requests: list[bytes], queue: list[int], latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while queue:
            raw = requests[queue.pop()]
            t0 = time.perf_counter()
            writer.write(raw)
            status = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            if status[9:12] not in (b"200", b"201"):
                raise SystemExit(f"unexpected answer: {status!r} {body[:500]!r}")
    finally:
        writer.close()


def _request(method: str, host: str, path: str, token: str | None, body: bytes | None) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    if body is not None:
        head += f"Content-Type: application/fhir+json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + (body or b"")


async def _client(plan: dict) -> dict:
    host, port = plan["host"], plan["port"]
    requests = [_request(r["method"], f"{host}:{port}", r["path"], plan.get("token"),
                         json.dumps(r["body"], ensure_ascii=False).encode() if "body" in r else None)
                for r in plan["requests"]]
    queue, latencies = list(range(len(requests)))[::-1], []
    t0 = time.perf_counter()
    await asyncio.gather(*(_connection(host, port, requests, queue, latencies) for _ in range(plan["concurrency"])))
    elapsed = time.perf_counter() - t0
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {"per_s": len(requests) / elapsed, "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000}


# ---- the benchmark ----

async def _drive(port: int, token: str | None, requests: list[dict], concurrency: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"host": "127.0.0.1", "port": port, "token": token, "concurrency": concurrency,
                   "requests": requests}, f, ensure_ascii=False)
    try:
        proc = await asyncio.create_subprocess_exec(sys.executable, __file__, "--client", f.name,
                                                    stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
    finally:
        os.unlink(f.name)
    if proc.returncode:
        raise SystemExit(f"load client failed on port {port}")
    return json.loads(out)


async def _anchor(dsn: str) -> tuple[uvicorn.Server, asyncio.Task, asyncpg.Pool, int]:
    """A bare FastAPI endpoint: parse the JSON, insert it with one asyncpg statement, answer 201 with an id."""
    pool = await asyncpg.create_pool(dsn, min_size=8, max_size=8)
    await pool.execute("CREATE TABLE IF NOT EXISTS anchor_resources (id text PRIMARY KEY, body jsonb NOT NULL)")
    bare = FastAPI()

    @bare.post("/anchor")
    async def create(request: Request) -> Response:
        body = json.loads(await request.body())
        body["id"] = uuid.uuid4().hex
        await pool.execute("INSERT INTO anchor_resources (id, body) VALUES ($1, $2::jsonb)", body["id"],
                           json.dumps(body, ensure_ascii=False))
        return Response(json.dumps(body, ensure_ascii=False), status_code=201, media_type="application/fhir+json")

    server = uvicorn.Server(uvicorn.Config(bare, host="127.0.0.1", port=0, log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve())
    for _ in range(200):  # uvicorn offers no started event
        if server.started:
            break
        await asyncio.sleep(0.05)
    return server, task, pool, server.servers[0].sockets[0].getsockname()[1]


def _round(figures: dict) -> dict:
    return {k: round(v, 2) for k, v in figures.items()}


async def run(creates: int, bundles: int, searches: int, concurrency: int, only: set[str] | None = None) -> dict:
    run_id = uuid.uuid4().hex[:6]
    keys = DevKeys.create(Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-keys-{run_id}")
    dbs = Databases(os.environ["ALLIANCE_PG_DSN"])
    url = await dbs.create("bench_fhir")
    await upgrade(SPEC.service_dir, url)
    settings = SPEC.settings_type(database_url=url, kafka_bootstrap=os.environ["ALLIANCE_KAFKA_BOOTSTRAP"],
                                  http_port=0, grpc_port=0, mllp_port=0, jwks=str(keys.jwks_path),
                                  log_level="WARNING", topic_prefix=f"bench.{run_id}.",
                                  consumer_group=f"bench.{run_id}.data-exchange")
    rt = build_runtime(SPEC, settings)
    await rt.start()
    server, task, pool, bare_port = await _anchor(url.replace("postgresql+asyncpg", "postgresql"))
    admin = f"Bearer {keys.issue('bench', roles=['alliance_admin'], ttl=3600)}"
    token = keys.issue(f"his-{HOSPITAL}", hospital_id=HOSPITAL, roles=["hospital"], ttl=3600)
    want = only or {"patient", "observation", "bundle", "search", "anchor"}
    out: dict = {"concurrency": concurrency, "creates": creates, "bundles": bundles, "bundle_entries": 100,
                 "searches": searches}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}",
                                     headers={"Authorization": admin}) as c:
            (await c.post("/v1/hospitals", json={"hospital_id": HOSPITAL, "name": "医院H002", "level": "secondary",
                                                 "region_code": "330122", "total_beds": 100})).raise_for_status()
            (await c.put(f"/v1/code-maps/{HOSPITAL}/item/GLU", json={"alliance_code": "LAB-GLU"})).raise_for_status()
        warm = min(40, creates)
        await _drive(rt.http_port, token, [{"method": "POST", "path": "/fhir/Patient", "body": patient(n, "W")}
                                           for n in range(warm)], concurrency)
        await _drive(bare_port, None, [{"method": "POST", "path": "/anchor", "body": patient(n, "W")}
                                       for n in range(warm)], concurrency)
        if "anchor" in want:
            out["anchor_bare_insert"] = _round(await _drive(bare_port, None, [
                {"method": "POST", "path": "/anchor", "body": patient(n, "A")} for n in range(creates)], concurrency))
        if want & {"patient", "observation", "search"}:
            out["patient_create"] = _round(await _drive(rt.http_port, token, [
                {"method": "POST", "path": "/fhir/Patient", "body": patient(n, "P")} for n in range(creates)],
                concurrency))
        if "observation" in want:
            out["observation_create"] = _round(await _drive(rt.http_port, token, [
                {"method": "POST", "path": "/fhir/Observation", "body": observation(n, "P")}
                for n in range(creates)], concurrency))
        if "bundle" in want:
            b = await _drive(rt.http_port, token, [{"method": "POST", "path": "/fhir", "body": bundle(n * 50, 100, "T")}
                                                   for n in range(bundles)], min(concurrency, 2))
            out["bundle_100"] = _round({"resources_per_s": b["per_s"] * 100, "p50_ms": b["p50_ms"],
                                        "p99_ms": b["p99_ms"]})
        if "search" in want:
            out["search_by_identifier"] = _round(await _drive(rt.http_port, token, [
                {"method": "GET", "path": "/fhir/Patient?identifier=" + quote(f"{MRN}|BP{n % creates:07d}", safe="")}
                for n in range(searches)], concurrency))
        if "anchor" in want and "patient_create" in out:
            out["ratio_patient_create_vs_bare_insert"] = round(
                out["patient_create"]["per_s"] / out["anchor_bare_insert"]["per_s"], 3)
        if "patient_create" in out:
            out["patient_creates_per_s"] = out["patient_create"]["per_s"]
    finally:
        server.should_exit = True
        await task
        await pool.close()
        await rt.stop()
        await dbs.drop_all()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--creates", type=int, default=1000)
    ap.add_argument("--bundles", type=int, default=20)
    ap.add_argument("--searches", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--only", help="comma-separated: patient,observation,bundle,search,anchor")
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--client", metavar="PLAN", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.client:
        print(json.dumps(asyncio.run(_client(json.loads(Path(args.client).read_text())))))
        return 0
    f = asyncio.run(run(args.creates, args.bundles, args.searches, args.concurrency,
                        set(args.only.split(",")) if args.only else None))
    for name in ("anchor_bare_insert", "patient_create", "observation_create", "search_by_identifier"):
        if name in f:
            print(f"{name}: {f[name]['per_s']} req/s, p50 {f[name]['p50_ms']} ms, p99 {f[name]['p99_ms']} ms")
    if "bundle_100" in f:
        print(f"bundle_100: {f['bundle_100']['resources_per_s']} resources/s, p50 {f['bundle_100']['p50_ms']} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(f, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
