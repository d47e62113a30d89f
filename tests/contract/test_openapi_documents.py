"""The OpenAPI documents are valid OpenAPI 3.1 and document every error the platform sends; docs/problems.md lists
every problem type the code can produce."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs" / "openapi").glob("*.json"))
sys.path.insert(0, str(ROOT / "scripts"))
import problem_types  # noqa: E402


def _operations(doc: dict):
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_there_is_one_document_per_service():
    assert [d.stem for d in DOCS] == ["cost-sharing", "data-exchange", "procurement", "referral",
                                      "results-mutual-recognition"]


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.stem)
def test_document_is_valid_openapi_3_1(path):
    doc = json.loads(path.read_text())
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_validator_refuses_a_broken_document():
    doc = json.loads(DOCS[0].read_text())
    path, method, operation = next(_operations(doc))
    operation["responses"] = {"200": {"content": {}}}       # a response without its required description
    with pytest.raises(OpenAPIValidationError):
        validate(doc)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.stem)
def test_every_operation_documents_its_errors_as_problems(path):
    doc = json.loads(path.read_text())
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    ids = [op["operationId"] for _, _, op in _operations(doc)]
    assert len(ids) == len(set(ids)), "operation ids are unique per service"
    for route, method, op in _operations(doc):
        assert re.fullmatch(r"[a-z][a-z0-9_]*", op["operationId"]), op["operationId"]
        assert op.get("tags"), f"{method} {route} has a tag"
        roles = op.get("x-alliance-roles")
        responses = op["responses"]
        expected = {"400", "500", "503"}
        if roles != "public":
            expected.add("401")
        if isinstance(roles, dict) and roles["roles"] != "any":
            expected.add("403")
        if "{" in route:
            expected.add("404")
        if "requestBody" in op:
            expected |= {"413", "422"}
        assert expected <= set(responses), f"{method} {route}: {sorted(expected - set(responses))} missing"
        fhir = route.startswith("/fhir")
        for status, response in responses.items():
            if status[0] in "45":
                media = "application/fhir+json" if fhir else "application/problem+json"
                schema = "OperationOutcome" if fhir else "Problem"
                assert response["content"] == {media: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}, \
                    f"{method} {route} {status}"
            elif fhir and "content" in response:
                assert "application/json" not in response["content"], f"{method} {route} {status}"


def test_every_problem_type_in_the_code_is_on_the_page():
    page = (ROOT / "docs" / "problems.md").read_text()
    listed = set(re.findall(r"^\| `([a-z0-9-]+)` \|", page, re.MULTILINE))
    found = problem_types.collect(ROOT)
    assert len(found) > 50
    assert set(found) - listed == set(), "run `make contracts`: problem types missing from docs/problems.md"


def test_collector_finds_problems_in_calls_subclasses_and_domain_errors(tmp_path):
    source = tmp_path / "services" / "demo" / "src" / "demo"
    source.mkdir(parents=True)
    (source / "errors.py").write_text(
        "class Gone(Problem):\n"
        "    def __init__(self):\n"
        "        super().__init__(410, 'gone-for-good', 'Gone')\n"
        "class BadThing(ValueError):\n"
        "    slug = 'bad-thing'\n"
        "def f():\n"
        "    raise Problem(409, 'double-booked', 'Conflict', 'taken')\n"
        "def g():\n"
        "    raise MergeRefused('same-patient', 'no')\n")
    found = problem_types.collect(tmp_path)
    assert {"gone-for-good", "bad-thing", "double-booked", "same-patient"} <= set(found)
    assert found["gone-for-good"].statuses == {410}
    assert found["double-booked"].where == {"demo"}
