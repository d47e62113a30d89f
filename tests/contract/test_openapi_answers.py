"""What the services answer is what their OpenAPI documents say.

Each service runs in-process on its own migrated database (peers unreachable). For every operation of its document:
no token (401), a role outside the declaration (403), made-up path ids (404 or whatever the document admits),
a body that matches nothing (422), a body above the limit (413) and a NUL in the query (400). Each answer's status
must be documented for the operation, its media type must be the documented one, its body must validate against the
documented schema, and a problem's type must be one docs/problems.md lists.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from alliance_auth.roles import ROLE_ORDER
from cost_sharing.bootstrap import SPEC as COST_SHARING
from data_exchange.bootstrap import SPEC as DATA_EXCHANGE
from procurement.bootstrap import SPEC as PROCUREMENT
from referral.bootstrap import SPEC as REFERRAL
from results_mutual_recognition.bootstrap import SPEC as RMR

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
PROBLEM_TYPES = set(re.findall(r"^\| `([a-z0-9-]+)` \|", (ROOT / "docs" / "problems.md").read_text(), re.MULTILINE))
PEERS = {"referral": {"data_exchange_grpc": "127.0.0.1:1", "recognition_grpc": "127.0.0.1:1"},
         "results-mutual-recognition": {"data_exchange_grpc": "127.0.0.1:1"}}
SPECS = [DATA_EXCHANGE, REFERRAL, PROCUREMENT, COST_SHARING, RMR]
#: a made-up value per path parameter that has a format (others get a made-up word)
IDS = {"period": "2026-01", "resource_type": "Patient", "year": "2026", "month": "2026-01"}


class Contract:
    """One service's document, and a checker that records what it compared."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.checked: Counter[str] = Counter()

    def check(self, method: str, path: str, response: httpx.Response) -> None:
        operation = self.doc["paths"][path][method]
        status = str(response.status_code)
        what = f"{method.upper()} {path} → {status}: {response.text[:300]}"
        assert status in operation["responses"], f"undocumented status: {what}"
        documented = operation["responses"][status].get("content") or {}
        if status[0] not in "45":
            return
        media = response.headers.get("content-type", "").split(";")[0].strip()
        assert media in documented, f"undocumented media type {media!r} (documented {sorted(documented)}): {what}"
        schema = documented[media]["schema"]
        validator = Draft202012Validator({**schema, "components": self.doc["components"]})
        body = response.json()
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        assert not errors, f"body does not match the documented schema ({errors[0].message}): {what}"
        if media == "application/problem+json":
            slug = body["type"].rsplit("/", 1)[-1]
            assert slug in PROBLEM_TYPES, f"problem type {slug!r} is not on docs/problems.md: {what}"
            assert body["status"] == response.status_code, what
            if slug == "validation-error":
                assert body["errors"], what
        self.checked[status] += 1


def _roles(operation: dict[str, Any]) -> tuple[list[str] | None, list[str]]:
    """(declared roles or None for any/public, the roles outside the declaration)."""
    declared = operation.get("x-alliance-roles")
    if not isinstance(declared, dict) or declared["roles"] == "any":
        return None, []
    return list(declared["roles"]), [r for r in ROLE_ORDER if r not in declared["roles"]]


def _url(path: str) -> str:
    for name in [p.split("}")[0] for p in path.split("{")[1:]]:
        path = path.replace("{" + name + "}", IDS.get(name, f"zz-missing-{name}"))
    return path


def _token(dev_keys, role: str) -> dict[str, str]:
    hospital = {"hospital_id": "H001"} if role == "hospital" else {}
    return {"Authorization": "Bearer " + dev_keys.issue(f"contract-{role}", roles=[role], **hospital)}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
async def test_answers_match_the_documented_errors(spec, start_service, dev_keys):
    runtime = await start_service(spec, start=False, **PEERS.get(spec.name, {}))
    doc = json.loads((ROOT / "docs" / "openapi" / f"{spec.name}.json").read_text())
    contract = Contract(doc)
    transport = httpx.ASGITransport(app=runtime.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service", timeout=30) as client:
        for path, operations in doc["paths"].items():
            for method, operation in operations.items():
                url = _url(path)
                public = operation.get("x-alliance-roles") in (None, "public")
                declared, outside = _roles(operation)
                allowed = _token(dev_keys, "alliance_admin" if declared is None or "alliance_admin" in declared
                                 else declared[0])
                if not public:
                    r = await client.request(method, url)
                    assert r.status_code == 401, f"{method} {path}: {r.status_code}"
                    contract.check(method, path, r)
                for role in outside[:1]:
                    r = await client.request(method, url, headers=_token(dev_keys, role))
                    assert r.status_code == 403, f"{method} {path} as {role}: {r.status_code} {r.text[:200]}"
                    contract.check(method, path, r)
                r = await client.request(method, url + "?q=%00", headers=allowed)
                assert r.status_code == 400, f"{method} {path} with NUL: {r.status_code}"
                contract.check(method, path, r)
                if "{" in path and method == "get":
                    contract.check(method, path, await client.request(method, url, headers=allowed))
                body = operation.get("requestBody", {}).get("content", {})
                if "application/json" in body:
                    r = await client.request(method, url, headers=allowed, json={"zz_unexpected": [None]})
                    contract.check(method, path, r)
                if "application/fhir+json" in body:
                    r = await client.request(method, url, headers=allowed | {"Content-Type": "application/fhir+json"},
                                             content=b'{"resourceType": "NoSuchResource", "id": 5}')
                    assert 400 <= r.status_code < 500, f"{method} {path} with a bad resource: {r.status_code}"
                    contract.check(method, path, r)
                if body and path not in runtime.spec.body_limits:
                    limit = runtime.settings.max_request_bytes
                    r = await client.request(method, url, headers=allowed | {"Content-Type": next(iter(body))},
                                             content=b" " * (limit + 1))
                    assert r.status_code == 413, f"{method} {path} with {limit + 1} bytes: {r.status_code}"
                    contract.check(method, path, r)
    assert contract.checked["401"] + contract.checked["400"] > 0
    if spec.name != "data-exchange":
        assert contract.checked["422"] > 0, contract.checked
    print(spec.name, dict(contract.checked))
