"""Benchmark: an authenticated service read next to a trivial FastAPI endpoint, same client, same run.

Ours: procurement `GET /v1/items/{code}` (JWT verified against the JWKS, one PostgreSQL read, JSON out),
served by the service's own uvicorn. Anchor: a bare FastAPI app returning a constant JSON object from
uvicorn in the same process. Both are driven by bench/http_load.py in its own process, 8 keep-alive
connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from alliance_auth.dev import DevKeys
from alliance_service import build_runtime, upgrade
from alliance_testing.infra import Databases
from procurement.bootstrap import SPEC

CODE = "1401010000010001"


async def _rate(url: str, token: str | None, requests: int, concurrency: int = 8) -> float:
    """Requests per second from a load client in its own process (so client and server use separate cores)."""
    args = [sys.executable, str(Path(__file__).with_name("http_load.py")), url, "--requests", str(requests),
            "--concurrency", str(concurrency)] + (["--token", token] if token else [])
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    if proc.returncode:
        raise SystemExit(f"load client failed for {url}")
    return json.loads(out)["per_s"]


async def run(requests: int) -> dict:
    keys = DevKeys.create(Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-keys-{uuid.uuid4().hex[:6]}")
    dbs = Databases(os.environ["ALLIANCE_PG_DSN"])
    url = await dbs.create("bench_procurement")
    await upgrade(SPEC.service_dir, url)
    settings = SPEC.settings_type(database_url=url, kafka_bootstrap=os.environ["ALLIANCE_KAFKA_BOOTSTRAP"],
                                  http_port=0, grpc_port=0, jwks=str(keys.jwks_path), log_level="WARNING",
                                  topic_prefix=f"bench.{uuid.uuid4().hex[:6]}.")
    rt = build_runtime(SPEC, settings)
    await rt.start()
    bare = FastAPI()

    @bare.get("/v1/items/{code}")
    async def item(code: str) -> dict:
        return {"code": code, "name": "冠脉支架", "base_unit": "each"}

    server = uvicorn.Server(uvicorn.Config(bare, host="127.0.0.1", port=0, log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve())
    for _ in range(200):  # uvicorn offers no started event
        if server.started:
            break
        await asyncio.sleep(0.05)
    bare_port = server.servers[0].sockets[0].getsockname()[1]
    admin = {"Authorization": f"Bearer {keys.issue('bench', roles=['alliance_admin'], ttl=3600)}"}
    try:
        async with httpx.AsyncClient(headers=admin) as c:
            (await c.post(f"http://127.0.0.1:{rt.http_port}/v1/items", json={
                "code": CODE, "name": "冠脉支架", "specification": "3.0x18mm", "manufacturer": "示例",
                "base_unit": "each"})).raise_for_status()
        anchor = await _rate(f"http://127.0.0.1:{bare_port}/v1/items/{CODE}", None, requests)
        ours = await _rate(f"http://127.0.0.1:{rt.http_port}/v1/items/{CODE}", admin["Authorization"][7:], requests)
    finally:
        server.should_exit = True
        await task
        await rt.stop()
        await dbs.drop_all()
    return {"requests": requests, "ours_per_s": round(ours, 1), "anchor_bare_fastapi_per_s": round(anchor, 1),
            "ratio_vs_bare_fastapi": round(ours / anchor, 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()
    f = asyncio.run(run(args.requests))
    print(f"Authenticated item read {f['ours_per_s']} req/s; bare FastAPI {f['anchor_bare_fastapi_per_s']} req/s; "
          f"ratio {f['ratio_vs_bare_fastapi']}")
    if args.json:
        Path(args.json).write_text(json.dumps(f, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
