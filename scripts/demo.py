"""The demo scenario: the whole alliance through its public interfaces (HTTP, MLLP, FHIR, gRPC).

An administrator registers the sample alliance and every service learns it; clinical data arrives in HL7 v2 and
FHIR; a referral goes from the county hospital's outpatient clinic to discharge at the tertiary hospital, reusing
the county's results; the alliance buys consumables together; cost-sharing settles the episode by itself, shares
common costs and joint revenue, nets the month, proves its ledger and raises a cost warning that is answered.
A short report closes the run; every figure in it comes from the services' answers.

Re-runnable: fixed things (catalog, DRG table, the month's pool) answer 409 and are read back; things that happen
again (rounds, invoices, the referred patient, the consultation) get ids unique to the run."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import demo_episode
import demo_population
import demo_procurement
import demo_settlement
import grpc
import httpx
from demo_common import PROGRESS, DemoFailure, Report, Tokens, step

from alliance.data_exchange.v1 import facilities_pb2 as pb
from alliance.data_exchange.v1 import facilities_pb2_grpc as pb_grpc
from alliance_auth.dev import DevKeys
from alliance_auth.grpc import bearer_metadata

ROOT = Path(__file__).resolve().parent.parent
ALLIANCE = json.loads((ROOT / "scripts" / "sample_alliance.json").read_text())
SAMPLE = ALLIANCE["hospitals"]
REGISTRY = "http://127.0.0.1:8081"
READERS = {"referral": 8082, "procurement": 8083, "cost-sharing": 8084, "results-mutual-recognition": 8085}


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

        await clinical_flow(http, keys)

        run_tag = datetime.now(UTC).strftime("%y%m%d%H%M%S")
        tokens, report = Tokens(keys), Report()
        try:
            episode = await demo_episode.referral_episode(http, tokens, ALLIANCE, run_tag, report)
            await demo_population.run(http, tokens, ALLIANCE, report)
            await demo_procurement.run(http, tokens, ALLIANCE, run_tag, report)
            await demo_settlement.run(http, tokens, ALLIANCE, run_tag, episode, report)
        except DemoFailure as exc:
            print(f"\nDEMO STOPPED: {exc}")
            return 1

        step("Where to go next")
        for name, port in {"data-exchange": 8081, **READERS}.items():
            print(f"  {name:28} http://127.0.0.1:{port}/docs")
        print("  tokens: .venv/bin/alliance-token issue --dir .local/keys --sub me --role alliance_admin")
        print("  stop everything: make down")
        report.print(PROGRESS.elapsed())
        return 0 if ok else 1


NID = "11010519491231002X"   # synthetic resident ID (valid checksum, not a real person)
ORU = ("MSH|^~\\&|LIS|H002|ALLIANCE|ALLIANCE|20261120083000+0800||ORU^R01^ORU_R01|DEMO-ORU-1|P|2.5.1|||AL|NE||GB 18030-2000\r"
       f"PID|1||MRN-77^^^H002^MR~{NID}^^^CHN^NNCHN||测试患者甲||19491231|M|||||13800000001\r"
       "OBR|1|PL-1|RPT-9001|CBC^血常规^L|||20261120080000+0800||||||||||||||||LAB|F\r"
       "OBX|1|NM|WBC^白细胞计数^L||5.6|10*9/L|3.5-9.5|N|||F|||20261120080000+0800\r"
       "OBX|2|NM|HGB^血红蛋白^L||135|g/L|130-175|N|||F|||20261120080000+0800\r")
ADT = ("MSH|^~\\&|HIS|H001|ALLIANCE|ALLIANCE|20261121090000+0800||ADT^A01^ADT_A01|DEMO-ADT-1|P|2.5.1|||AL|NE||UNICODE UTF-8\r"
       "EVN|A01|20261121090000+0800\r"
       f"PID|1||ZY-5001^^^H001^MR~{NID}^^^CHN^NNCHN||测试患者甲||19491231|M\r"
       "PV1|1|I|CARD^^^H001||||||||||||||||V-1001|||||||||||||||||||||||||20261121090000+0800\r")


async def mllp_send(message: bytes) -> dict:
    from data_exchange.entrypoints.mllp import send
    from data_exchange.hl7 import ack_fields

    return ack_fields(await send("127.0.0.1", 2575, message))


async def clinical_flow(http: httpx.AsyncClient, keys: DevKeys) -> None:
    from alliance.data_exchange.v1 import clinical_pb2, clinical_pb2_grpc

    step("Administrators map local codes to alliance codes (CSV import, row-level errors)")
    csv = "kind,local_code,alliance_code,display\nitem,CBC,LAB-CBC,血常规\nitem,WBC,LAB-WBC,白细胞计数\n" \
          "item,HGB,LAB-HGB,血红蛋白\ndepartment,CARD,DEP-CARD,心内科\nitem,BAD ROW,,\n"
    r = await http.post(f"{REGISTRY}/v1/code-maps/H002/import", content=csv.encode(),
                        headers={"Content-Type": "text/csv"})
    report = r.json()
    print(f"  H002: {report['imported']} rows imported, errors: {report['errors']}")
    await http.put(f"{REGISTRY}/v1/code-maps/H001/department/CARD", json={"alliance_code": "DEP-CARD"})

    step("A county hospital's LIS sends a lab result over MLLP in GB18030; the HIS of the tertiary hospital "
         "admits the same patient")
    oru = await mllp_send(ORU.encode("gb18030"))
    print(f"  ORU^R01 from H002 -> MSA {oru['code']} for {oru['acknowledged_control_id']} ({oru['charset']})")
    adt = await mllp_send(ADT.encode())
    print(f"  ADT^A01 from H001 -> MSA {adt['code']} for {adt['acknowledged_control_id']}")
    again = await mllp_send(ORU.encode("gb18030"))
    print(f"  the ORU re-sent  -> MSA {again['code']} (the same ACK; nothing processed twice)")

    step("One alliance patient across both hospitals (master patient index over gRPC)")
    admin = keys.issue("demo-admin", roles=["alliance_admin"], ttl=300)
    async with grpc.aio.insecure_channel("127.0.0.1:9081") as channel:
        stub = clinical_pb2_grpc.PatientIndexStub(channel)
        found = await stub.ResolvePatient(clinical_pb2.ResolvePatientRequest(
            mrn=clinical_pb2.HospitalMrn(hospital_id="H002", mrn="MRN-77")), metadata=bearer_metadata(admin))
    print(f"  alliance id {found.patient_id}: " + ", ".join(f"{m.hospital_id}/{m.mrn}" for m in found.mrns))

    step("The same result is searchable over FHIR R4 by the treating hospital (every read audited)")
    h002 = keys.issue("emr-h002", hospital_id="H002", roles=["hospital"], ttl=300)
    obs = {"resourceType": "Observation", "status": "final",
           "identifier": [{"system": "https://alliance.example/fhir/sid/lis/H002", "value": "LIS-DEMO-1"}],
           "code": {"coding": [{"system": "https://alliance.example/fhir/CodeSystem/local/H002/items",
                                "code": "HGB", "display": "血红蛋白"}]},
           "subject": {"identifier": {"system": "https://alliance.example/fhir/sid/mrn/H002", "value": "MRN-77"}},
           "effectiveDateTime": "2026-11-21T07:30:00+08:00", "valueQuantity": {"value": 131, "unit": "g/L"}}
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {h002}",
                                          "Content-Type": "application/fhir+json"}) as fhir:
        created = await fhir.post(f"{REGISTRY}/fhir/Observation", json=obs)
        found_obs = (await fhir.get(f"{REGISTRY}/fhir/Observation", params={"code": "HGB"})).json()
    print(f"  POST Observation -> {created.status_code}; search code=HGB -> {found_obs['total']} result(s)")


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
