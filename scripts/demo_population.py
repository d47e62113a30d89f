"""A seeded synthetic population for the sample alliance, sent the way member HIS systems send it.

For every hospital: outpatient visits last month and this month (ADT^A03 with FT1 charge lines over
MLLP), so per-visit cost, its growth, drug and consumable shares and the cost index have something to
say about every hospital; three county hospitals are planted above the 8% and 10% growth thresholds. Then
a few more patients are referred up from county hospitals, treated as inpatients at the tertiary
hospital and completed, so settlement, coefficients and netting have volume. Deterministic: the same
seed gives the same people, visits and money; control ids are fixed, so a re-run is acknowledged again
and applied once (data-exchange de-duplicates on MSH-4 + MSH-10).
"""

from __future__ import annotations

import asyncio
import random
from datetime import date, timedelta
from decimal import Decimal

import httpx
from demo_common import (
    CHINA,
    REFERRAL,
    REGISTRY,
    DemoFailure,
    Report,
    Tokens,
    call,
    now_utc,
    poll,
    say,
    step,
    synthetic_resident_id,
    yuan,
)
from demo_episode import Patient, _resolve, adt, mllp_send

SEED = 2026
PER_HOSPITAL = 6
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨"
GIVEN = "测试样例虚构演示模拟"
# growth of cost per outpatient visit this month against last month, per hospital (planted)
GROWTH = {h: Decimal(g) for h, g in
          {"H001": "1.03", "H002": "1.05", "H003": "1.13", "H004": "1.12", "H005": "1.09", "H006": "0.98"}.items()}
CENT = Decimal("0.01")
OUTPATIENT_CHARGES = [("110200001", "诊查费", "treatment"), ("250101001", "检验", "laboratory"),
                      ("XY0001", "药品", "drugs"), ("140501001", "卫生材料", "consumables")]
INPATIENT = {"diagnoses": [("I21.900", "急性心肌梗死"), ("I10.x00", "高血压")],
             "procedures": [("36.06", "冠状动脉药物洗脱支架置入术")],
             "charges": [("110900001", "床位费", 5), ("330201001", "药物洗脱支架", 1), ("330100001", "经皮冠脉介入治疗费", 1),
                         ("250101001", "检验", 8), ("XY0100", "药品", 1), ("120400001", "护理及监护", 5)]}


def _people(hospital: str, region: str, rng: random.Random) -> list[Patient]:
    out = []
    for i in range(PER_HOSPITAL):
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 25_000))
        sex = rng.choice("MF")
        sequence = int(hospital[1:]) * 50 + i * 2 + (1 if sex == "M" else 0)
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        out.append(Patient(name, sex, birth, synthetic_resident_id(region, birth, sequence),
                           {hospital: f"POP-{hospital}-{i:02d}", "H001": f"POP-{hospital}-{i:02d}-Z"}))
    return out


def _visit_charges(rng: random.Random, scale: Decimal) -> list[tuple[str, str, int, str]]:
    base = {"treatment": 15, "laboratory": rng.randint(30, 90), "drugs": rng.randint(60, 220),
            "consumables": rng.randint(5, 40)}
    return [(code, text, 1, str((base[cat] * scale).quantize(CENT))) for code, text, cat in OUTPATIENT_CHARGES]


async def _send_all(messages: list[tuple[str, str]], parallel: int = 4) -> int:
    """Send over several MLLP connections; every message must be acknowledged AA."""
    gate = asyncio.Semaphore(parallel)

    async def one(text: str, what: str) -> None:
        async with gate:
            ack = await mllp_send(text.encode("utf-8"))
        if ack["code"] != "AA":
            raise DemoFailure(f"{what}: MSA {ack['code']} {ack['errors']}")

    await asyncio.gather(*(one(t, w) for t, w in messages))
    return len(messages)


