"""Concurrent FHIR creates: the same person arriving at once is one patient; different people do not queue."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from data_exchange.bootstrap import SPEC
from data_exchange.fhir import systems

MRN = "https://alliance.example/fhir/sid/mrn/H002"
NATIONAL_ID = "urn:oid:2.16.156.10011.1.1"
NID = "330122196503121232"  # synthetic, checksum-valid
FHIR = "application/fhir+json"


def person(mrn: str, *, nid: str | None = None, family: str = "张", birth: str = "1965-03-12") -> dict:
    ids = [{"system": MRN, "value": mrn}] + ([{"system": NATIONAL_ID, "value": nid}] if nid else [])
    return {"resourceType": "Patient", "identifier": ids, "name": [{"family": family, "given": ["建国"]}],
            "gender": "male", "birthDate": birth}


def alliance_id(resource: dict) -> str:
    return next(i["value"] for i in resource["identifier"] if i["system"] == systems.ALLIANCE_PATIENT)


@pytest.fixture
async def dx(start_service, dev_keys):
    rt = await start_service(SPEC, mllp_port=0)
    admin = {"Authorization": f"Bearer {dev_keys.issue('admin', roles=['alliance_admin'])}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", headers=admin) as c:
        assert (await c.post("/v1/hospitals", json={"hospital_id": "H002", "name": "医院H002", "level": "secondary",
                                                    "region_code": "330122", "total_beds": 100})).status_code == 201
    token = dev_keys.issue("his-H002", hospital_id="H002", roles=["hospital"])
    rt.extras["client"] = lambda: httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{rt.http_port}/fhir",
        headers={"Authorization": f"Bearer {token}", "Content-Type": FHIR}, timeout=30)
    return rt


async def _rows(rt, sql: str) -> list:
    conn = await asyncpg.connect(rt.settings.database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


async def test_the_same_mrn_created_eight_times_at_once_is_one_patient_and_one_fhir_patient(dx):
    async with dx.extras["client"]() as c:
        answers = await asyncio.gather(*(c.post("/Patient", json=person("C-1")) for _ in range(8)))
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
    assert sorted(a.status_code for a in answers).count(201) == 1      # the others update the MRN's Patient
    assert len({a.json()["id"] for a in answers}) == 1
    assert len({alliance_id(a.json()) for a in answers}) == 1
    assert len(await _rows(dx, "SELECT 1 FROM patients")) == 1
    assert len(await _rows(dx, "SELECT 1 FROM fhir_resources WHERE resource_type = 'Patient'")) == 1
    linked = await _rows(dx, "SELECT 1 FROM outbox WHERE event_type LIKE '%PatientLinked'")
    assert len(linked) == 1


async def test_one_national_id_under_four_mrns_at_once_is_one_patient(dx):
    async with dx.extras["client"]() as c:
        answers = await asyncio.gather(*(c.post("/Patient", json=person(f"N-{n}", nid=NID)) for n in range(4)))
    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    assert len({alliance_id(a.json()) for a in answers}) == 1
    assert len(await _rows(dx, "SELECT 1 FROM patients")) == 1
    assert len(await _rows(dx, "SELECT 1 FROM patient_links")) == 4


async def test_different_people_created_at_once_are_different_patients(dx):
    families = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨"
    async with dx.extras["client"]() as c:
        answers = await asyncio.gather(*(c.post("/Patient", json=person(
            f"D-{n}", family=families[n], birth=f"{1940 + n}-0{1 + n % 9}-1{n % 10}")) for n in range(16)))
    assert [a.status_code for a in answers] == [201] * 16, [a.text for a in answers]
    assert len({alliance_id(a.json()) for a in answers}) == 16
    assert len(await _rows(dx, "SELECT 1 FROM patients")) == 16
    assert len(await _rows(dx, "SELECT 1 FROM outbox WHERE event_type LIKE '%PatientLinked'")) == 16
