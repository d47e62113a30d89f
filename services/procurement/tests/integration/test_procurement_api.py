"""Procurement on a real database and broker: codes, price spreads, a full round, shared rises, orders."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest
from sqlalchemy import insert

from alliance.procurement.v1 import procurement_pb2 as pb
from alliance.procurement.v1 import procurement_pb2_grpc as pb_grpc
from alliance_auth.grpc import bearer_metadata
from alliance_testing.helpers import read_all
from procurement.adapters.orm import member_hospitals
from procurement.bootstrap import SPEC

STENT = "140101000001" + "0001"
GAUZE = "140202000003" + "0002"
SUTURE = "140303000005" + "0003"
HOSPITALS = [("H001", "tertiary"), ("H002", "secondary"), ("H003", "secondary"), ("H004", "secondary"),
             ("H005", "secondary"), ("H006", "secondary")]


async def _members(rt) -> None:
    async with rt.engine.begin() as conn:   # as the facility-registry consumer would have written them
        await conn.execute(insert(member_hospitals), [
            {"hospital_id": h, "name": f"医院{h}", "level": lvl, "region_code": "330100", "active": True, "version": 1}
            for h, lvl in HOSPITALS])


def _auth(dev_keys, sub: str, roles: list[str], hospital_id: str | None = None) -> dict:
    return {"Authorization": f"Bearer {dev_keys.issue(sub, hospital_id=hospital_id, roles=roles)}"}


async def test_an_administrator_runs_a_full_round_and_members_see_spreads_agreed_prices_and_savings(
        start_service, dev_keys, kafka_bootstrap):
    rt = await start_service(SPEC)
    await _members(rt)
    admin = _auth(dev_keys, "admin-1", ["alliance_admin"])
    hosp = {h: _auth(dev_keys, f"his-{h}", ["hospital"], h) for h, _ in HOSPITALS}
    sup_a, sup_b = _auth(dev_keys, "SUP-A", ["supplier"]), _auth(dev_keys, "SUP-B", ["supplier"])
    base = f"http://127.0.0.1:{rt.http_port}/v1"
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        csv = ("unified_code,name,specification,manufacturer,base_unit,insurance_code,udi_di\n"
               f"{STENT},冠脉支架,3.0x18mm,示例医疗,each,,\n"
               f"{GAUZE},止血纱布,5x5cm,示例卫材,each,,\n")
        assert (await c.post("/items/import", content=csv.encode(), headers=admin | {"content-type": "text/csv"})
                ).status_code == 201
        # a box of 10 at 35.00 is 3.50 each; H006 pays 35% more (the planted spread)
        for h, price in [("H002", "35.00"), ("H003", "35.50"), ("H004", "34.80"), ("H005", "35.20"),
                         ("H006", "47.25"), ("H001", "36.00")]:
            got = await c.post("/price-reports", headers=hosp[h], json={
                "item_code": GAUZE, "pack_unit": "box", "units_per_pack": 10, "pack_content_unit": "each",
                "quantity_packs": 100, "pack_price": price, "supplier_id": "SUP-X", "purchased_on": "2026-10-15",
                "invoice_ref": f"INV-{h}"})
            assert got.status_code == 201, got.text
        assert got.json()["base_unit_price"] == "3.6000"
        refused = await c.post("/price-reports", headers=hosp["H002"], json={
            "item_code": GAUZE, "pack_unit": "box", "units_per_pack": 10, "pack_content_unit": "ml",
            "quantity_packs": 1, "pack_price": "35", "supplier_id": "SUP-X", "purchased_on": "2026-10-15"})
        assert refused.status_code == 422 and refused.json()["field"] == "pack_content_unit"
        assert refused.json()["type"].endswith("/cannot-normalise")
        prices = (await c.get(f"/prices/{GAUZE}", params={"period": "2026-10"}, headers=admin)).json()
        assert prices["stats"]["min"] == "3.4800" and prices["stats"]["max"] == "4.7250"
        assert [o["hospital_id"] for o in prices["outliers"]] == ["H006"]
        own = (await c.get(f"/prices/{GAUZE}", params={"period": "2026-10"}, headers=hosp["H003"])).json()
        assert [h["hospital_id"] for h in own["hospitals"]] == ["H003"] and own["outliers"] == []

        deadline = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
        rnd = (await c.post("/rounds", headers=admin, json={
            "title": "2026 Q4 stents", "deadline": deadline, "max_suppliers": 2,
            "items": [{"item_code": STENT, "baseline_unit_price": "12000"}]})).json()
        rid = rnd["round_id"]
        for h, qty in [("H001", 300), ("H002", 50), ("H003", 50), ("H004", 40), ("H005", 30), ("H006", 30)]:
            assert (await c.put(f"/rounds/{rid}/commitments", headers=hosp[h],
                                json={"items": [{"item_code": STENT, "quantity": qty}]})).status_code == 200
        # A: all-units, cheaper at 400+, but can deliver only 300; B: incremental, no cap
        assert (await c.put(f"/rounds/{rid}/bids", headers=sup_a, json={
            "item_code": STENT, "semantics": "all_units", "capacity": 300,
            "tiers": [{"min_volume": 0, "unit_price": "9000"}, {"min_volume": 200, "unit_price": "7000"}]})
                ).status_code == 200
        assert (await c.put(f"/rounds/{rid}/bids", headers=sup_b, json={
            "item_code": STENT, "semantics": "incremental",
            "tiers": [{"min_volume": 0, "unit_price": "9500"}, {"min_volume": 100, "unit_price": "8000"}]})
                ).status_code == 200
        rising = await c.put(f"/rounds/{rid}/bids", headers=sup_b, json={
            "item_code": STENT, "semantics": "incremental",
            "tiers": [{"min_volume": 0, "unit_price": "8000"}, {"min_volume": 100, "unit_price": "9000"}]})
        assert rising.status_code == 422 and rising.json()["type"].endswith("/invalid-bid")  # prices must not rise
        assert (await c.post(f"/rounds/{rid}/award", headers=admin, json={})).status_code == 409  # still open
        awarded = (await c.post(f"/rounds/{rid}/award", headers=admin, json={"close_now": True})).json()
        [item] = awarded["items"]
        assert item["status"] == "awarded" and sum(ln["quantity"] for ln in item["lines"]) == 500
        assert {ln["supplier_id"] for ln in item["lines"]} == {"SUP-A", "SUP-B"}     # A's cap forces a split
        assert awarded["saving_fen"] == awarded["baseline_total_fen"] - awarded["total_fen"] > 0
        late = await c.put(f"/rounds/{rid}/commitments", headers=hosp["H002"],
                           json={"items": [{"item_code": STENT, "quantity": 1}]})
        assert late.status_code == 409

        contracts = (await c.get("/contracts", params={"item_code": STENT}, headers=hosp["H002"])).json()
        a = next(x for x in contracts if x["supplier_id"] == "SUP-A")
        assert a["unit_price"] == "7000.0000"
        today = datetime.now(UTC).date()
        retro = (await c.post(f"/contracts/{a['contract_id']}/adjustments", headers=sup_a, json={
            "requested_unit_price": "7400", "index_reference": "cobalt-chromium index 2026-11 +6%",
            "effective_from": (today - timedelta(days=1)).isoformat()})).json()
        refused = await c.post(f"/adjustments/{retro['adjustment_id']}/approve", headers=admin)
        assert refused.status_code == 422 and refused.json()["field"] == "effective_from"
        assert refused.json()["type"].endswith("/retroactive-adjustment")
        adj = (await c.post(f"/contracts/{a['contract_id']}/adjustments", headers=sup_a, json={
            "requested_unit_price": "7400", "index_reference": "cobalt-chromium index 2026-11 +6%",
            "effective_from": (today + timedelta(days=1)).isoformat()})).json()
        approved = (await c.post(f"/adjustments/{adj['adjustment_id']}/approve", headers=admin)).json()
        assert approved["new_unit_price"] == "7200.0000" and approved["supplier_bears"] == "200.0000"

        overrun = {"hospital_id": "H004", "cause": "hospital_management", "overrun_fen": 123_457,
                   "note": "stock written off after a cold-chain failure"}
        first = await c.post(f"/contracts/{a['contract_id']}/overruns", headers=admin | {"Idempotency-Key": "ov-1"},
                             json=overrun)
        retried = await c.post(f"/contracts/{a['contract_id']}/overruns",
                               headers=admin | {"Idempotency-Key": "ov-1"}, json=overrun)
        reused = await c.post(f"/contracts/{a['contract_id']}/overruns", headers=admin | {"Idempotency-Key": "ov-1"},
                              json=overrun | {"overrun_fen": 1})
        market = await c.post(f"/contracts/{a['contract_id']}/overruns", headers=admin,
                              json=overrun | {"cause": "market", "overrun_fen": 1_001})
        assert (first.status_code, retried.status_code, reused.status_code) == (201, 200, 422)
        assert reused.headers["content-type"].startswith("application/problem+json")
        assert reused.json()["type"].endswith("/idempotency-key-reuse")
        b = next(x for x in contracts if x["supplier_id"] != "SUP-A")       # the same key on another path
        elsewhere = await c.post(f"/contracts/{b['contract_id']}/overruns", headers=admin | {"Idempotency-Key": "ov-1"},
                                 json=overrun)
        assert elsewhere.status_code == 422 and elsewhere.json()["type"].endswith("/idempotency-key-reuse")
        assert retried.json() == first.json() and (first.json()["hospital_fen"], first.json()["supplier_fen"]) == (
            123_457, 0)
        assert (market.json()["hospital_fen"], market.json()["supplier_fen"]) == (501, 500)   # 50:50, sums exactly

        async with grpc.aio.insecure_channel(f"127.0.0.1:{rt.grpc_port}") as channel:
            stub = pb_grpc.AgreedPricesStub(channel)
            token = bearer_metadata(hosp["H002"]["Authorization"][7:])
            got = await stub.GetAgreedPrices(pb.GetAgreedPricesRequest(item_codes=[STENT]), metadata=token)
            with pytest.raises(grpc.aio.AioRpcError) as empty:
                await stub.GetAgreedPrices(pb.GetAgreedPricesRequest(), metadata=token)
            with pytest.raises(grpc.aio.AioRpcError) as anonymous:
                await stub.GetAgreedPrices(pb.GetAgreedPricesRequest(item_codes=[STENT]))
        assert {(p.supplier_id, p.unit_price) for p in got.prices} == {
            (x["supplier_id"], x["unit_price"]) for x in contracts}       # today's prices; the rise is tomorrow
        assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED

        priced = await c.post("/orders", headers=hosp["H002"], json={
            "lines": [{"item_code": STENT, "quantity": 2, "unit_price": "1"}]})
        assert priced.status_code == 422       # a price in the request is refused
        ambiguous = await c.post("/orders", headers=hosp["H001"], json={"lines": [{"item_code": STENT, "quantity": 2}]})
        order = await c.post("/orders", headers=hosp["H002"] | {"Idempotency-Key": "po-1"},
                             json={"lines": [{"item_code": STENT, "quantity": 2, "supplier_id": "SUP-A"}]})
        again = await c.post("/orders", headers=hosp["H002"] | {"Idempotency-Key": "po-1"},
                             json={"lines": [{"item_code": STENT, "quantity": 2, "supplier_id": "SUP-A"}]})
        assert order.status_code == 201 and again.status_code == 200
        racing = await asyncio.gather(*(c.post("/orders", headers=hosp["H003"] | {"Idempotency-Key": "po-race"},
                                               json={"lines": [{"item_code": STENT, "quantity": 1,
                                                                "supplier_id": "SUP-A"}]}) for _ in range(4)))
        assert sorted(x.status_code for x in racing) == [200, 200, 200, 201]
        assert len({x.json()["order_id"] for x in racing}) == 1
        assert again.json()["order_id"] == order.json()["order_id"]
        # the key is bound to the request: another body is refused, the same body in another spelling is not
        other = await c.post("/orders", headers=hosp["H002"] | {"Idempotency-Key": "po-1"},
                             json={"lines": [{"item_code": STENT, "quantity": 3, "supplier_id": "SUP-A"}]})
        assert other.status_code == 422 and other.json()["type"].endswith("/idempotency-key-reuse")
        assert other.headers["content-type"].startswith("application/problem+json")
        respelled = await c.post("/orders", headers=hosp["H002"] | {"Idempotency-Key": "po-1",
                                                                    "content-type": "application/json"},
                                 content=b'{ "lines" : [ {"supplier_id":"SUP-A", "quantity":2, "item_code":"'
                                 + STENT.encode() + b'"} ] }')
        assert respelled.status_code == 200 and respelled.json()["order_id"] == order.json()["order_id"]
        # racing requests with one key and two bodies: one order, its twins get it, the others are refused
        bodies = [{"lines": [{"item_code": STENT, "quantity": q, "supplier_id": "SUP-A"}]} for q in (1, 1, 5, 5, 1, 5)]
        mixed = await asyncio.gather(*(c.post("/orders", headers=hosp["H004"] | {"Idempotency-Key": "po-mixed"},
                                              json=body) for body in bodies))
        [winner] = [(r, body) for r, body in zip(mixed, bodies, strict=True) if r.status_code == 201]
        for r, body in zip(mixed, bodies, strict=True):
            if r is winner[0]:
                continue
            if body == winner[1]:
                assert r.status_code == 200 and r.json()["order_id"] == winner[0].json()["order_id"]
            else:
                assert r.status_code == 422 and r.json()["type"].endswith("/idempotency-key-reuse")
        assert order.json()["lines"][0]["unit_price"] == "7000.0000" and order.json()["total_fen"] == 1_400_000
        assert ambiguous.status_code == 422 and ambiguous.json()["type"].endswith("supplier-required")
        oid = order.json()["order_id"]
        assert (await c.post(f"/orders/{oid}/receipts", headers=hosp["H002"],
                             json={"lines": [{"line_no": 1, "quantity": 3}]})).status_code == 422
        assert (await c.post(f"/orders/{oid}/receipts", headers=hosp["H002"],
                             json={"lines": [{"line_no": 1, "quantity": 2, "lot": "L1", "udi": "(01)x"}]})
                ).status_code == 201
        assert (await c.get(f"/orders/{oid}", headers=hosp["H003"])).status_code == 404
        ful = (await c.get(f"/rounds/{rid}/fulfilment", headers=hosp["H002"])).json()
        assert ful == [{"hospital_id": "H002", "item_code": STENT, "committed": 50, "allocated": 50, "ordered": 2,
                        "received": 2}]

    events = await read_all(kafka_bootstrap, rt.topic("alliance.procurement.v1"), expected=8, timeout=30)
    types = [json.loads(e.value)["type"].rsplit(".", 1)[1] for e in events]
    assert types.count("PriceOutlierDetected") == 1 and types.count("RoundAwarded") == 1
    assert types.count("PriceAgreed") == 2 and types.count("PriceAdjusted") == 1
    assert "OrderPlaced" in types and "GoodsReceived" in types
    assert types.count("OverrunAttributed") == 2          # the retried request published nothing


async def test_csv_with_bad_rows_imports_nothing_and_names_every_row(start_service, dev_keys):
    rt = await start_service(SPEC)
    admin = _auth(dev_keys, "admin-1", ["alliance_admin"])
    hosp = _auth(dev_keys, "his", ["hospital"], "H002")
    csv = ("unified_code,name,specification,manufacturer,base_unit,insurance_code,udi_di\n"
           f"{STENT},支架,3.0x18mm,示例,each,,\n"
           "12345,短码,x,y,each,,\n"
           f"{GAUZE},纱布,5x5cm,示例,each,,0690000000000\n")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}/v1") as c:
        bad = await c.post("/items/import", content=csv.encode(), headers=admin | {"content-type": "text/csv"})
        assert bad.status_code == 422
        assert sorted({e["row"] for e in bad.json()["errors"]}) == [3, 4]
        assert (await c.get(f"/items/{STENT}", headers=admin)).status_code == 404       # nothing half-imported
        good = csv.splitlines()[0] + "\n" + csv.splitlines()[1] + "\n"
        assert (await c.post("/items/import", content=good.encode(),
                             headers=admin | {"content-type": "text/csv"})).status_code == 201
        both = good + f"{SUTURE},缝合线,3-0,示例,each,,\n"
        taken = await c.post("/items/import", content=both.encode(), headers=admin | {"content-type": "text/csv"})
        assert taken.status_code == 409 and taken.json()["codes"] == [STENT]
        assert (await c.get(f"/items/{SUTURE}", headers=admin)).status_code == 404      # rolled back with it
        suture = (csv.splitlines()[0] + "\n" + f"{SUTURE},缝合线,3-0,示例,each,,\n").encode()
        racing = await asyncio.gather(*(c.post("/items/import", content=suture,
                                               headers=admin | {"content-type": "text/csv"}) for _ in range(3)))
        assert sorted(r.status_code for r in racing) == [201, 409, 409]
        maps = ("local_code,unified_code,local_name,udi_di\n"
                f"L-1,{STENT},支架,\n"
                f"L-2,{GAUZE},未登记,\n"
                f"L-1,{STENT},重复,\n")
        bad_maps = await c.post("/mappings/import", content=maps.encode(), headers=hosp | {"content-type": "text/csv"})
        assert bad_maps.status_code == 422 and sorted({e["row"] for e in bad_maps.json()["errors"]}) == [3, 4]
        assert (await c.get("/mappings", headers=hosp)).json() == []
        rejected = (await c.get(f"/imports/{bad_maps.json()['job_id']}", headers=hosp)).json()
        assert (rejected["status"], rejected["rows_done"], len(rejected["errors"])) == ("rejected", 0, 2)
        good_maps = await c.post("/mappings/import", content=(maps.splitlines()[0] + "\n" + maps.splitlines()[1]
                                                              + "\n").encode(),
                                 headers=hosp | {"content-type": "text/csv"})
        assert good_maps.status_code == 201 and good_maps.json()["imported"] == 1
        progress = (await c.get(f"/imports/{good_maps.json()['job_id']}", headers=hosp)).json()
        assert (progress["status"], progress["rows_total"], progress["rows_done"]) == ("done", 1, 1)
        other = _auth(dev_keys, "his", ["hospital"], "H003")
        assert (await c.get(f"/imports/{good_maps.json()['job_id']}", headers=other)).status_code == 404
        job = bad_maps.json()
        assert job["status"] == 422


async def test_commitments_racing_the_award_either_land_in_it_or_are_refused(start_service, dev_keys):
    rt = await start_service(SPEC)
    await _members(rt)
    admin = _auth(dev_keys, "admin-1", ["alliance_admin"])
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}/v1", timeout=30) as c:
        await c.post("/items", headers=admin, json={"code": STENT, "name": "支架", "specification": "3.0x18mm",
                                                    "manufacturer": "示例", "base_unit": "each"})
        rid = (await c.post("/rounds", headers=admin, json={
            "title": "race", "deadline": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
            "items": [{"item_code": STENT, "baseline_unit_price": "100"}]})).json()["round_id"]
        await c.put(f"/rounds/{rid}/bids", headers=_auth(dev_keys, "SUP-A", ["supplier"]), json={
            "item_code": STENT, "semantics": "all_units", "tiers": [{"min_volume": 0, "unit_price": "90"}]})

        async def commit(h: str):
            return await c.put(f"/rounds/{rid}/commitments", headers=_auth(dev_keys, "his", ["hospital"], h),
                               json={"items": [{"item_code": STENT, "quantity": 10}]})

        results = await asyncio.gather(*(commit(h) for h, _ in HOSPITALS),
                                       c.post(f"/rounds/{rid}/award", headers=admin, json={"close_now": True}))
    *commits, award = results
    assert award.status_code == 200
    accepted = sum(1 for x in commits if x.status_code == 200)
    assert all(x.status_code in (200, 409) for x in commits)
    assert award.json()["items"][0]["volume"] == 10 * accepted


async def test_a_round_with_no_valid_bid_awards_nothing(start_service, dev_keys):
    rt = await start_service(SPEC)
    await _members(rt)
    admin = _auth(dev_keys, "admin-1", ["alliance_admin"])
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}/v1", timeout=30) as c:
        await c.post("/items", headers=admin, json={"code": STENT, "name": "支架", "specification": "3.0x18mm",
                                                    "manufacturer": "示例", "base_unit": "each"})
        rid = (await c.post("/rounds", headers=admin, json={
            "title": "empty", "deadline": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
            "items": [{"item_code": STENT}]})).json()["round_id"]
        await c.put(f"/rounds/{rid}/commitments", headers=_auth(dev_keys, "his", ["hospital"], "H002"),
                    json={"items": [{"item_code": STENT, "quantity": 10}]})
        awarded = (await c.post(f"/rounds/{rid}/award", headers=admin, json={"close_now": True})).json()
        assert awarded["items"][0]["status"] == "no_valid_bid" and awarded["items"][0]["lines"] == []
        assert (await c.get("/contracts", headers=admin)).json() == []
        assert (await c.post("/rounds", headers=_auth(dev_keys, "his", ["hospital"], "H002"), json={
            "title": "x", "deadline": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
            "items": [{"item_code": STENT}]})).status_code == 403


async def test_the_conflict_report_finds_one_item_under_two_codes_and_one_code_for_two_items(start_service, dev_keys):
    rt = await start_service(SPEC)
    admin = _auth(dev_keys, "admin-1", ["alliance_admin"])
    udi_a, udi_b = "06901234567892", "06901234567908"
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}/v1", timeout=30) as c:
        for code, udi in ((STENT, udi_a), (SUTURE, udi_a), (GAUZE, None)):   # the same device under two codes
            assert (await c.post("/items", headers=admin, json={
                "code": code, "name": f"器械{code[-4:]}", "specification": "x", "manufacturer": "示例",
                "base_unit": "each", "udi_di": udi})).status_code == 201
        for hospital, udi in (("H002", udi_b), ("H003", "06901234567915")):   # two devices under GAUZE
            r = await c.put("/mappings/LOCAL-9", headers=_auth(dev_keys, "his", ["hospital"], hospital),
                            json={"unified_code": GAUZE, "udi_di": udi})
            assert r.status_code == 200, r.text
        report = (await c.get("/conflicts", headers=admin)).json()
        assert (await c.get("/conflicts", headers=_auth(dev_keys, "his", ["hospital"], "H002"))).status_code == 403
    kinds = {(x["kind"], tuple(sorted(x["unified_codes"]))) for x in report}
    assert ("same_item_different_codes", tuple(sorted((STENT, SUTURE)))) in kinds
    assert ("same_code_different_items", (GAUZE,)) in kinds
    assert all(x["evidence"] for x in report)
