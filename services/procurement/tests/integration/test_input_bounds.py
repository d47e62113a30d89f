"""Issue 12, findings 4 and 5 in procurement: calendar-end and future dates, duplicate keys, gRPC Timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from alliance.procurement.v1 import procurement_pb2 as pb
from alliance.procurement.v1 import procurement_pb2_grpc as pb_grpc
from alliance_auth.grpc import bearer_metadata
from procurement.bootstrap import SPEC

GAUZE = "140202000003" + "0002"


@pytest.fixture
async def procurement(start_service):
    return await start_service(SPEC)


def _client(rt, dev_keys, sub: str, roles: list[str], hospital_id: str | None = None) -> httpx.AsyncClient:
    token = dev_keys.issue(sub, hospital_id=hospital_id, roles=roles)
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}/v1", timeout=30,
                             headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("day", ["9999-12-31", (datetime.now(UTC).date() + timedelta(days=3)).isoformat(),
                                 "0001-01-01", "1899-12-31"])
async def test_a_price_report_dated_in_the_future_or_outside_the_calendar_range_is_422(procurement, dev_keys, day):
    async with _client(procurement, dev_keys, "his", ["hospital"], "H001") as c:
        r = await c.post("/price-reports", json={
            "item_code": GAUZE, "pack_unit": "box", "units_per_pack": 10, "pack_content_unit": "each",
            "quantity_packs": 1, "pack_price": "35.00", "supplier_id": "SUP-X", "purchased_on": day})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["location"][-1] == "purchased_on"


async def test_periods_and_days_outside_1900_to_2199_are_422(procurement, dev_keys):
    async with _client(procurement, dev_keys, "admin-1", ["alliance_admin"]) as c:
        codes = [(await c.get("/prices", params={"period": p})).status_code for p in ("0000-01", "9999-12")]
        codes += [(await c.get(f"/prices/{GAUZE}", params={"period": "9999-12"})).status_code]
        codes += [(await c.get("/contracts", params={"on": d})).status_code for d in ("9999-12-31", "0001-01-01")]
        codes += [(await c.post("/rounds", json={"title": "t", "deadline": "9999-12-31T23:59:59-14:00",
                                                 "items": [{"item_code": GAUZE}]})).status_code]
    assert codes == [422] * 6


async def test_two_commitments_for_one_item_in_one_batch_are_422_naming_the_item(procurement, dev_keys):
    async with _client(procurement, dev_keys, "his", ["hospital"], "H001") as c:
        r = await c.put("/rounds/R-1/commitments", json={"items": [{"item_code": GAUZE, "quantity": 1},
                                                                   {"item_code": GAUZE, "quantity": 2}]})
    assert r.status_code == 422 and GAUZE in r.text, r.text


@pytest.mark.parametrize("seconds", [253402300800, -62135596801, -(2 ** 62), 7258118400])
async def test_agreed_prices_at_a_timestamp_outside_the_range_is_invalid_argument(procurement, dev_keys, seconds):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{procurement.grpc_port}") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await pb_grpc.AgreedPricesStub(channel).GetAgreedPrices(
                pb.GetAgreedPricesRequest(item_codes=[GAUZE], at=Timestamp(seconds=seconds)),
                metadata=bearer_metadata(dev_keys.issue("cost-sharing", roles=["alliance_admin"])))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.details().startswith("at: ") and "Error" not in e.value.details()
