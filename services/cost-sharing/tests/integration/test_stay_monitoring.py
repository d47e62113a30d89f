"""In-stay DRG monitoring on a real database and broker: a replayed stay raises each threshold once, discharge closes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import insert, select

from alliance.data_exchange.v1 import clinical_pb2 as dx
from alliance_messaging import event_from_proto, proto_time
from alliance_testing.helpers import eventually, read_all
from cost_sharing.adapters.orm import member_hospitals, monitored_stays
from cost_sharing.bootstrap import SPEC

STANDARD = 1_402_500            # FM15 (I21.900 + 36.06) for H001: RW 1.5 × 8,500 yuan × 1.1 (hospital layer)
T0 = datetime(2026, 11, 2, 0, 30, tzinfo=UTC)
STAY = "H001/V-77"


def _auth(dev_keys, roles: list[str], hospital_id: str | None = None, sub: str = "user") -> dict:
    return {"Authorization": f"Bearer {dev_keys.issue(sub, hospital_id=hospital_id, roles=roles)}"}


async def _send(bootstrap: str, topic: str, messages: list[object], *, redeliver: bool = False) -> None:
    """Publish each message as a new event (a replay when the facts were sent before); `redeliver` sends each
    event twice under the same id (the broker's redelivery)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for m in messages:
            e = event_from_proto(m, source="/test", subject="AP-7")
            for _ in range(2 if redeliver else 1):
                await producer.send_and_wait(topic, e.to_json_bytes(), key=b"AP-7")
    finally:
        await producer.stop()


def _coded(code: str) -> dx.CodedValue:
    return dx.CodedValue(code=code)


def _update(hours: int, cost: int, procedures: tuple[str, ...] = ("36.06",)) -> dx.EncounterUpdated:
    return dx.EncounterUpdated(
        encounter_id=STAY, patient_id="AP-7", hospital_id="H001", patient_class="I", department=_coded("cardiology"),
        admitted_at=proto_time(T0), diagnoses=[dx.Diagnosis(code=_coded("I21.900"), principal=True)],
        procedures=[dx.Procedure(code=_coded(p)) for p in procedures],
        cost_lines=[dx.CostLine(category="drugs", amount_fen=cost // 2),
                    dx.CostLine(category="treatment", amount_fen=cost - cost // 2)],
        total_cost_fen=cost, as_of=proto_time(T0 + timedelta(hours=hours)))


def _discharge(cost: int) -> dx.EncounterDischarged:
    at = T0 + timedelta(days=4)
    return dx.EncounterDischarged(
        encounter_id=STAY, patient_id="AP-7", hospital_id="H001", patient_class="I", department=_coded("cardiology"),
        admitted_at=proto_time(T0), discharged_at=proto_time(at), length_of_stay_days=4,
        diagnoses=[dx.Diagnosis(code=_coded("I21.900"), principal=True)],
        procedures=[dx.Procedure(code=_coded("36.06"))],
        cost_lines=[dx.CostLine(category="treatment", amount_fen=cost)], total_cost_fen=cost)


@pytest.fixture
async def cs(start_service, dev_keys):
    rt = await start_service(SPEC, settlement_interval_seconds=0.5)
    async with rt.engine.begin() as conn:
        await conn.execute(insert(member_hospitals), [
            {"hospital_id": h, "name": f"医院{h}", "level": lvl, "region_code": "330100", "active": True, "version": 1}
            for h, lvl in (("H001", "tertiary"), ("H002", "primary"))])
    return rt


async def _stay(rt):
    async with rt.engine.connect() as conn:
        return (await conn.execute(select(monitored_stays).where(monitored_stays.c.encounter_id == STAY))).first()


async def test_a_replayed_stay_crossing_80_and_110_percent_raises_each_once_and_discharge_closes(
        cs, dev_keys, kafka_bootstrap):
    admin = _auth(dev_keys, ["alliance_admin"], sub="admin-1")
    treating, other = _auth(dev_keys, ["hospital"], "H001"), _auth(dev_keys, ["hospital"], "H002")
    base = f"http://127.0.0.1:{cs.http_port}/v1"
    topic = cs.topic("alliance.data_exchange.v1")
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        sample = (await c.get("/drg/tables/sample", headers=admin)).json()
        assert (await c.post("/drg/tables", headers=admin, json={"table": sample | {"effective_from": "2020-01-01"}})
                ).status_code == 201
        admitted = dx.EncounterAdmitted(encounter_id=STAY, patient_id="AP-7", hospital_id="H001", patient_class="I",
                                        department=_coded("cardiology"), admitted_at=proto_time(T0))
        stay = [admitted, _update(2, 300_000, procedures=()),   # FT15 (standard 748,000 for H001): 40%
                _update(6, 700_000),            # PCI coded: FM15, 50%
                _update(20, 1_122_000),         # exactly 80% of 1,402,500
                _update(30, 1_300_000),         # 92.7%
                _update(40, 1_542_750),         # exactly 110%
                _update(50, 1_600_000)]
        await _send(kafka_bootstrap, topic, stay, redeliver=True)
        await eventually(lambda: _as_of(cs, 50))
        await _send(kafka_bootstrap, topic, stay)             # the whole stay replayed: new event ids, same facts
        await _send(kafka_bootstrap, topic, [_update(45, 1_100_000)])   # a late, older snapshot
        marker = dx.EncounterAdmitted(encounter_id="H002/V-1", patient_id="AP-8", hospital_id="H002",
                                      patient_class="I", admitted_at=proto_time(T0))
        await _send(kafka_bootstrap, topic, [marker])          # same partition: once it is in, the replay was handled
        await eventually(lambda: _opened(cs, "H002/V-1"))

        board = (await c.get("/warnings", headers=treating)).json()
        mine = sorted((w["stage"], w["level"], w["value"], w["department"], w["state"]) for w in board
                      if w["encounter_id"] == STAY)
        assert mine == [("intervention", "red", "1.100000", "cardiology", "raised"),
                        ("warning", "yellow", "0.800000", "cardiology", "raised")]
        assert all(w["indicator"] == "drg_cost" for w in board)
        assert (await c.get("/warnings", headers=other)).json() == []      # another hospital sees none of it
        row = await _stay(cs)
        assert (row.drg, row.standard_cost_fen, row.cost_fen, row.discharged_at) == ("FM15", STANDARD, 1_600_000, None)

        await _send(kafka_bootstrap, topic, [_discharge(1_850_000)])       # 131.9%: above the approval line
        await eventually(lambda: _discharged(cs))
        await _send(kafka_bootstrap, topic, [_discharge(1_850_000), _update(60, 2_000_000)])  # replay; late update
        await _send(kafka_bootstrap, topic, [marker2 := dx.EncounterAdmitted(
            encounter_id="H002/V-2", patient_id="AP-8", hospital_id="H002", patient_class="I",
            admitted_at=proto_time(T0))])
        await eventually(lambda: _opened(cs, marker2.encounter_id))
        board = (await c.get("/warnings", headers=admin)).json()
        mine = sorted((w["stage"], w["state"], w["closed_by"]) for w in board if w["encounter_id"] == STAY)
        assert mine == [("above_approval", "raised", None), ("intervention", "closed", "discharge"),
                        ("warning", "closed", "discharge")]

    feed = await read_all(kafka_bootstrap, cs.topic("alliance.cost_sharing.v1"), expected=10, timeout=30)
    events = [json.loads(r.value) for r in feed if r.value]
    types = [e["type"].rsplit(".", 1)[1] for e in events]
    alerts = [e["data"] for e in events if e["type"].endswith("StayCostAlerted")]
    assert sorted(a["stage"] for a in alerts) == ["above_approval", "intervention", "warning"]
    assert types.count("WarningRaised") == 3 and types.count("WarningClosed") == 2
    assert types.count("StayMonitoringClosed") == 1
    closed = next(e["data"] for e in events if e["type"].endswith("StayMonitoringClosed"))
    assert (closed["drg"], closed["costFen"], closed["ratio"]) == ("FM15", "1850000", "1.3191")


async def _as_of(rt, hours: int):
    row = await _stay(rt)
    return row is not None and row.as_of == T0 + timedelta(hours=hours)


async def _opened(rt, encounter_id: str):
    async with rt.engine.connect() as conn:
        return (await conn.execute(select(monitored_stays.c.encounter_id)
                                   .where(monitored_stays.c.encounter_id == encounter_id))).first()


async def _discharged(rt):
    row = await _stay(rt)
    return row is not None and row.discharged_at is not None
