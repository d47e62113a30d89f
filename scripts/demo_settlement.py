"""Demo, settlement: what cost-sharing (:8084) did by itself with the referral, then common costs, joint revenue,
netting, the tamper-evident ledger, cost indicators with a warning answered and closed, and the scorecard."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
from demo_common import (
    CHINA,
    COST_SHARING,
    RECOGNITION,
    REFERRAL,
    Report,
    Tokens,
    call,
    now_utc,
    poll,
    say,
    step,
    yuan,
)

C = COST_SHARING
ROOT = Path(__file__).resolve().parent.parent


async def _run(*argv: str, env: dict | None = None) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                env={**os.environ, **(env or {})})
    out, err = await proc.communicate()
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{argv[1] if len(argv) > 1 else argv[0]} failed: {err.decode()[-1500:]}")
    return proc.returncode, out.decode()


async def verify_feed_as_regulator() -> dict:
    """A read-only Kafka user for the regulator; the regulator's own verifier rebuilds the chain from the feed."""
    _, out = await _run(sys.executable, str(ROOT / "infra/local/localinfra.py"), "kafka-user", "regulator-nhc",
                        "--read", "alliance.cost_sharing.v1")
    creds = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    say(f"Kafka user {creds['KAFKA_USERNAME']} on {creds['KAFKA_BOOTSTRAP']} ({creds['KAFKA_SECURITY_PROTOCOL']}, "
        f"{creds['KAFKA_SASL_MECHANISM']}): may read alliance.cost_sharing.v1 and nothing else, write nothing")
    verifier = Path(sys.executable).with_name("alliance-ledger-verify")
    _, out = await _run(str(verifier), "--kafka", creds["KAFKA_BOOTSTRAP"], "--idle-seconds", "2",
                        env={k: v for k, v in creds.items() if k != "KAFKA_BOOTSTRAP"})
    result = json.loads(out)
    say(f"alliance-ledger-verify --kafka (the regulator's tool, no database access): ok={result['ok']}, "
        f"{result['entries_checked']} entries, {result['checkpoints_checked']} checkpoints, "
        f"faults {result['checkpoint_faults'] or 'none'}")
    return result


async def publish_drg_table(http: httpx.AsyncClient, tokens: Tokens) -> None:
    """The SAMPLE DRG table, exactly as cost-sharing ships it (409 on a re-run: versions are immutable)."""
    admin = tokens.admin()
    table = (await call(http, "GET", f"{C}/drg/tables/sample", headers=admin)).json()
    r = await call(http, "POST", f"{C}/drg/tables", headers=admin, json={"table": table}, ok=(201, 409))
    say(f"DRG table version {table['version']} ({table['label']}), effective {table['effective_from']}: "
        + ("published" if r.status_code == 201 else "already published (409 version-exists: immutable, fine)"))


async def ledger_after(http: httpx.AsyncClient, headers: dict, after_seq: int = 0) -> list[dict]:
    """Every ledger entry after a sequence number, a page at a time."""
    out: list[dict] = []
    while True:
        page = (await call(http, "GET", f"{C}/ledger/entries", headers=headers,
                           params={"after_seq": after_seq, "limit": 1000})).json()
        out += page
        if len(page) < 1000:
            return out
        after_seq = page[-1]["seq"]


async def send_history(http: httpx.AsyncClient, tokens: Tokens, sample: dict) -> tuple[str, int]:
    """A county hospital's outpatient discharges of last month and this month (fixed visits, fixed MSH-10s, so
    a re-run gets the first ACKs back and changes nothing)."""
    from demo_episode import adt, cost_fen, send_hl7

    hist = sample["episode"]["history"]
    h = hist["hospital_id"]
    now = now_utc().astimezone(CHINA)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    prev_start = (month_start - timedelta(days=1)).replace(day=1)
    sent = 0
    for role, start, charges in (("previous", prev_start, hist["previous"]), ("current", month_start, hist["current"])):
        for k, patient in enumerate(hist["patients"]):
            if role == "previous":
                admitted, length = start + timedelta(days=9 + k, hours=9), timedelta(minutes=40)
            else:   # spread over the month so far, each visit over before now even early on the 1st
                slot = (now - start) / (len(hist["patients"]) + 1)
                admitted, length = start + slot * k + slot / 4, min(slot / 2, timedelta(minutes=40))
            visit = f"MZ{start:%Y%m}{k + 1:02d}"
            await send_hl7(adt("A03", h, tuple(patient), control=f"DEMO-{h}-{visit}", visit=visit, patient_class="O",
                               department=hist["department"], admitted=admitted, discharged=admitted + length,
                               diagnoses=[hist["diagnosis"]], charges=charges),
                           f"{h} ADT^A03 {visit} ({start:%Y-%m}, {yuan(cost_fen(charges))} yuan)")
            sent += 1
    return h, sent


