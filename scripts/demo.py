"""The demo scenario: register the sample alliance as an administrator, then watch it reach every service."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import grpc
import httpx

from alliance.data_exchange.v1 import facilities_pb2 as pb
from alliance.data_exchange.v1 import facilities_pb2_grpc as pb_grpc
from alliance_auth.dev import DevKeys
from alliance_auth.grpc import bearer_metadata

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = json.loads((ROOT / "scripts" / "sample_alliance.json").read_text())["hospitals"]
REGISTRY = "http://127.0.0.1:8081"
READERS = {"referral": 8082, "procurement": 8083, "cost-sharing": 8084, "results-mutual-recognition": 8085}


def step(text: str) -> None:
    print(f"\n== {text}")


async def main() -> int:
    keys = DevKeys.load(ROOT / ".local" / "keys")
    admin = keys.issue("demo-admin", roles=["alliance_admin"], ttl=900)
    auth = {"Authorization": f"Bearer {admin}"}
    async with httpx.AsyncClient(headers=auth, timeout=10) as http:
        step("An alliance administrator registers the sample alliance in data-exchange's facility registry")
        for h in SAMPLE:
            r = await http.post(f"{REGISTRY}/v1/hospitals", json=h)
            if r.status_code not in (200, 201):
                print(f"  registration of {h['hospital_id']} failed: {r.status_code} {r.text}")
                return 1
            verb = "registered" if r.status_code == 201 else "already registered (idempotent repeat)"
            print(f"  {h['hospital_id']} {h['level']:9} region {h['region_code']}  {h['name']}  -> {verb}")

        step("Each service keeps its own read model, fed by events (outbox -> Kafka -> idempotent consumer)")
        wanted = {h["hospital_id"] for h in SAMPLE}
        started = time.monotonic()
        seen: dict[str, set[str]] = {}
        while time.monotonic() - started < 60:
            for name, port in READERS.items():
                r = await http.get(f"http://127.0.0.1:{port}/v1/member-hospitals")
                seen[name] = {h["hospital_id"] for h in r.json()} if r.status_code == 200 else set()
            if all(wanted <= s for s in seen.values()):
                break
            await asyncio.sleep(0.2)
        print(f"  {'hospital':10}" + "".join(f"{n:>28}" for n in READERS))
        for hid in sorted(wanted):
            print(f"  {hid:10}" + "".join(f"{('yes' if hid in seen[n] else 'MISSING'):>28}" for n in READERS))
        ok = all(wanted <= s for s in seen.values())
        print(f"  reached all {len(READERS)} services in {time.monotonic() - started:.2f}s" if ok
              else "  NOT every service has every hospital")

        step("A county hospital's system asks the registry over gRPC (same token model as HTTP)")
        token = keys.issue("his-h002", hospital_id="H002", roles=["hospital"], ttl=300)
        async with grpc.aio.insecure_channel("127.0.0.1:9081") as channel:
            stub = pb_grpc.FacilityRegistryStub(channel)
            found = await stub.ListHospitals(pb.ListHospitalsRequest(level=pb.HOSPITAL_LEVEL_TERTIARY),
                                             metadata=bearer_metadata(token))
        for h in found.hospitals:
            print(f"  tertiary: {h.hospital_id} {h.name} ({h.total_beds} beds, specialties {', '.join(h.specialties)})")

        step("Where to go next")
        for name, port in {"data-exchange": 8081, **READERS}.items():
            print(f"  {name:28} http://127.0.0.1:{port}/docs")
        print("  tokens: .venv/bin/alliance-token issue --dir .local/keys --sub me --role alliance_admin")
        print("  stop everything: make down")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
