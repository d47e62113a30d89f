"""Cost-sharing on a real database and broker: settlement with no human step, the regulators' feed, tampering."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import insert, text

from alliance.data_exchange.v1 import clinical_pb2 as dx
from alliance.procurement.v1 import procurement_pb2 as pr
from alliance.referral.v1 import referral_pb2 as rf
from alliance.results_mutual_recognition.v1 import recognition_pb2 as rmr
from alliance_messaging import event_from_proto, proto_time
from alliance_testing.helpers import eventually, read_all
from cost_sharing.adapters.orm import encounters, member_hospitals
from cost_sharing.bootstrap import SPEC
from cost_sharing.ledger_cli import from_database, from_feed

HOSPITALS = [("H001", "tertiary", "330100"), ("H002", "primary", "330100"), ("H003", "primary", "330200")]


def _auth(dev_keys, roles: list[str], hospital_id: str | None = None, sub: str = "user") -> dict:
    return {"Authorization": f"Bearer {dev_keys.issue(sub, hospital_id=hospital_id, roles=roles)}"}


async def _send(bootstrap: str, topic: str, messages: list[tuple[str, object]], *, repeat_first: bool = False):
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        events = [(key, event_from_proto(m, source="/test", subject=key)) for key, m in messages]
        if repeat_first:
            events.append(events[0])           # the same event delivered twice
        for key, e in events:
            await producer.send_and_wait(topic, e.to_json_bytes(), key=key.encode())
    finally:
        await producer.stop()


def _discharge(encounter_id: str, hospital: str, patient_class: str, total: int, at: datetime,
               principal: str = "I21.900", procedures: tuple[str, ...] = ()) -> dx.EncounterDischarged:
    return dx.EncounterDischarged(
        encounter_id=encounter_id, patient_id="AP-1", hospital_id=hospital, patient_class=patient_class,
        department=dx.CodedValue(code="cardiology"), admitted_at=proto_time(at - timedelta(days=5)),
        discharged_at=proto_time(at), length_of_stay_days=5,
        diagnoses=[dx.Diagnosis(code=dx.CodedValue(code=principal), principal=True)],
        procedures=[dx.Procedure(code=dx.CodedValue(code=p)) for p in procedures],
        cost_lines=[dx.CostLine(category="drugs", amount_fen=total // 4),
                    dx.CostLine(category="consumables", amount_fen=total // 4),
                    dx.CostLine(category="treatment", amount_fen=total - 2 * (total // 4))],
        total_cost_fen=total)


@pytest.fixture
async def cs(start_service, dev_keys):
    rt = await start_service(SPEC, settlement_interval_seconds=0.2)
    async with rt.engine.begin() as conn:
        await conn.execute(insert(member_hospitals), [
            {"hospital_id": h, "name": f"医院{h}", "level": lvl, "region_code": region, "active": True, "version": 1}
            for h, lvl, region in HOSPITALS])
    return rt


async def test_a_completed_referral_settles_itself_and_the_regulator_feed_carries_it(cs, dev_keys, kafka_bootstrap):
    admin, regulator = _auth(dev_keys, ["alliance_admin"], sub="admin-1"), _auth(dev_keys, ["regulator"], sub="nhc")
    base = f"http://127.0.0.1:{cs.http_port}/v1"
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        sample = (await c.get("/drg/tables/sample", headers=admin)).json()
        assert (await c.post("/drg/tables", headers=admin, json={"table": sample | {"effective_from": "2020-01-01"}})
                ).status_code == 201
    now = datetime.now(UTC)
    completed = rf.ReferralCompleted(
        referral=rf.ReferralRef(referral_id="R-1", patient_id="AP-1", origin_hospital="H002", direction="up"),
        receiving_hospital="H001", requested_at=proto_time(now - timedelta(days=2)), occurred_at=proto_time(now))
    dx_topic, ref_topic = cs.topic("alliance.data_exchange.v1"), cs.topic("alliance.referral.v1")
    await _send(kafka_bootstrap, dx_topic, [("AP-1", _discharge("H002/O1", "H002", "O", 30_000, now - timedelta(days=3)))])
    await _send(kafka_bootstrap, ref_topic, [("R-1", completed)], repeat_first=True)
    # the inpatient stay's discharge arrives after the completion (another topic, no ordering between them)
    await _send(kafka_bootstrap, dx_topic, [("AP-1", _discharge("H001/I1", "H001", "I", 1_500_000, now - timedelta(hours=1),
                                                                  procedures=("36.06",)))])
    await _send(kafka_bootstrap, ref_topic, [("R-1", completed)])     # a replayed completion, new event id

    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        async def settled():
            entries = (await c.get("/ledger/entries", headers=regulator)).json()
            return entries if len([e for e in entries if e["kind"] == "referral_settlement"]) == 2 else None
        entries = await eventually(settled)
        assert sorted(e["reference"] for e in entries) == ["referral:R-1:H001/I1", "referral:R-1:H002/O1"]
        inpatient = next(e for e in entries if e["reference"].endswith("H001/I1"))
        assert {(x["account"], x["debit_fen"], x["credit_fen"]) for x in inpatient["legs"]} == {
            ("insurer:basic", 1_050_000, 0), ("patients:copay", 450_000, 0), ("hospital:H001", 0, 1_500_000)}

        async def statements():
            got = (await c.get("/statements", headers=regulator)).json()
            return got if {s["hospital_id"] for s in got} >= {"H001", "H002"} else None
        issued = await eventually(statements)
        assert next(s for s in issued if s["hospital_id"] == "H002")["closing_fen"] == 30_000
        [case] = (await c.get("/drg/cases", headers=regulator)).json()
        # RW 1.5 × 8,500 yuan = 1,275,000 fen, × 1.1 by the sample table's hospital layer for H001
        assert (case["drg"], case["payment_fen"]) == ("FM15", 1_402_500)
        assert {step["layer"] for step in case["grouping"]["path"]} == {"base", "hospital", "exception"}
        verified = await eventually(lambda: _verified(c, regulator))
        assert verified["ok"] and verified["entries_checked"] == 2 and verified["checkpoints_checked"] >= 1
        # the settlement cycle is each hospital's own: H003 took no part in R-1
        cycles = {}
        for hid in ("H001", "H003"):
            card = (await c.get("/scorecard", params={"period": entries[0]["period"], "hospital_id": hid},
                                headers=regulator)).json()
            process = next(p for p in card["perspectives"] if p["perspective"] == "process")
            cycles[hid] = next(m for m in process["measures"] if m[0] == "settlement_cycle_days")[2]
        assert cycles["H001"] is not None and cycles["H003"] is None
        # a regulator reads everything and writes nothing
        assert (await c.post("/pools", headers=regulator, json={
            "pool_id": "p", "name": "x", "period": "2026-11", "amount_fen": 1})).status_code == 403
        assert (await c.post(f"/ledger/entries/{inpatient['entry_id']}/reverse", headers=regulator,
                             json={"reason": "nope"})).status_code == 403
        own = (await c.get("/ledger/entries", headers=_auth(dev_keys, ["hospital"], "H002"))).json()
        assert [e["reference"] for e in own] == ["referral:R-1:H002/O1"]
        # a second referral of the same patient covers the same stays: they are not paid twice
        second = rf.ReferralCompleted(
            referral=rf.ReferralRef(referral_id="R-2", patient_id="AP-1", origin_hospital="H002", direction="up"),
            receiving_hospital="H001", requested_at=proto_time(now - timedelta(days=1)),
            occurred_at=proto_time(now + timedelta(minutes=5)))
        await _send(kafka_bootstrap, ref_topic, [("R-2", second)])
        await eventually(lambda: _episode_recorded(cs, "R-2"))
        entries = (await c.get("/ledger/entries", headers=regulator)).json()
        assert len([e for e in entries if e["kind"] == "referral_settlement"]) == 2

    feed = await read_all(kafka_bootstrap, cs.topic("alliance.cost_sharing.v1"), expected=6, timeout=30)
    types = [json.loads(r.value)["type"].rsplit(".", 1)[1] for r in feed]
    assert types.count("SettlementEntryPosted") == 2 and "LedgerCheckpointSigned" in types
    assert types.count("SettlementStatementIssued") >= 2 and "CaseGrouped" in types
    posted = [json.loads(r.value)["data"] for r in feed if r.value and b"SettlementEntryPosted" in r.value]
    assert posted[1]["prevHash"] == posted[0]["hash"]          # the feed carries the chain, in order


async def _episode_recorded(rt, referral_id: str):
    async with rt.engine.connect() as conn:
        found = (await conn.execute(text("SELECT 1 FROM referral_episodes WHERE referral_id = :r"),
                                    {"r": referral_id})).first()
    return found


async def _verified(c: httpx.AsyncClient, headers: dict):
    v = (await c.get("/ledger/verify", headers=headers)).json()
    return v if v["checkpoints_checked"] else None


async def test_allocations_sum_exactly_netting_settles_and_a_tampered_row_is_found(cs, dev_keys, kafka_bootstrap):
    admin = _auth(dev_keys, ["alliance_admin"], sub="admin-1")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{cs.http_port}/v1", timeout=30) as c:
        pool = (await c.post("/pools", headers=admin, json={
            "pool_id": "platform-2026-11", "name": "platform build", "period": "2026-11", "amount_fen": 10_001})).json()
        assert sum(pool["shares"].values()) == 10_001 and len(pool["shares"]) == 3
        assert pool["coefficients"][0]["breakdown"]
        again = await c.post("/pools", headers=admin, json={
            "pool_id": "platform-2026-11", "name": "platform build", "period": "2026-11", "amount_fen": 10_001})
        assert again.status_code == 409
        joint = (await c.post("/joint-services", headers=admin, json={
            "service_id": "TC-1", "kind": "remote_consultation", "amount_fen": 10_000, "collected_by": "H002",
            "occurred_at": "2026-11-10T08:00:00+08:00",
            "parties": [{"hospital_id": "H001", "role": "expert"}, {"hospital_id": "H002", "role": "site"}]})).json()
        assert joint["shares"] == {"H001": 6_000, "H002": 4_000}
        await _send(kafka_bootstrap, cs.topic("alliance.results_mutual_recognition.v1"), [("AP-9", rmr.RecognitionDecided(
            decision_id="D-1", patient_id="AP-9", requesting_hospital="H001", item_code="CT-HEAD", outcome="reused",
            result_id="H003/1", issuing_hospital="H003", saving_fen=35_001,
            occurred_at=proto_time(datetime(2026, 11, 12, tzinfo=UTC))))], repeat_first=True)
        await eventually(lambda: _entries(c, admin, 3))
        overruns = [pr.OverrunAttributed(attribution_id="OVR-1", contract_id="RND-1/1401010000010001/SUP-A",
                                         hospital_id="H002", cause="market", overrun_fen=1_001, hospital_fen=501,
                                         supplier_fen=500, occurred_at=proto_time(datetime(2026, 11, 14, tzinfo=UTC))),
                    pr.OverrunAttributed(attribution_id="OVR-BAD", contract_id="RND-1/x/SUP-A", hospital_id="H002",
                                         cause="market", overrun_fen=1_000, hospital_fen=1, supplier_fen=1,
                                         occurred_at=proto_time(datetime(2026, 11, 14, tzinfo=UTC)))]
        await _send(kafka_bootstrap, cs.topic("alliance.procurement.v1"), [("c", m) for m in overruns],
                    repeat_first=True)
        entries = await eventually(lambda: _entries(c, admin, 4))
        [overrun] = [e for e in entries if e["kind"] == "procurement_overrun"]
        assert {(x["account"], x["debit_fen"], x["credit_fen"]) for x in overrun["legs"]} == {
            ("hospital:H002", 501, 0), ("supplier:SUP-A", 500, 0), ("fund:procurement", 0, 1_001)}
        [dead] = await read_all(kafka_bootstrap, cs.topic("alliance.procurement.v1.dlq"), expected=1)
        assert b"OVR-BAD" in dead.value                 # shares that do not sum are refused, not posted
        await _send(kafka_bootstrap, cs.topic("alliance.results_mutual_recognition.v1"), [("AP-9", rmr.RecognitionDecided(
            decision_id="D-2", patient_id="AP-9", requesting_hospital="H001", item_code="LAB-WBC", outcome="declined",
            decline_reason="condition_changed", occurred_at=proto_time(datetime(2026, 11, 13, tzinfo=UTC))))])

        async def recognition_rate():
            # D-1 alone already gives a score (1 reused of 1), so wait for D-2 to be counted too
            card = (await c.get("/scorecard", params={"period": "2026-11"}, headers=admin)).json()
            patient = next(p for p in card["perspectives"] if p["perspective"] == "patient")
            measure = next((m for m in patient["measures"] if m[0] == "recognition_rate"), None)
            return measure if measure and measure[2] == "0.5" else None
        recognition = await eventually(recognition_rate)
        assert recognition[2] == "0.5"              # one reused of two decisions
        net = (await c.get("/netting/2026-11", headers=admin)).json()
        assert net["settles_every_balance"] and net["net_fen"] <= net["gross_fen"]
        assert len(net["transfers"]) < len(net["balances"])
        assert sum(net["balances"].values()) == 0

        async with cs.engine.begin() as conn:
            with pytest.raises(Exception, match="append-only"):
                async with conn.begin_nested():
                    await conn.execute(text("UPDATE ledger_entries SET memo = 'x' WHERE seq = 2"))
        async with cs.engine.begin() as conn:       # an insider with table rights bypasses the trigger
            await conn.execute(text("ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only"))
            await conn.execute(text("UPDATE ledger_entries SET legs = jsonb_set(legs, '{0,debit_fen}', '1') "
                                    "WHERE seq = 2"))
            await conn.execute(text("ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_append_only"))
        broken = (await c.get("/ledger/verify", headers=admin)).json()
        assert not broken["ok"] and broken["first_broken_seq"] == 2 and broken["entries_checked"] == 1
    # the regulator's own check, from the feed alone: the published chain still verifies, and the
    # database's tampered row no longer matches what was published (the CLI on the database says so)
    assert await eventually(lambda: _feed_ok(kafka_bootstrap, cs.topic("alliance.cost_sharing.v1")))
    cli = await from_database(cs.settings.database_url)
    assert (cli["ok"], cli["first_broken_seq"], cli["reason"]) == (False, 2, broken["reason"])


async def _feed_ok(bootstrap: str, topic: str):
    result = await from_feed(bootstrap, topic, idle_seconds=1.0, pinned_key=None)
    return result if result["ok"] and result["entries_checked"] == 4 and result["checkpoints_checked"] else None


async def _entries(c, headers, n):
    got = (await c.get("/ledger/entries", headers=headers)).json()
    return got if len(got) >= n else None


async def test_warnings_fire_above_the_exact_thresholds_and_follow_their_lifecycle(cs, dev_keys):
    admin = _auth(dev_keys, ["alliance_admin"], sub="admin-1")
    rows = []
    for h, current in [("H001", 10_800), ("H002", 10_801), ("H003", 11_001)]:   # 8.00%, 8.01%, 10.01%
        rows.append({"encounter_id": f"{h}/prev", "hospital_id": h, "total_fen": 10_000, "period": "2026-10"})
        rows.append({"encounter_id": f"{h}/cur", "hospital_id": h, "total_fen": current, "period": "2026-11"})
    async with cs.engine.begin() as conn:
        await conn.execute(insert(encounters), [r | {
            "patient_id": "AP-1", "patient_class": "O", "department": "gp", "discharged_at": datetime.now(UTC),
            "los_days": 0, "principal_dx": "I10", "secondary_dx": [], "procedures": [], "drugs_fen": 3000,
            "consumables_fen": 1000} for r in rows])
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{cs.http_port}/v1", timeout=30) as c:
        raised = (await c.post("/indicators/2026-11/evaluate", headers=admin)).json()["raised"]
        board = (await c.get("/warnings", headers=admin)).json()
        growth = {w["hospital_id"]: w["level"] for w in board if w["indicator"] == "cost_growth"}
        assert growth == {"H002": "yellow", "H003": "red"}
        assert (await c.post("/indicators/2026-11/evaluate", headers=admin)).json()["raised"] == []
        assert len(raised) == len(board)
        w = next(x for x in board if x["hospital_id"] == "H002" and x["indicator"] == "cost_growth")
        assert (await c.post(f"/warnings/{w['warning_id']}/close", headers=admin, json={})).status_code == 409
        assert (await c.post(f"/warnings/{w['warning_id']}/answer", headers=_auth(dev_keys, ["hospital"], "H003"),
                             json={"cause": "x", "remedy": "y"})).status_code == 404
        answered = await c.post(f"/warnings/{w['warning_id']}/answer", headers=_auth(dev_keys, ["hospital"], "H002"),
                                json={"cause": "新设备投入使用", "remedy": "控制耗材"})
        assert answered.status_code == 200 and answered.json()["late"] is False
        assert (await c.post(f"/warnings/{w['warning_id']}/close", headers=_auth(dev_keys, ["regulator"]),
                             json={})).status_code == 403
        assert (await c.post(f"/warnings/{w['warning_id']}/close", headers=admin, json={})).json()["state"] == "closed"
        card = (await c.get("/scorecard", params={"period": "2026-11"}, headers=_auth(dev_keys, ["regulator"]))).json()
        assert card["perspectives"] and card["total"] is not None


async def test_formula_versions_are_published_once_each_and_what_if_stores_nothing(cs, dev_keys):
    admin = _auth(dev_keys, ["alliance_admin"], sub="admin-1")
    formula = {"level_factors": {"tertiary": "1.2", "secondary": "1.0", "primary": "0.8"}, "volume_weight": "0.5",
               "resource_weight": "0.5", "volume_metrics": {"referrals_handled": "1", "case_mix_volume": "1"},
               "resource_metrics": {"equipment_units": "1", "experts": "2", "beds_shared": "1"}}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{cs.http_port}/v1", timeout=30) as c:
        bad = await c.post("/coefficients/formulas", headers=admin, json=formula | {"volume_weight": "0.6"})
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
        what_if = await c.post("/coefficients/what-if", headers=admin,
                               json={"period": "2026-11", "formula": formula})
        assert what_if.status_code == 200, what_if.text
        assert len(what_if.json()["coefficients"]) == 3
        assert (await c.get("/coefficients", params={"period": "2026-11"}, headers=admin)).json()["formula"][
            "version"] == 1                                  # the what-if stored nothing
        racing = await asyncio.gather(*(c.post("/coefficients/formulas", headers=admin, json=formula)
                                        for _ in range(4)))
        assert all(r.status_code in (201, 409) for r in racing)
        versions = sorted(r.json()["version"] for r in racing if r.status_code == 201)
        assert versions == list(range(2, 2 + len(versions)))
        current = (await c.get("/coefficients", params={"period": "2026-11"}, headers=admin)).json()
        assert current["formula"]["version"] == versions[-1] and current["formula"]["volume_weight"] == "0.5"


async def test_an_expensive_case_needs_two_different_approvers_and_drafts_can_be_simulated(cs, dev_keys,
                                                                                          kafka_bootstrap):
    admin1, admin2 = (_auth(dev_keys, ["alliance_admin"], sub=s) for s in ("admin-1", "admin-2"))
    now = datetime.now(UTC)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{cs.http_port}/v1", timeout=30) as c:
        sample = (await c.get("/drg/tables/sample", headers=admin1)).json()
        assert (await c.post("/drg/tables", headers=admin1, json={"table": sample | {"effective_from": "2020-01-01"}})
                ).status_code == 201
        # FM15 pays RW 1.5 × 8,500 yuan = 1,275,000 fen at H002 (no hospital rule): 2,000,000 is 157% of it
        await _send(kafka_bootstrap, cs.topic("alliance.data_exchange.v1"), [
            ("AP-1", _discharge("H002/I9", "H002", "I", 2_000_000, now, procedures=("36.06",))),
            ("AP-1", _discharge("H002/I8", "H002", "I", 1_000_000, now, procedures=("36.06",)))])

        async def grouped():
            got = (await c.get("/drg/cases", headers=admin1)).json()
            return {x["case_id"]: x for x in got} if len(got) == 2 else None
        cases = await eventually(grouped)
        costly, ordinary = cases["H002/I9"], cases["H002/I8"]
        assert costly["needs_two_approvals"] and costly["approved"] is False
        assert not ordinary["needs_two_approvals"]
        assert (await c.post("/drg/cases/H002%2FI8/approve", headers=admin1)).status_code == 409
        first = (await c.post("/drg/cases/H002%2FI9/approve", headers=admin1)).json()
        assert first == {"case_id": "H002/I9", "approvals": ["admin-1"], "approved": False}
        assert (await c.post("/drg/cases/H002%2FI9/approve", headers=admin1)).status_code == 409   # not twice
        assert (await c.post("/drg/cases/H002%2FI9/approve", headers=_auth(dev_keys, ["regulator"]))
                ).status_code == 403
        second = (await c.post("/drg/cases/H002%2FI9/approve", headers=admin2)).json()
        assert second["approved"] is True and second["approvals"] == ["admin-1", "admin-2"]

        # during a stay: warning from 80% of the standard, intervention from 110%
        stay = {"hospital_id": "H002", "principal_dx": "I21.900", "procedures": ["36.06"]}
        levels = [(await c.post("/drg/in-stay", headers=_auth(dev_keys, ["hospital"], "H002"),
                                json=stay | {"accumulated_cost_fen": fen})).json()["status"]
                  for fen in (1_019_999, 1_020_000, 1_402_500)]
        assert levels == ["ok", "warning", "intervention"]
        assert (await c.post("/drg/in-stay", headers=_auth(dev_keys, ["hospital"], "H003"),
                             json=stay | {"accumulated_cost_fen": 1})).status_code == 404      # not its patient

        draft = sample | {"version": sample["version"] + 1, "base_rates": {"default": "9350.00"}}
        sim = (await c.post("/drg/simulate", headers=admin1, json={"draft": draft})).json()
        assert sim["cases"] == 2 and sim["total_draft_fen"] - sim["total_current_fen"] == 2 * 127_500   # +10% each
        assert [(r["hospital_id"], r["delta_fen"]) for r in sim["rows"]] == [("H002", 255_000)]
        assert (await c.post("/drg/simulate", headers=admin1, json={"draft": {"version": "x"}})).status_code == 422
