"""Hostile HTTP input against every procurement and cost-sharing endpoint: a typed 4xx, never a 500.

Each route comes from the service's own OpenAPI document; path parameters, query strings and JSON bodies
are filled with seeded junk and sent with tokens of every role. Bounded and deterministic.
"""

from __future__ import annotations

import json
import random
from urllib.parse import quote

import httpx
import pytest

from cost_sharing.bootstrap import SPEC as COST_SHARING
from procurement.bootstrap import SPEC as PROCUREMENT

JUNK = ["", "%", "..", "'; DROP TABLE ledger_entries;--", "2026-13", "9999-99", "张三", "🙂" * 40, "9" * 400,
        "-1", "0", "1e999", "NaN", "true", "null", "1401010000010001", "H001", "R-1/../../x"]
VALUES = [None, True, -1, 0, 1.5, 10 ** 30, "", "x" * 3000, "NaN", "-0.00001", "1e999", "2026-13-45", [], {}, [{}],
          {"a": None}, ["H001"], "1401010000010001", {"min_volume": -5, "unit_price": "0"}]


def _body(rng: random.Random, schema_fields: list[str]) -> bytes:
    choice = rng.random()
    if choice < 0.15:
        return rng.choice([b"", b"null", b"[]", b"{", b"\xff\xfe", b"{" * 3000, b'"x"', b"1e999999"])
    fields = schema_fields + ["extra", "unit_price"]
    doc = {rng.choice(fields): rng.choice(VALUES) for _ in range(rng.randint(0, 6))}
    if schema_fields and rng.random() < 0.5:       # mostly-valid shapes reach the domain, not just validation
        doc.update({f: rng.choice(VALUES) for f in schema_fields})
    return json.dumps(doc, ensure_ascii=False).encode()


def _fields(spec: dict, operation: dict) -> list[str]:
    ref = (operation.get("requestBody", {}).get("content", {}).get("application/json", {})
           .get("schema", {}).get("$ref", ""))
    schema = spec.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1], {})
    return list(schema.get("properties", {}))


async def _hammer(rt, dev_keys, seed: int, rounds: int) -> int:
    spec = rt.app.openapi()
    tokens = [dev_keys.issue("admin-1", roles=["alliance_admin"]), dev_keys.issue("nhc", roles=["regulator"]),
              dev_keys.issue("his", hospital_id="H001", roles=["hospital"]), dev_keys.issue("SUP-A", roles=["supplier"])]
    rng = random.Random(seed)
    routes = [(path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items()
              if not path.startswith(("/healthz", "/readyz"))]
    sent = 0
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", timeout=30) as c:
        for _ in range(rounds):
            path, method, op = rng.choice(routes)
            url = path
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    url = url.replace("{" + param["name"] + "}", quote(rng.choice(JUNK) or "x", safe=""))
            url = url.replace("{contract_id}", "x")
            query = {p["name"]: rng.choice(JUNK) for p in op.get("parameters", [])
                     if p["in"] == "query" and rng.random() < 0.7}
            headers = {"Authorization": f"Bearer {rng.choice(tokens)}", "Content-Type": "application/json"}
            content = _body(rng, _fields(spec, op)) if method in ("post", "put") else None
            if "text/csv" in json.dumps(op.get("requestBody", {})):
                headers["Content-Type"] = "text/csv"
                content = rng.choice([b"", b"\xff", b"a,b\n1,2\n", b"unified_code\n" + b"9" * 5000,
                                      b"local_code,unified_code,local_name,udi_di\n,,,\n"])
            r = await c.request(method.upper(), url, params=query, content=content, headers=headers)
            sent += 1
            assert r.status_code < 500, (method, url, query, content and content[:120], r.text[:300])
            if r.status_code >= 400:
                assert r.headers["content-type"].startswith("application/problem+json"), (method, url, r.text[:200])
    return sent


@pytest.mark.parametrize("spec", [PROCUREMENT, COST_SHARING], ids=["procurement", "cost-sharing"])
async def test_every_endpoint_answers_hostile_input_with_a_typed_error_never_a_500(start_service, dev_keys, spec):
    rt = await start_service(spec)
    assert await _hammer(rt, dev_keys, seed=20261123, rounds=800) == 800


async def test_out_of_range_numbers_are_422_not_database_errors(start_service, dev_keys):
    """The 500s the hostile input found: a negative LIMIT, a sequence or an amount beyond BIGINT."""
    admin = {"Authorization": f"Bearer {dev_keys.issue('admin-1', roles=['alliance_admin'])}"}
    procurement, cost_sharing = await start_service(PROCUREMENT), await start_service(COST_SHARING)
    async with httpx.AsyncClient(headers=admin, timeout=30) as c:
        p, s = f"http://127.0.0.1:{procurement.http_port}/v1", f"http://127.0.0.1:{cost_sharing.http_port}/v1"
        answers = [await c.get(f"{p}/items", params={"limit": -1}),
                   await c.get(f"{s}/ledger/entries", params={"after_seq": "9" * 70}),
                   await c.get(f"{s}/drg/cases", params={"limit": -5}),
                   await c.post(f"{s}/pools", json={"pool_id": "p", "name": "x", "period": "2026-11",
                                                    "amount_fen": 10**30}),
                   await c.post(f"{p}/contracts/x/overruns", json={"hospital_id": "H001", "cause": "market",
                                                                   "overrun_fen": 10**30})]
    assert [a.status_code for a in answers] == [422] * 5
