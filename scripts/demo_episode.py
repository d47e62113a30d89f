"""Demo, one referral from end to end: the county outpatient visit (ADT^A03 over MLLP), the lab result, routing,
acceptance, handoff, transfer, admission, reuse of the county's results, the discharge (ADT^A03 with DG1, PR1 and
FT1 charge lines) and completion — the event cost-sharing settles by itself.

Each run has its own synthetic patient (a resident ID with a valid check character, derived from the run's
clock), so that a re-run starts a fresh episode instead of piling new encounters on an earlier patient's."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import httpx
from demo_common import (
    CHINA,
    RECOGNITION,
    REFERRAL,
    REGISTRY,
    DemoFailure,
    Report,
    Tokens,
    call,
    hl7_time,
    now_utc,
    poll,
    say,
    segment,
    step,
    synthetic_resident_id,
    yuan,
)


async def mllp_send(message: bytes) -> dict:
    """One message over MLLP (127.0.0.1:2575); the parsed ACK."""
    from data_exchange.entrypoints.mllp import send
    from data_exchange.hl7 import ack_fields

    return ack_fields(await send("127.0.0.1", 2575, message))


async def send_hl7(text: str, what: str, charset: str = "utf-8") -> dict:
    """Send and insist on MSA AA; warnings (ERR severity W) are shown, anything else stops the demo."""
    ack = await mllp_send(text.encode(charset))
    if ack["code"] != "AA":
        raise DemoFailure(f"{what}: MSA {ack['code']} {ack['errors']}\n  message: {text!r}")
    warnings = [f"{e['segment']}-{e['field']} {e['text']}" for e in ack["errors"] if e["severity"] == "W"]
    say(f"{what} -> MSA AA for {ack['acknowledged_control_id']}" + (f" (warnings: {'; '.join(warnings)})"
                                                                     if warnings else ""))
    return ack


@dataclass(frozen=True)
class Patient:
    name: str
    sex: str
    birth: date
    national_id: str
    mrns: dict[str, str]


def run_patient(spec: dict, run_tag: str, hospitals: list[str]) -> Patient:
    """This run's synthetic patient: birth date and sequence number derived from the clock (odd: male)."""
    n = int(time.time())
    birth = date(1950, 1, 1) + timedelta(days=(n // 500) % 7300)
    sequence = (n % 500) * 2 + (1 if spec["sex"] == "M" else 0)
    prefixes = {hospitals[0]: "ZY", hospitals[1]: "MZ"}
    return Patient(spec["name"], spec["sex"], birth, synthetic_resident_id(spec["region"], birth, sequence),
                   {h: f"{prefixes[h]}-{run_tag}" for h in hospitals})


def msh(facility: str, kind: str, control: str, at: datetime, charset: str = "UNICODE UTF-8") -> str:
    structure = {"A01": "ADT^A01^ADT_A01", "A03": "ADT^A03^ADT_A03", "R01": "ORU^R01^ORU_R01"}[kind]
    app = "LIS" if kind == "R01" else "HIS"
    return (f"MSH|^~\\&|{app}|{facility}|ALLIANCE|ALLIANCE|{hl7_time(at)}||{structure}|{control}|P|2.5.1"
            f"|||AL|NE||{charset}")


def pid(patient: Patient | tuple, hospital: str) -> str:
    if isinstance(patient, Patient):
        ids = f"{patient.mrns[hospital]}^^^{hospital}^MR~{patient.national_id}^^^CHN^NNCHN"
        return segment("PID", {1: "1", 3: ids, 5: patient.name, 7: f"{patient.birth:%Y%m%d}", 8: patient.sex})
    mrn, name, birth, sex = patient
    return segment("PID", {1: "1", 3: f"{mrn}^^^{hospital}^MR", 5: name, 7: birth, 8: sex})


def adt(kind: str, hospital: str, patient: Patient | tuple, *, control: str, visit: str, patient_class: str,
        department: str, admitted: datetime, discharged: datetime | None = None, diagnoses=(), procedures=(),
        charges=(), charset: str = "UNICODE UTF-8") -> str:
    """An ADT^A01 / ADT^A03; FT1 lines are [local code, name, quantity, amount in yuan]."""
    at = discharged or admitted
    pv1 = {1: "1", 2: patient_class, 3: f"{department}^^^{hospital}", 19: visit, 44: hl7_time(admitted)}
    if discharged:
        pv1[45] = hl7_time(discharged)
    lines = [msh(hospital, kind, control, at, charset), f"EVN|{kind}|{hl7_time(at)}", pid(patient, hospital),
             segment("PV1", pv1)]
    for i, (code, text) in enumerate(diagnoses, 1):
        lines.append(segment("DG1", {1: str(i), 3: f"{code}^{text}^ICD-10", 6: "F", 15: str(i)}))
    for i, (code, text) in enumerate(procedures, 1):
        lines.append(segment("PR1", {1: str(i), 3: f"{code}^{text}^ICD-9-CM-3", 5: hl7_time(admitted)}))
    for i, (code, text, quantity, amount) in enumerate(charges, 1):
        lines.append(segment("FT1", {1: str(i), 4: f"{at.astimezone(CHINA):%Y%m%d}", 6: "CG", 7: f"{code}^{text}^LOCAL",
                                     10: str(quantity), 11: amount}))
    return "\r".join(lines) + "\r"


def oru(hospital: str, patient: Patient, control: str, taken: datetime) -> str:
    t = hl7_time(taken)
    return "\r".join([
        msh(hospital, "R01", control, taken, "GB 18030-2000"), pid(patient, hospital),
        f"OBR|1|PL-{control}|RPT-{control}|CBC^血常规^L|||{t}||||||||||||||||LAB|F",
        f"OBX|1|NM|WBC^白细胞计数^L||11.8|10*9/L|3.5-9.5|H|||F|||{t}",
        f"OBX|2|NM|HGB^血红蛋白^L||142|g/L|130-175|N|||F|||{t}"]) + "\r"


def cost_fen(charges) -> int:
    return sum(int(amount.replace(".", "")) for *_, amount in charges)


async def referral_episode(http: httpx.AsyncClient, tokens: Tokens, sample: dict, run_tag: str,
                           report: Report) -> dict:
    from referral.adapters.store import rule_to_json
    from referral.domain.rules import sample_rules

    ep = sample["episode"]
    out_spec, in_spec = ep["outpatient"], ep["inpatient"]
    origin, receiver = out_spec["hospital_id"], in_spec["hospital_id"]
    admin, h_origin, h_receiver = tokens.admin(), tokens.hospital(origin), tokens.hospital(receiver)
    patient = run_patient(ep["patient"], run_tag, [receiver, origin])
    now = now_utc()
    start = now + timedelta(seconds=1)

    step("Administrators publish referral rules (SAMPLE, not clinical guidance), the recognition catalog and the "
         "SAMPLE DRG table; the QC centre records external quality assessment; the tertiary hospital publishes beds")
    r = await call(http, "POST", f"{REFERRAL}/rules/versions", headers=admin, json={
        "effective_from": start.isoformat(), "rules": [rule_to_json(x) for x in sample_rules().rules]})
    say(f"referral rules version {r.json()['version']}")
    r = await call(http, "POST", f"{RECOGNITION}/catalog/versions", headers=admin, json={
        "effective_from": start.isoformat(), "items": [
            {"item_code": "LAB-WBC", "name": "白细胞计数", "category": "laboratory", "validity_days": 7},
            {"item_code": "LAB-HGB", "name": "血红蛋白", "category": "laboratory", "validity_days": 7}]})
    say(f"recognition catalog version {r.json()['version']}")
    from demo_settlement import publish_drg_table
    await publish_drg_table(http, tokens)
    for item in ("LAB-WBC", "LAB-HGB"):
        await call(http, "POST", f"{RECOGNITION}/qc/eligibility", headers=tokens.qc(), json={
            "lab_id": origin, "item_code": item, "status": "passed", "reference": "EQA-2026-Q4",
            "effective_from": (now - timedelta(days=1)).isoformat()})
    await call(http, "PUT", f"{RECOGNITION}/prices/{receiver}", headers=admin, json={
        "effective_from": (now - timedelta(days=1)).isoformat(),
        "items": [{"item_code": "LAB-WBC", "price_fen": 2500}, {"item_code": "LAB-HGB", "price_fen": 1500}]})
    await call(http, "PUT", f"{REFERRAL}/beds/{receiver}/cardiology", headers=h_receiver,
               json={"available": 14, "total": 60})
    say(f"QC passed for {origin}'s lab; {receiver} prices and cardiology beds (14 free of 60) published")

    step("Administrators map the hospitals' charge items to cost categories and departments (CSV, data-exchange)")
    for hospital, rows in ep["charge_maps"].items():
        csv = "kind,local_code,alliance_code,display\n" + "".join(f"charge,{c},{cat},{d}\n" for c, cat, d in rows)
        csv += "".join(f"department,{c},{a},{d}\n" for c, a, d in ep["department_maps"].get(hospital, []))
        r = await call(http, "POST", f"{REGISTRY}/v1/code-maps/{hospital}/import", content=csv.encode(),
                       headers=admin | {"Content-Type": "text/csv"})
        body = r.json()
        say(f"{hospital}: {body['imported']} rows imported, errors: {body['errors'] or 'none'}")
    await asyncio.sleep(max(0.0, (start - now_utc()).total_seconds()) + 1.1)   # rules and catalog in force

    step(f"This run's synthetic patient is seen in {origin}'s outpatient clinic: the LIS sends a blood count "
         "(ORU^R01, GB18030), the HIS closes the visit with its charges (ADT^A03 with FT1 lines)")
    say(f"{patient.name}, {patient.sex}, born {patient.birth}, resident ID {patient.national_id[:6]}********"
        f"{patient.national_id[-4:]} (valid check character, invented), MRNs " + ", ".join(
            f"{h}/{m}" for h, m in patient.mrns.items()))
    taken = now_utc()   # after the catalog version took effect: a result counts only if its item was listed then
    visit_out = f"OP-{run_tag}"
    await send_hl7(oru(origin, patient, f"DEMO-ORU-{run_tag}", taken), f"ORU^R01 from {origin}", "gb18030")
    await send_hl7(adt("A03", origin, patient, control=f"DEMO-OP-{run_tag}", visit=visit_out, patient_class="O",
                       department=out_spec["department"], admitted=taken - timedelta(minutes=40),
                       discharged=now_utc(), diagnoses=out_spec["diagnoses"],
                       charges=out_spec["charges"], charset="GB 18030-2000"),
                   f"ADT^A03 outpatient visit {visit_out} ({yuan(cost_fen(out_spec['charges']))} yuan in "
                   f"{len(out_spec['charges'])} FT1 lines)", "gb18030")
    patient_id = await poll("the patient in the master patient index", lambda: _resolve(h_origin, patient, origin))
    say(f"master patient index (gRPC ResolvePatient): {origin}/{patient.mrns[origin]} is alliance patient {patient_id}")

    step(f"{origin} refers the patient up with an acute myocardial infarction; routing explains its choice")
    r = await call(http, "POST", f"{REFERRAL}/referrals", headers=h_origin, json={
        "patient_id": patient_id, "diagnosis_code": in_spec["diagnoses"][0][0], "severity": "severe"})
    body = r.json()
    routing = body["routing"]
    say(f"rule {routing.get('rule_id')} (version {routing.get('rule_version')}): {routing.get('rule')}")
    for c in routing["ranked"]:
        say(f"-> {c['hospital_id']} score {c['score']}: {'; '.join(c['reasons'])}")
    reasons: dict[str, list[str]] = {}
    for x in routing.get("excluded", []):
        reasons.setdefault(x["reason"], []).append(x["hospital_id"])
    for reason, ids in reasons.items():
        say(f"   excluded {', '.join(ids)}: {reason}")
    if body.get("referral") is None:
        raise DemoFailure(f"not routed: {routing.get('reason_if_none')}")
    referral_id = body["referral"]["referral_id"]
    r = await call(http, "POST", f"{REFERRAL}/referrals/{referral_id}/accept", headers=h_receiver)
    say(f"{receiver} accepts {referral_id} -> {r.json()['status']}")

    async def handoff():
        p = await call(http, "GET", f"{REFERRAL}/referrals/{referral_id}/handoff", headers=h_receiver, ok=(200, 503))
        return p.json() if p.status_code == 200 else None
    packet = await poll("the handoff packet", handoff)
    p = packet["patient"]
    say(f"handoff packet: {p['name']} ({p['sex']}, {p['birth_date']}, ID {p['national_id_masked']}), "
        f"{len(packet['recognisable_results'])} reusable result(s)")

    step(f"{origin} sends the patient; {receiver}'s HIS admits (ADT^A01) and the patient arrives")
    r = await call(http, "POST", f"{REFERRAL}/referrals/{referral_id}/transfer", headers=h_origin)
    say(f"{origin}: transfer -> {r.json()['status']}")
    admitted = now_utc()
    visit_in = f"V-{run_tag}"
    await send_hl7(adt("A01", receiver, patient, control=f"DEMO-ADM-{run_tag}", visit=visit_in, patient_class="I",
                       department=in_spec["department"], admitted=admitted), f"ADT^A01 admission {visit_in}")
    r = await call(http, "POST", f"{REFERRAL}/referrals/{referral_id}/arrive", headers=h_receiver)
    say(f"{receiver}: arrive -> {r.json()['status']}")

    step(f"At admission {receiver} asks which tests it need not repeat, and reuses them")

    async def check():
        c = await call(http, "POST", f"{RECOGNITION}/recognition/checks", headers=h_receiver, ok=(200, 201, 404),
                       json={"mrn": patient.mrns[receiver], "item_codes": ["LAB-WBC", "LAB-HGB", "IMG-CT-CHEST"]})
        if c.status_code == 404:
            return None
        body = c.json()
        return body if sum(1 for i in body["items"] if i["recognised"]) >= 2 else None
    checked = await poll("the county results at results-mutual-recognition", check)
    saved, reused = 0, 0
    for item in checked["items"]:
        if item["recognised"]:
            result = item["recognised"][0]
            choice = (await call(http, "POST", f"{RECOGNITION}/recognition/checks/{checked['check_id']}/choices",
                                 headers=h_receiver, json={"item_code": item["item_code"], "kind": "reuse",
                                                           "result_id": result["result_id"]})).json()
            saved += choice.get("saving_fen", 0)
            reused += 1
            say(f"{item['item_code']}: reuse {result['result_id']} ({result['value']} {result['unit']}), "
                f"saving {yuan(choice.get('saving_fen', 0))} yuan")
        else:
            say(f"{item['item_code']}: {item['reason']} — {item['explanation']}")
    say(f"saved {yuan(saved)} yuan for the patient (RecognitionDecided events carry the figure to cost-sharing)")

    step(f"{receiver} treats (PCI with a drug-eluting stent), discharges the patient (ADT^A03: DG1, PR1, FT1) "
         "and completes the referral")
    discharged = now_utc()
    await send_hl7(adt("A03", receiver, patient, control=f"DEMO-DIS-{run_tag}", visit=visit_in, patient_class="I",
                       department=in_spec["department"], admitted=admitted, discharged=discharged,
                       diagnoses=in_spec["diagnoses"], procedures=in_spec["procedures"],
                       charges=in_spec["charges"]),
                   f"ADT^A03 discharge {visit_in}: principal {in_spec['diagnoses'][0][0]}, procedure "
                   f"{in_spec['procedures'][0][0]}, {yuan(cost_fen(in_spec['charges']))} yuan in "
                   f"{len(in_spec['charges'])} FT1 lines (the demo compresses the stay into seconds)")
    from demo_settlement import ledger_after
    before = await ledger_after(http, admin)
    await asyncio.sleep(1.0)   # the completion is dated after the discharge, which is second-precise in HL7
    r = await call(http, "POST", f"{REFERRAL}/referrals/{referral_id}/complete", headers=h_receiver)
    completed = r.json()
    say(f"{receiver}: complete -> {completed['status']}; cost-sharing settles on ReferralCompleted, nobody "
        "presses a button")

    report.add("Referrals", f"this run: {referral_id} {origin} -> {receiver} routed (score "
                            f"{routing['ranked'][0]['score']}, {len(routing['ranked'])} ranked), {completed['status']}")
    report.add("Results reuse", f"this run: {reused} result(s) reused at admission, {yuan(saved)} yuan saved")
    return {"referral_id": referral_id, "origin": origin, "receiver": receiver, "patient_id": patient_id,
            "encounters": [f"{origin}/{visit_out}", f"{receiver}/{visit_in}"],
            "ledger_seq": before[-1]["seq"] if before else 0, "period": discharged.astimezone(
                CHINA).strftime("%Y-%m"), "reused": reused, "saved_fen": saved}


async def _resolve(headers: dict, patient: Patient, hospital: str) -> str | None:
    """The alliance id of the patient from the master patient index (gRPC PatientIndex/ResolvePatient, audited)."""
    import grpc

    from alliance.data_exchange.v1 import clinical_pb2, clinical_pb2_grpc
    from alliance_auth.grpc import bearer_metadata

    async with grpc.aio.insecure_channel("127.0.0.1:9081") as channel:
        try:
            found = await clinical_pb2_grpc.PatientIndexStub(channel).ResolvePatient(
                clinical_pb2.ResolvePatientRequest(mrn=clinical_pb2.HospitalMrn(
                    hospital_id=hospital, mrn=patient.mrns[hospital])),
                metadata=bearer_metadata(headers["Authorization"][7:]))
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
    return found.patient_id or None