async def run(http: httpx.AsyncClient, tokens: Tokens, sample: dict, report: Report) -> None:
    rng = random.Random(SEED)
    hospitals = {h["hospital_id"]: h for h in sample["hospitals"]}
    step(f"A seeded synthetic population (seed {SEED}): {PER_HOSPITAL} patients per hospital, outpatient visits "
         "last month and this month with their charges, over MLLP as each HIS would send them")
    admin = tokens.admin()
    maps = "kind,local_code,alliance_code,display\n" + "".join(
        f"charge,{code},{cat},{text}\n" for code, text, cat in OUTPATIENT_CHARGES) + "department,NK,DEP-IM,内科\n"
    for h in hospitals:
        await call(http, "POST", f"{REGISTRY}/v1/code-maps/{h}/import", content=maps.encode(),
                   headers=admin | {"Content-Type": "text/csv"})
    now = now_utc()
    this_month = now.astimezone(CHINA).replace(day=1, hour=9, minute=0, second=0, microsecond=0)
    last_month = (this_month - timedelta(days=1)).replace(day=3)
    this_day = min(now - timedelta(hours=1), this_month + timedelta(days=rng.randint(0, 2), hours=1))
    messages, people = [], {}
    for h, info in hospitals.items():
        people[h] = _people(h, info["region_code"][:6], rng)
        level = {"tertiary": Decimal("1.25"), "secondary": Decimal(1), "primary": Decimal("0.9")}[info["level"]]
        for i, p in enumerate(people[h]):
            before = _visit_charges(rng, level)
            after = [(c, t, q, str((Decimal(a) * GROWTH[h]).quantize(CENT))) for c, t, q, a in before]
            for tag, moment, charges in (("M1", last_month, before), ("M2", this_day, after)):
                messages.append((adt("A03", h, p, control=f"POP-{h}-{i:02d}-{tag}", visit=f"POP-{h}-{i:02d}-{tag}",
                                     patient_class="O", department="NK", admitted=moment - timedelta(minutes=30),
                                     discharged=moment, diagnoses=[("I10.x00", "高血压")], charges=charges),
                                 f"A03 {h} {i} {tag}"))
    sent = await _send_all(messages)
    say(f"{sent} ADT^A03 outpatient visits acknowledged (AA) across {len(hospitals)} hospitals; planted growth: "
        + ", ".join(f"{h} {round((g - 1) * 100):+d}%" for h, g in GROWTH.items()))

    step("More patients referred up from county hospitals: admitted, treated and discharged at the tertiary "
         "hospital, referrals completed — settlement follows by itself")
    receiver = "H001"
    h_receiver = tokens.hospital(receiver)
    completed = 0
    for origin in ("H002", "H003", "H004", "H005"):
        patient = people[origin][0]
        h_origin = tokens.hospital(origin)
        patient_id = await poll(f"{origin}'s patient in the master patient index",
                                lambda p=patient, o=origin, t=h_origin: _resolve(t, p, o))
        r = await call(http, "POST", f"{REFERRAL}/referrals", headers=h_origin, json={
            "patient_id": patient_id, "diagnosis_code": "I21.900", "severity": "severe"})
        if r.json().get("referral") is None:
            say(f"{origin}: not routed ({r.json()['routing'].get('reason_if_none')})")
            continue
        rid = r.json()["referral"]["referral_id"]
        for action, who in (("accept", h_receiver), ("transfer", h_origin), ("arrive", h_receiver)):
            await call(http, "POST", f"{REFERRAL}/referrals/{rid}/{action}", headers=who, json={})
        admitted = now_utc() - timedelta(hours=2)
        charges = [(c, t, q, f"{rng.randint(300, 4800) * q}.00") for c, t, q in INPATIENT["charges"]]
        stay = f"POP-{origin}-IP-{rid[-6:]}"
        await _send_all([(adt("A03", receiver, patient, control=stay, visit=stay, patient_class="I",
                              department="CARD", admitted=admitted, discharged=now_utc(),
                              diagnoses=INPATIENT["diagnoses"], procedures=INPATIENT["procedures"],
                              charges=charges), f"A03 inpatient {stay}")], parallel=1)
        await call(http, "POST", f"{REFERRAL}/referrals/{rid}/complete", headers=h_receiver, json={})
        completed += 1
        say(f"{origin} -> {receiver}: {rid} completed; inpatient stay {stay} "
            f"{yuan(sum(int(Decimal(a) * 100) for *_, a in charges))} yuan")
    report.add("Referrals", f"population: {completed} more referrals completed from county hospitals")
    report.add("Population", f"seed {SEED}: {sum(len(p) for p in people.values())} synthetic patients, {sent} "
                             "outpatient visits over MLLP, growth planted at H003 (+13%), H004 (+12%) and H005 (+9%)")