async def run(http: httpx.AsyncClient, tokens: Tokens, sample: dict, run_tag: str, episode: dict,
              report: Report) -> None:
    admin, regulator = tokens.admin(), tokens.regulator()
    spec = sample["settlement"]
    referral_id, period = episode["referral_id"], episode["period"]

    # --- automatic referral settlement ---------------------------------------------------------------
    step("Cost-sharing settled the completed referral by itself (ReferralCompleted + EncounterDischarged events): "
         "the ledger shows it")
    prefix = f"referral:{referral_id}:"

    async def settled():
        found = [e for e in await ledger_after(http, admin, episode["ledger_seq"]) if e["reference"].startswith(prefix)]
        return found if len(found) >= len(episode["encounters"]) else None
    entries = await poll(f"the referral_settlement entries of {referral_id}", settled, timeout=45)
    for e in entries:
        credit = next(leg for leg in e["legs"] if leg["credit_fen"])
        debits = ", ".join(f"{leg['account']} {yuan(leg['debit_fen'])}" for leg in e["legs"] if leg["debit_fen"])
        say(f"#{e['seq']} {e['kind']} {e['reference']}: Cr {credit['account']} {yuan(credit['credit_fen'])} "
            f"= Dr {debits}")
        say(f"     {e['memo']}")
    settled_fen = sum(leg["credit_fen"] for e in entries for leg in e["legs"])
    insurer_fen = sum(leg["debit_fen"] for e in entries for leg in e["legs"] if leg["account"].startswith("insurer:"))

    step("The DRG grouper's case for the inpatient stay, with its reasoning path")
    case_id = episode["encounters"][-1]

    async def grouped():
        cases = (await call(http, "GET", f"{C}/drg/cases", headers=admin, params={"period": period})).json()
        return next((c for c in cases if c["case_id"] == case_id), None)
    case = await poll(f"DRG case {case_id}", grouped, timeout=30)
    g = case["grouping"]
    say(f"{case_id}: DRG {case['drg']} (RW {g.get('relative_weight')}), payment {yuan(case['payment_fen'])} yuan, "
        f"cost {yuan(case['total_cost_fen'])} yuan, ratio {g.get('cost_ratio')}, outlier {case['outlier'] or 'none'}"
        + (", needs two approvals" if case["needs_two_approvals"] else ""))
    for node in g.get("path") or []:
        say(f"  [{node['layer']:9}] {node['rule']:13} {node['decision'][:118]}")

    step("Statements are issued by the settlement clock (every few seconds, no human step)")

    async def statements():
        rows = (await call(http, "GET", f"{C}/statements", headers=admin, params={"period": period})).json()
        last = max(e["seq"] for e in entries)
        ours = {s["hospital_id"]: s for s in rows if s["hospital_id"] in (episode["origin"], episode["receiver"])}
        return rows if len(ours) == 2 and all(s["through_seq"] >= last for s in ours.values()) else None
    stmts = await poll("statements covering the settlement", statements, timeout=30)
    for s in stmts:
        if s["hospital_id"] in (episode["origin"], episode["receiver"]):
            say(f"{s['statement_id']}: opening {yuan(s['opening_fen'])}, debits {yuan(s['debits_fen'])}, credits "
                f"{yuan(s['credits_fen'])}, closing {yuan(s['closing_fen'])} ({len(s['lines'])} lines, through "
                f"#{s['through_seq']}, head {s['head_hash'][:12]}…)")
    own = (await call(http, "GET", f"{C}/statements", headers=tokens.hospital(episode["origin"]),
                      params={"period": period})).json()
    say(f"{episode['origin']} itself sees {len(own)} statement(s): only its own account")

    # --- common costs and joint services -------------------------------------------------------------
    step("A common cost is shared by contribution coefficient (largest remainder: the shares sum to the fen)")
    await call(http, "PUT", f"{C}/coefficients/resources/{period}", headers=admin,
               json={"hospitals": spec["resources"]})
    pool_id = f"POOL-PLATFORM-{period}"
    pool = spec["pool"]
    r = await call(http, "POST", f"{C}/pools", headers=admin, ok=(201, 409), json={
        "pool_id": pool_id, "name": pool["name"], "period": period, "amount_fen": pool["amount_fen"]})
    if r.status_code == 201:
        shares, pool_fen = r.json()["shares"], r.json()["amount_fen"]
        coefficients = {c["hospital_id"]: c["share"] for c in r.json()["coefficients"]}
        say(f"pool {pool_id} '{pool['name']}' {yuan(pool_fen)} yuan allocated now (entry {r.json()['entry_id']})")
    else:   # allocated by an earlier run this month: read its ledger entry
        entry = next(e for e in await ledger_after(http, admin) if e["reference"] == f"pool:{pool_id}")
        shares = {leg["account"].removeprefix("hospital:"): leg["debit_fen"]
                  for leg in entry["legs"] if leg["debit_fen"]}
        pool_fen = sum(leg["credit_fen"] for leg in entry["legs"])
        coefficients = {}
        say(f"pool {pool_id} was allocated earlier this month (409 pool-exists); its ledger entry #{entry['seq']}:")
    for h, fen in sorted(shares.items()):
        say(f"{h}: {yuan(fen)} yuan" + (f" (coefficient share {coefficients[h]})" if h in coefficients else ""))
    pool_sum = sum(shares.values())
    say(f"sum of shares {yuan(pool_sum)} yuan vs pool {yuan(pool_fen)} yuan: "
        f"{'exact to the fen' if pool_sum == pool_fen else 'MISMATCH'}")

    joint = spec["joint_service"]
    service_id = f"RC-{run_tag}"
    r = await call(http, "POST", f"{C}/joint-services", headers=admin, json={
        "service_id": service_id, "kind": joint["kind"], "amount_fen": joint["amount_fen"],
        "collected_by": joint["collected_by"], "occurred_at": now_utc().isoformat(), "parties": joint["parties"]})
    split = r.json()
    say(f"remote consultation {service_id}: {yuan(joint['amount_fen'])} yuan collected by {joint['collected_by']} -> "
        + ", ".join(f"{h} {yuan(f)}" for h, f in sorted(split["shares"].items())) + f" (entry {split['entry_id']})")
    for why in split["breakdown"][:3]:
        say(f"  · {str(why)[:150]}")

    # --- netting and the ledger ----------------------------------------------------------------------
    step(f"Multilateral netting for {period}: the fewest transfers that settle every balance")
    net = (await call(http, "GET", f"{C}/netting/{period}", headers=regulator)).json()
    say(f"gross obligations {yuan(net['gross_fen'])} yuan -> net {yuan(net['net_fen'])} yuan in "
        f"{len(net['transfers'])} transfer(s); settles every balance: {net['settles_every_balance']}")
    for t in net["transfers"][:12]:
        say(f"  {t['payer']:22} -> {t['payee']:26} {yuan(t['amount_fen']):>14} yuan")
    if len(net["transfers"]) > 12:
        say(f"  … and {len(net['transfers']) - 12} more")

    step("The ledger is hash-chained and the settlement clock signs checkpoints: verify it end to end")
    head = (await ledger_after(http, admin, 0))[-1]["seq"]

    async def signed():
        cps = (await call(http, "GET", f"{C}/ledger/checkpoints", headers=regulator)).json()
        return cps if cps and cps[0]["seq"] >= head else None
    cps = await poll("a checkpoint over the chain head", signed, timeout=30)
    say(f"latest checkpoint: seq {cps[0]['seq']}, head {cps[0]['head_hash'][:16]}…, key {cps[0]['key_id']}, "
        f"signed {cps[0]['signed_at']}")
    verified = (await call(http, "GET", f"{C}/ledger/verify", headers=regulator)).json()
    say(f"GET /v1/ledger/verify (as the regulator): ok={verified['ok']}, {verified['entries_checked']} entries, "
        f"{verified['checkpoints_checked']} checkpoints, faults {verified['checkpoint_faults'] or 'none'}")
    step("The regulator verifies again from the settlement feed alone, over an authenticated, read-only Kafka login")
    from_feed = await verify_feed_as_regulator()

    # --- indicators and warnings ---------------------------------------------------------------------
    step("Cost indicators: a county hospital's outpatient discharges of last month and this month arrive over MLLP")
    hospital, sent = await send_history(http, tokens, sample)

    async def indicators():
        rows = (await call(http, "GET", f"{C}/indicators", headers=admin, params={"period": period})).json()
        mine = next((i for i in rows if i["hospital_id"] == hospital), None)
        return rows if mine and mine["previous_cost_per_visit_fen"] and mine["visits"] >= 3 else None
    rows = await poll(f"{hospital}'s visits in cost-sharing", indicators, timeout=30)
    for i in rows:
        say(f"{i['hospital_id']}: {i['visits']} visit(s), cost per visit {yuan(i['cost_per_visit_fen'])} "
            f"(previous {yuan(i['previous_cost_per_visit_fen']) if i['previous_cost_per_visit_fen'] else '-'}), "
            f"growth {i['growth_level'] or '-'}"
            + (f" {Decimal(i['growth']) * 100:.1f}%" if i["growth"] else "")
            + f", drugs {Decimal(i['drug_share']) * 100:.1f}%, cost index {i['cost_index']}")

    step("The administrator evaluates the period; the warned hospital answers with cause and remedy; "
         "the administrator closes the warning")
    raised = (await call(http, "POST", f"{C}/indicators/{period}/evaluate", headers=admin)).json()["raised"]
    say(f"POST /v1/indicators/{period}/evaluate -> {len(raised)} new warning(s)"
        + ("" if raised else " (each warning is raised once per hospital, period and indicator)"))
    board = [w for w in (await call(http, "GET", f"{C}/warnings", headers=admin)).json() if w["period"] == period]
    for w in board:
        say(f"{w['warning_id']} {w['hospital_id']} {w['level']} {w['indicator']}: {w['message']} [{w['state']}]")
    answered = 0
    open_ones = [w for w in board if w["state"] in ("raised", "answered")]
    target = next((w for w in open_ones if w["hospital_id"] == hospital), open_ones[0] if open_ones else None)
    for w in board:
        if target is None or w["warning_id"] != target["warning_id"]:   # the others stay on the board
            continue
        hospital_headers = tokens.hospital(w["hospital_id"])
        if w["state"] == "raised":
            a = (await call(http, "POST", f"{C}/warnings/{w['warning_id']}/answer", headers=hospital_headers,
                            json=spec["warning_answer"])).json()
            say(f"{w['hospital_id']} answers {w['warning_id']}: -> {a['state']}{' (late)' if a['late'] else ''}")
            answered += 1
            w["state"] = a["state"]
        if w["state"] == "answered":
            c = (await call(http, "POST", f"{C}/warnings/{w['warning_id']}/close", headers=admin,
                            json={"note": "cause and remedy accepted (demo)"})).json()
            say(f"administrator closes {w['warning_id']} -> {c['state']}")
    board = [w for w in (await call(http, "GET", f"{C}/warnings", headers=admin)).json() if w["period"] == period]

    step(f"The balanced scorecard for {period}")
    card = (await call(http, "GET", f"{C}/scorecard", headers=admin, params={"period": period})).json()
    for p in card["perspectives"]:
        measures = ", ".join(f"{m[1] if isinstance(m, list) else m['label']}" for m in p["measures"][:2])
        say(f"{p['perspective']:10} weight {p['weight']} score {p['score'] or '-'}  ({measures[:90]})")
    say(f"total {card['total'] or '-'}; missing: {', '.join(card['missing']) or 'none'}")

    # --- figures for the report ----------------------------------------------------------------------
    all_referrals = (await call(http, "GET", f"{REFERRAL}/referrals", headers=admin)).json()
    completed = sum(1 for x in all_referrals if x.get("status") == "completed")
    rmr = (await call(http, "GET", f"{RECOGNITION}/indicators", headers=admin)).json()
    month = [x for x in rmr if x["period"] == period]
    split_fen = sum(split["shares"].values())
    report.add("Referrals", f"alliance so far: {len(all_referrals)} routed, {completed} completed")
    report.add("Results reuse", f"{period} alliance-wide: {sum(x['reused'] for x in month)} reused, "
                                f"{yuan(sum(x['savings_fen'] for x in month))} yuan saved")
    report.add("Settlement", f"{len(entries)} referral_settlement entries posted by themselves: "
                             f"{yuan(settled_fen)} yuan ({yuan(insurer_fen)} insurer, "
                             f"{yuan(settled_fen - insurer_fen)} patients)")
    report.add("Settlement", f"DRG {case['drg']} pays {yuan(case['payment_fen'])} for a stay costing "
                             f"{yuan(case['total_cost_fen'])}; {len(stmts)} statements issued for {period}")
    parts = ", ".join(f"{h} {yuan(f)}" for h, f in sorted(split["shares"].items()))
    report.add("Settlement", f"pool {yuan(pool_fen)} -> {len(shares)} shares summing to {yuan(pool_sum)}; "
                             f"consultation {yuan(split_fen)} -> {parts}")
    report.add("Netting", f"{period}: gross {yuan(net['gross_fen'])} -> net {yuan(net['net_fen'])} yuan in "
                          f"{len(net['transfers'])} transfers")
    report.add("Ledger", f"verified ok={verified['ok']}: {verified['entries_checked']} entries, "
                         f"{verified['checkpoints_checked']} signed checkpoints")
    report.add("Ledger", f"re-verified by the regulator from the Kafka feed (SCRAM, read-only) ok={from_feed['ok']}: "
                         f"{from_feed['entries_checked']} entries, {from_feed['checkpoints_checked']} checkpoints")
    report.add("Warnings", f"{period}: {len(board)} on the board ({len(raised)} raised by this run's evaluation), "
                           f"{sum(1 for w in board if w.get('answered_at'))} answered by the hospital "
                           f"({answered} this run), {sum(1 for w in board if w['state'] == 'closed')} closed")
    report.add("Scorecard", f"{period}: total {card['total'] or '-'}"
                            + "".join(f", {p['perspective']} {p['score'] or '-'}" for p in card["perspectives"]))
