"""Demo, procurement: unified codes, price transparency, a tiered group-purchasing round, a shared price rise,
an order and its traceable receipt — all through procurement's public HTTP API (:8083)."""

from __future__ import annotations

import csv
import io
import random
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import httpx
from demo_common import PROCUREMENT, Report, Tokens, call, now_utc, pct, say, step, yuan

P = PROCUREMENT


def _names(items: list[dict]) -> dict[str, str]:
    return {i.get("unified_code") or i["code"]: i["name"].split(" (")[0] for i in items}


async def run(http: httpx.AsyncClient, tokens: Tokens, sample: dict, run_tag: str, report: Report) -> None:
    data = sample["procurement"]
    admin = tokens.admin()
    names = _names(data["items"] + data["high_value_items"])
    hospitals = [h["hospital_id"] for h in sample["hospitals"]]

    # --- the catalog ---------------------------------------------------------------------------------
    step("Procurement: the administrator imports the unified catalog (CSV; 16-digit code = 6 category + "
         "6 feature + 4 enterprise)")
    missing = []
    for item in data["items"]:
        r = await call(http, "GET", f"{P}/items/{item['unified_code']}", headers=admin, ok=(200, 404))
        if r.status_code == 404:
            missing.append(item)
    if missing:
        columns = ["unified_code", "name", "specification", "manufacturer", "base_unit", "insurance_code", "udi_di"]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([i[c] for c in columns] for i in missing)
        r = await call(http, "POST", f"{P}/items/import", content=out.getvalue().encode(),
                       headers=admin | {"Content-Type": "text/csv"}, ok=(201, 409))
        body = r.json()
        imported = (f"{body['imported']} item(s) imported, job {body['job_id']}" if r.status_code == 201
                    else body.get("detail", ""))
        say(f"POST /v1/items/import -> {r.status_code}: {imported}")
    else:
        say(f"all {len(data['items'])} catalog items already registered (a re-run: nothing to import)")
    for item in data["high_value_items"]:
        r = await call(http, "POST", f"{P}/items", headers=admin, json=item, ok=(201, 409))
        say(f"POST /v1/items (high value, lot + UDI required on receipt) -> {r.status_code}"
            + (" registered" if r.status_code == 201 else " already registered (fine on a re-run)"))
    for row in (await call(http, "GET", f"{P}/items", headers=admin)).json():
        if row["code"] in names:
            c = row["code"]
            say(f"{c[:6]} {c[6:12]} {c[12:]}  {names[c]:10} {row['specification']:12} base unit "
                f"{row['base_unit']}{'  HIGH VALUE, UDI-DI ' + row['udi_di'] if row['high_value'] else ''}")

    # --- price transparency --------------------------------------------------------------------------
    step("Every hospital reports what it paid (its own packaging: carton of 100, box of 10, 盒 of 10 片, box of 5); "
         "procurement normalises to the base unit")
    today = now_utc().date()
    period = today.strftime("%Y-%m")
    rng = random.Random(2026)
    reports = data["price_reports"]
    planted = reports["planted"]
    plan: list[tuple[str, str, dict]] = [(h, planted["item_code"], planted["reports"][h]) for h in hospitals]
    for spec in reports["jittered"]:
        for h, packs in zip(hospitals, spec["quantity_packs"], strict=True):
            price = (Decimal(spec["pack_price"]) * Decimal(str(1 + rng.uniform(-0.03, 0.03)))
                     ).quantize(Decimal("0.01"), ROUND_HALF_UP)
            plan.append((h, spec["item_code"], {k: spec[k] for k in ("pack_unit", "units_per_pack",
                                                                    "pack_content_unit")}
                         | {"pack_price": str(price), "quantity_packs": packs}))
    flagged: list[str] = []
    for h, code, rep in plan:
        r = await call(http, "POST", f"{P}/price-reports", headers=tokens.hospital(h), json=rep | {
            "item_code": code, "supplier_id": reports["supplier_id"], "purchased_on": today.isoformat(),
            "invoice_ref": f"INV-{h}-{code[-4:]}-{run_tag}"}, ok=(201, 409))
        body = r.json()
        if r.status_code == 409:   # the same invoice reported twice (only if a run tag repeats)
            say(f"{h}: invoice INV-{h}-{code[-4:]}-{run_tag} already reported (409 duplicate-report)")
            continue
        announced = body["outliers_detected"]
        flagged += announced
        if code == planted["item_code"]:
            say(f"{h}: {rep['quantity_packs']} × {rep['pack_unit']} of {rep['units_per_pack']} "
                f"{rep['pack_content_unit']} at {rep['pack_price']} -> {body['base_unit_price']} "
                f"yuan/{body['base_unit']}" + (f"  (outlier announced: {', '.join(announced)})" if announced else ""))
    say(f"{len(plan)} reports in all ({len(plan) - len(hospitals)} for syringes, masks and gloves, prices jittered "
        f"with random.Random(2026)); invoice refs end in -{run_tag}; outliers announced as events on this "
        f"run's reports: {', '.join(flagged) or 'none (each is announced once per item and month)'}")

    step(f"Price transparency for {period}: spreads, P10, peer outliers (modified z-score per level) and savings")
    spreads = (await call(http, "GET", f"{P}/prices", params={"period": period}, headers=admin)).json()
    for s in spreads:
        if s["item_code"] in names:
            say(f"{names[s['item_code']][:12]:12} {s['reports']:3} reports  min {s['min']:>9}  "
                f"median {s['median']:>9}  max {s['max']:>9}  spread {pct(s['spread'])}")
    outliers: list[dict] = []
    saving_p10 = 0
    for s in spreads:
        if s["item_code"] not in names:
            continue
        view = (await call(http, "GET", f"{P}/prices/{s['item_code']}", params={"period": period},
                           headers=admin)).json()
        outliers += [o | {"item_code": s["item_code"]} for o in view["outliers"]]
        saving_p10 += view.get("saving_at_p10_fen") or 0
        if s["item_code"] == planted["item_code"]:
            st = view["stats"]
            say(f"{names[s['item_code']]}: n={st['n']} min {st['min']} P10 {st['p10']} median {st['median']} "
                f"max {st['max']} -> spread {pct(st['spread'])}")
            for o in view["outliers"]:
                say(f"  OUTLIER {o['hospital_id']} ({o['level']}): {o['base_unit_price']} vs peer median "
                    f"{o['peer_median']}, modified z {o['score']} ({o['direction']})")
            for hv in view["hospitals"]:
                if hv["saving_at_p10_fen"]:
                    say(f"  {hv['hospital_id']} would have saved {yuan(hv['saving_at_p10_fen'])} yuan buying at P10")
    say(f"all items: {len(outliers)} outlier(s); {yuan(saving_p10)} yuan would have been saved at P10 this month")

    # --- the round -----------------------------------------------------------------------------------
    rnd = data["round"]
    contracts_now = {c["item_code"] for c in (await call(http, "GET", f"{P}/contracts", headers=admin)).json()}
    items = list(rnd["items"])
    for once in rnd["once_items"]:
        if once["item_code"] in contracts_now:
            say(f"{names[once['item_code']]}: a contract is already in force (tendered once a year) — "
                "not re-tendered")
        else:
            items.append({k: v for k, v in once.items() if not k.startswith("_")})
    in_round = {i["item_code"] for i in items}
    step(f"The administrator opens a group-purchasing round for {len(items)} item(s); deadline in "
         f"{rnd['deadline_minutes']} minutes, at most {rnd['max_suppliers']} suppliers per item")
    deadline = now_utc() + timedelta(minutes=rnd["deadline_minutes"])
    opened = (await call(http, "POST", f"{P}/rounds", headers=admin, json={
        "title": f"{rnd['title']} {run_tag}", "deadline": deadline.isoformat(), "items": items,
        "max_suppliers": rnd["max_suppliers"], "supplier_share": rnd["supplier_share"]})).json()
    round_id = opened["round_id"]
    say(f"round {round_id} open until {opened['deadline']}; baselines: " + ", ".join(
        f"{names[i['item_code']]} {i['baseline_unit_price'] or 'median reported price'}" for i in opened["items"]))
    for h, volumes in rnd["commitments"].items():
        chosen = [{"item_code": c, "quantity": q} for c, q in volumes.items() if c in in_round]
        r = await call(http, "PUT", f"{P}/rounds/{round_id}/commitments", headers=tokens.hospital(h),
                       json={"items": chosen})
        say(f"{h} commits " + ", ".join(f"{q:,} {names[c]}" for c, q in r.json()["committed"].items()))
    for b in rnd["bids"]:
        if b["item_code"] not in in_round:
            continue
        body = {"item_code": b["item_code"], "semantics": b["semantics"],
                "tiers": [{"min_volume": v, "unit_price": p} for v, p in b["tiers"]]}
        if b.get("capacity"):
            body["capacity"] = b["capacity"]
        r = await call(http, "PUT", f"{P}/rounds/{round_id}/bids", headers=tokens.supplier(b["supplier"]), json=body)
        tiers = "; ".join(f"from {v:,}: {p}" for v, p in b["tiers"])
        say(f"{b['supplier']} bids {names[b['item_code']]} {b['semantics']} ({tiers})"
            + (f", capacity {b['capacity']:,}" if b.get("capacity") else "") + f" -> {r.json()['bid_id']}")

    step("The administrator closes the round early and awards it: the exact cheapest split of the committed volume")
    award = (await call(http, "POST", f"{P}/rounds/{round_id}/award", headers=admin, json={"close_now": True})).json()
    for it in award["items"]:
        lines = ", ".join(f"{ln['supplier_id']} {ln['quantity']:,} @ {ln['unit_price']}" for ln in it["lines"])
        say(f"{names[it['item_code']]}: {it['volume']:,} units {it['status']}: {lines}; {yuan(it['total_fen'])} "
            f"yuan vs baseline {yuan(it['baseline_total_fen'] or 0)} -> saving {yuan(it['saving_fen'] or 0)} yuan")
        for why in it["explanation"][:2]:
            say(f"    {why[:150]}")
    say(f"round total {yuan(award['total_fen'])} yuan vs baseline {yuan(award['baseline_total_fen'])} yuan: "
        f"saving {yuan(award['saving_fen'])} yuan ({pct(Decimal(award['saving_fen']) / award['baseline_total_fen'])})")

    # --- shared price rise ---------------------------------------------------------------------------
    adj = data["adjustment"]
    step("A supplier asks for a market-driven rise (citing a price index, effective tomorrow); the administrator "
         "approves it and the rise is shared by the round's ratio")
    contracts = (await call(http, "GET", f"{P}/contracts", params={"item_code": adj["item_code"]},
                            headers=admin)).json()
    mine = [c for c in contracts if c["round_id"] == round_id]
    target = min(mine, key=lambda c: Decimal(c["unit_price"]))
    supplier = target["supplier_id"]
    tomorrow = (now_utc() + timedelta(days=1)).date()
    asked = (await call(http, "POST", f"{P}/contracts/{target['contract_id']}/adjustments",
                        headers=tokens.supplier(supplier), json={
                            "requested_unit_price": adj["requested_unit_price"],
                            "index_reference": adj["index_reference"], "reason": adj["reason"],
                            "effective_from": tomorrow.isoformat()})).json()
    say(f"{supplier} on {target['contract_id']}: {asked['current_unit_price']} -> asks {asked['requested_unit_price']} "
        f"from {asked['effective_from']} ({adj['index_reference'][:60]}...)")
    decided = (await call(http, "POST", f"{P}/adjustments/{asked['adjustment_id']}/approve", headers=admin)).json()
    say(f"approved {decided['adjustment_id']}: new price {decided['new_unit_price']} from {decided['effective_from']}; "
        f"supplier bears {decided['supplier_bears']}, hospitals bear {decided['hospitals_bear']} per unit "
        f"(supplier share {decided['supplier_share']})")

    # --- order and receipt ---------------------------------------------------------------------------
    order_spec = data["order"]
    h = order_spec["hospital_id"]
    step(f"{h} orders {names[order_spec['item_code']]} at the agreed price (never a price of its own) and records "
         "the receipt with lot and UDI")
    in_force = (await call(http, "GET", f"{P}/contracts", params={"item_code": order_spec["item_code"]},
                           headers=tokens.hospital(h))).json()
    contract = next((c for c in in_force if c["round_id"] == round_id), in_force[0])   # this round's, else the one
    placed = await call(http, "POST", f"{P}/orders", headers=tokens.hospital(h) | {"Idempotency-Key": f"PO-{run_tag}"},
                        json={"lines": [{"item_code": order_spec["item_code"], "quantity": order_spec["quantity"],
                                         "supplier_id": contract["supplier_id"]}]})
    order = placed.json()
    ln = order["lines"][0]
    say(f"POST /v1/orders -> {placed.status_code} {order['order_id']} to {order['supplier_id']}: {ln['quantity']} × "
        f"{ln['unit_price']} = {yuan(order['total_fen'])} yuan (contract {ln['contract_id']})")
    item = next(i for i in data["high_value_items"] if i["code"] == order_spec["item_code"])
    udi = f"(01){item['udi_di']}(17){order_spec['expiry']}(10){order_spec['lot']}"
    received = (await call(http, "POST", f"{P}/orders/{order['order_id']}/receipts", headers=tokens.hospital(h),
                           json={"lines": [{"line_no": 1, "quantity": ln["quantity"], "lot": order_spec["lot"],
                                            "udi": udi}]})).json()
    say(f"receipt: {received['lines'][0]['received']} of {received['lines'][0]['quantity']} received, lot "
        f"{order_spec['lot']}, UDI {udi}")

    report.add("Procurement", f"round {round_id} ({len(award['items'])} items): {yuan(award['total_fen'])} yuan "
                              f"vs baseline {yuan(award['baseline_total_fen'])} -> saving "
                              f"{yuan(award['saving_fen'])} yuan")
    report.add("Procurement", f"{len(spreads)} items priced in {period}, {len(outliers)} outlier(s): " + ", ".join(
        f"{o['hospital_id']} {names.get(o['item_code'], o['item_code'])} {o['base_unit_price']} vs peer median "
        f"{o['peer_median']} (z {o['score']})" for o in outliers))
    report.add("Procurement", f"price rise {decided['previous_unit_price']} -> {decided['new_unit_price']} "
                              f"(supplier share {decided['supplier_share']}); order {order['order_id']} "
                              f"{yuan(order['total_fen'])} yuan, {received['lines'][0]['received']} received "
                              "with lot + UDI")
