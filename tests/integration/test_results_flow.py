"""Across services: an ORU^R01 sent to data-exchange over MLLP lands in results-mutual-recognition's result index."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import select

from alliance_testing.helpers import eventually
from data_exchange.bootstrap import SPEC as DATA_EXCHANGE
from data_exchange.hl7 import MllpDecoder, ack_fields, frame
from results_mutual_recognition.adapters.orm import patient_relations, result_index
from results_mutual_recognition.bootstrap import SPEC as RMR

ORU = ("MSH|^~\\&|LIS|H002|ALLIANCE|ALLIANCE|20261120083000+0800||ORU^R01^ORU_R01|FLOW-1|P|2.5.1|||AL|NE||UNICODE UTF-8\r"
       "PID|1||MRN-9^^^H002^MR||测试患者乙||19800101|F\r"
       "OBR|1|PL-9|RPT-77|CT001^胸部CT^L|||20261120080000+0800||||||||||||||||CT|F\r"
       "OBX|1|TX|CT001^胸部CT^L||双肺未见明显异常||||||F|||20261120080000+0800\r")


async def _send(port: int, message: str) -> dict:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(frame(message.encode()))
    await writer.drain()
    decoder, acks = MllpDecoder(), []
    while not acks:
        acks = [x for x in decoder.feed(await reader.read(65536)) if isinstance(x, bytes)]
    writer.close()
    return ack_fields(acks[0])


async def test_a_result_sent_to_data_exchange_is_indexed_for_recognition(start_service, dev_keys):
    dx = await start_service(DATA_EXCHANGE)
    rmr = await start_service(RMR)
    admin = {"Authorization": f"Bearer {dev_keys.issue('admin', roles=['alliance_admin'])}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dx.http_port}", headers=admin) as c:
        assert (await c.post("/v1/hospitals", json={"hospital_id": "H002", "name": "桐庐县人民医院", "level": "secondary",
                                                    "region_code": "330122", "total_beds": 380})).status_code == 201
        assert (await c.put("/v1/code-maps/H002/item/CT001", json={"alliance_code": "IMG-CT-CHEST"})).status_code == 200
    assert (await _send(dx.extras["mllp"].port, ORU))["code"] == "AA"

    async def indexed():
        async with rmr.engine.connect() as conn:
            return (await conn.execute(select(result_index))).all()

    [row] = await eventually(indexed)
    assert (row.item_code, row.hospital_id, row.result_id, row.report_ref) == (
        "IMG-CT-CHEST", "H002", "H002/RPT-77/1", "H002/RPT-77")
    async with rmr.engine.connect() as conn:
        relations = (await conn.execute(select(patient_relations))).all()
    assert [(r.hospital_id, r.patient_id) for r in relations] == [("H002", row.patient_id)]
