"""Referral on a real database and broker: routing with reasons, exactly one acceptance, the loop closed."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import insert

from alliance_testing.helpers import post_effective, read_all
from referral.adapters.orm import bed_status, encounters, member_hospitals
from referral.adapters.store import rule_to_json
from referral.bootstrap import SPEC
from referral.domain.rules import sample_rules
from referral.service.referrals import DeadlineTimer

HOSPITALS = [("H001", "tertiary", "330100", ["cardiology", "neurology_x"]), ("H002", "secondary", "330122",
             ["internal_medicine"]), ("H009", "tertiary", "440100", ["cardiology"]),
             ("H010", "primary", "330122", ["internal_medicine"])]


@pytest.fixture
async def ref(start_service, dev_keys, patient_index):
    for patient in ("AP-1", "AP-2", "AP-3", "AP-V", "AP-W", "AP-X"):     # H002 treats them (its own MRNs)
        patient_index.register("H002", f"MRN-{patient}", patient)
    rt = await start_service(SPEC, data_exchange_grpc=patient_index.address)
    now = datetime.now(UTC)
    async with rt.engine.begin() as conn:
        await conn.execute(insert(member_hospitals), [
            {"hospital_id": h, "name": f"医院{h}", "level": level, "region_code": region, "specialties": specs,
             "total_beds": 500, "active": True, "version": 1} for h, level, region, specs in HOSPITALS])
        await conn.execute(insert(bed_status), [
            {"hospital_id": "H001", "specialty": "cardiology", "available": 20, "total": 60, "reported_at": now},
            {"hospital_id": "H009", "specialty": "cardiology", "available": 30, "total": 60, "reported_at": now}])

    def client(hospital: str | None = None, role: str = "hospital") -> httpx.AsyncClient:
        token = dev_keys.issue(f"u-{hospital}", hospital_id=hospital, roles=[role])
        return httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}/v1",
                                 headers={"Authorization": f"Bearer {token}"})

    async with client(role="alliance_admin") as admin:
        r = await post_effective(lambda at: admin.post("/rules/versions", json={
            "effective_from": at.isoformat(), "rules": [rule_to_json(x) for x in sample_rules().rules]}))
        assert r.status_code == 201, r.text
    rt.extras["client"] = client
    return rt


async def test_an_up_referral_is_routed_accepted_once_and_completed_with_events(ref, kafka_bootstrap):
    client = ref.extras["client"]
    async with client("H002") as h002:
        r = await h002.post("/referrals", json={"patient_id": "AP-1", "diagnosis_code": "I21.000",
                                                "severity": "severe"})
        assert r.status_code == 201, r.text
        body = r.json()
    referral_id = body["referral"]["referral_id"]
    ranked = body["routing"]["ranked"]
    assert [c["hospital_id"] for c in ranked] == ["H001", "H009"]          # same province ranks first
    assert ranked[0]["reasons"] and body["routing"]["rule_id"].startswith("SAMPLE")
    assert {e["hospital_id"] for e in body["routing"]["excluded"]} >= {"H010"}

    async def accept(hospital: str) -> int:
        async with client(hospital) as c:
            return (await c.post(f"/referrals/{referral_id}/accept")).status_code

    results = await asyncio.gather(*(accept(h) for h in ("H001", "H009", "H001", "H009")))
    assert sorted(results) == [200, 409, 409, 409]
    async with client("H002") as h002:
        assert (await h002.post(f"/referrals/{referral_id}/transfer")).status_code == 200
        assert (await h002.post(f"/referrals/{referral_id}/complete")).status_code == 404   # not the receiver
    winner = None
    for h in ("H001", "H009"):
        async with client(h) as c:
            if (await c.get(f"/referrals/{referral_id}")).json()["accepted_by"] == h:
                winner = h
    async with client(winner) as c:
        assert (await c.post(f"/referrals/{referral_id}/arrive")).status_code == 200
        done = await c.post(f"/referrals/{referral_id}/complete")
        assert done.status_code == 200 and done.json()["status"] == "completed"
        assert (await c.post(f"/referrals/{referral_id}/complete")).status_code == 409
        back = await c.post(f"/referrals/{referral_id}/down-referral")
        assert back.status_code == 201, back.text
        down = back.json()
        assert (down["direction"], down["linked_from"], list(down["offers"])) == ("down", referral_id, ["H002"])
        assert (await c.post(f"/referrals/{referral_id}/down-referral")).status_code == 409
    async with client("H002") as h002:
        assert (await h002.post(f"/referrals/{down['referral_id']}/accept")).status_code == 200
    now = datetime.now(UTC)
    async with ref.engine.begin() as conn:   # discharged stays, as data-exchange's EncounterDischarged delivers them
        await conn.execute(insert(encounters), [
            {"encounter_id": f"H001/V{n}", "patient_id": f"AP-S{n}", "hospital_id": "H001",
             "diagnosis_code": code, "discharged_at": now} for n, code in enumerate(["I21.0"] * 5 + ["I10"] * 2)])
    async with client(role="regulator") as regulator:
        figures = (await regulator.get("/indicators")).json()
    assert (figures["referrals"], figures["down_referrals"], figures["accepted"], figures["eligible_cases"]) == (
        2, 1, 2, 7)
    assert figures["referral_rate"] == pytest.approx(2 / 7) and figures["meets_target"] is False
    [signal] = figures["siphoning"]            # stable hypertension kept at the tertiary hospital
    assert (signal["hospital_id"], signal["kept"], signal["flagged"]) == ("H001", 2, True)
    async with client("H010") as stranger:
        assert (await stranger.get(f"/referrals/{referral_id}")).status_code == 404
    records = await read_all(kafka_bootstrap, ref.topic("alliance.referral.v1"), expected=9)
    types = [json.loads(x.value)["type"].rsplit(".", 1)[1] for x in records
             if json.loads(x.value)["subject"] == referral_id]
    assert types == ["ReferralRequested", "ReferralOffered", "ReferralAccepted", "ReferralTransferred",
                     "ReferralArrived", "ReferralCompleted"]


async def test_no_capable_hospital_is_an_answer_not_an_error(ref):
    async with ref.extras["client"]("H002") as h002:
        r = await h002.post("/referrals", json={"patient_id": "AP-2", "diagnosis_code": "I63.9", "severity": "critical"})
    assert r.status_code == 200 and r.json()["referral"] is None
    assert "neurology" in r.json()["routing"]["reason_if_none"]


async def test_a_deadline_that_passed_while_the_service_was_down_fires_once_after_restart(ref, kafka_bootstrap):
    async with ref.extras["client"]("H002") as h002:
        r = await h002.post("/referrals", json={"patient_id": "AP-3", "diagnosis_code": "I21.0", "severity": "critical"})
    referral_id = r.json()["referral"]["referral_id"]
    await ref.extras["deadlines"].stop()                      # the service goes down
    later = datetime.now(UTC) + timedelta(hours=2)            # emergency deadline: 30 minutes
    restarted = DeadlineTimer(ref.uow)                        # ... and comes back
    assert await restarted.tick(later) == 1
    assert await DeadlineTimer(ref.uow).tick(later + timedelta(minutes=1)) == 0
    async with ref.extras["client"]("H002") as h002:
        assert (await h002.get(f"/referrals/{referral_id}")).json()["status"] == "expired"
    records = await read_all(kafka_bootstrap, ref.topic("alliance.referral.v1"), expected=3)
    assert [json.loads(x.value)["type"].rsplit(".", 1)[1] for x in records][-1] == "ReferralExpired"


async def test_a_referral_keeps_the_rule_version_it_was_routed_with(ref):
    client = ref.extras["client"]
    async with client("H002") as h002:
        first = (await h002.post("/referrals", json={"patient_id": "AP-V", "diagnosis_code": "I21.0",
                                                     "severity": "severe"})).json()
    changed = [rule_to_json(x) | ({"target_levels": ["secondary", "tertiary"]} if x.rule_id == "SAMPLE-AMI-UP" else {})
               for x in sample_rules().rules]
    async with client(role="alliance_admin") as admin:
        r = await post_effective(lambda at: admin.post("/rules/versions", json={
            "effective_from": at.isoformat(), "rules": changed}))
        assert r.status_code == 201 and r.json()["version"] == 2
    async with client("H002") as h002:
        kept = (await h002.get(f"/referrals/{first['referral']['referral_id']}")).json()
        second = (await h002.post("/referrals", json={"patient_id": "AP-W", "diagnosis_code": "I21.0",
                                                      "severity": "severe"})).json()
    assert (kept["rule_version"], kept["routing"]["rule_version"]) == (1, 1)
    assert second["referral"]["rule_version"] == 2


async def test_a_stale_bed_report_is_flagged_and_weighs_less(ref):
    async with ref.engine.begin() as conn:
        await conn.execute(bed_status.update().where(bed_status.c.hospital_id == "H001").values(
            reported_at=datetime.now(UTC) - timedelta(hours=7)))
    async with ref.extras["client"]("H002") as h002:
        routing = (await h002.post("/referrals", json={"patient_id": "AP-X", "diagnosis_code": "I21.0",
                                                       "severity": "severe"})).json()["routing"]
    by_id = {c["hospital_id"]: c for c in routing["ranked"]}
    assert any("stale" in reason for reason in by_id["H001"]["reasons"])
    assert [c["hospital_id"] for c in routing["ranked"]][0] == "H009"     # fresh capacity now ranks first


async def test_a_hospital_refers_only_patients_it_treats_by_alliance_id_or_its_own_mrn(ref, patient_index):
    patient_index.register("H009", "MRN-OTHER", "AP-OTHER")               # treated elsewhere only
    client = ref.extras["client"]
    async with client("H002") as h002:
        by_mrn = await h002.post("/referrals", json={"mrn": "MRN-AP-1", "diagnosis_code": "I21.0",
                                                      "severity": "severe"})
        assert by_mrn.status_code == 201, by_mrn.text
        assert by_mrn.json()["referral"]["patient_id"] == "AP-1"          # the resolved alliance id is stored
        refused = [await h002.post("/referrals", json={**who, "diagnosis_code": "I21.0", "severity": "severe"})
                   for who in ({"patient_id": "AP-OTHER"}, {"patient_id": "AP-NOBODY"}, {"mrn": "MRN-OTHER"})]
        assert [r.status_code for r in refused] == [404, 404, 404]
        assert refused[0].json() == refused[1].json()                       # existence is not revealed
        assert refused[0].headers["content-type"].startswith("application/problem+json")
        for both_or_none in ({"patient_id": "AP-1", "mrn": "MRN-AP-1"}, {}):
            r = await h002.post("/referrals", json={**both_or_none, "diagnosis_code": "I21.0", "severity": "severe"})
            assert r.status_code == 422
        assert len((await h002.get("/referrals")).json()) == 1              # nothing created for the refusals


async def test_without_the_patient_index_no_referral_is_created(start_service, dev_keys, ref):
    unconfigured = await start_service(SPEC)
    unreachable = await start_service(SPEC, data_exchange_grpc="127.0.0.1:9")
    token = dev_keys.issue("u-H002", hospital_id="H002", roles=["hospital"])
    for rt in (unconfigured, unreachable):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}/v1",
                                     headers={"Authorization": f"Bearer {token}"}) as h002:
            r = await h002.post("/referrals", json={"patient_id": "AP-1", "diagnosis_code": "I21.0",
                                                    "severity": "severe"})
            assert r.status_code == 503 and r.headers["retry-after"], r.text
            assert (await h002.get("/referrals")).json() == []


async def test_only_the_parties_and_administrators_read_a_referral(ref):
    client = ref.extras["client"]
    async with client("H002") as h002:
        referral_id = (await h002.post("/referrals", json={"patient_id": "AP-1", "diagnosis_code": "I21.0",
                                                           "severity": "severe"})).json()["referral"]["referral_id"]
    for role in ("supplier", "qc_center", "regulator"):
        async with client("H001", role=role) as c:
            assert (await c.get(f"/referrals/{referral_id}")).status_code == 403
            assert (await c.get("/referrals")).status_code == 403
    async with client(None) as no_hospital:                                # a hospital token naming no hospital
        assert (await no_hospital.get(f"/referrals/{referral_id}")).status_code in (401, 403)
        assert (await no_hospital.get("/referrals")).status_code in (401, 403)
    for party in ("H002", "H001", "H009"):                                 # origin and the offered hospitals
        async with client(party) as c:
            assert (await c.get(f"/referrals/{referral_id}")).status_code == 200
    async with client("H010") as stranger, client(role="alliance_admin") as admin:
        assert (await stranger.get(f"/referrals/{referral_id}")).status_code == 404
        assert (await admin.get(f"/referrals/{referral_id}")).status_code == 200
