"""No JSON input, however odd, makes validation, mapping or bundle parsing raise."""

from __future__ import annotations

import copy
import json
import random
import time
from decimal import Decimal
from typing import Any

import fhir_samples as samples

from data_exchange.fhir.body import parse_body
from data_exchange.fhir.bundle import BundleError, parse_transaction, transaction_records
from data_exchange.fhir.mapping import to_records
from data_exchange.fhir.outcome import operation_outcome, outcome_status
from data_exchange.fhir.validation import validate

SEED = 20241105
RUNS = 2_500
KEYS = ["resourceType", "id", "identifier", "system", "value", "code", "coding", "subject", "reference",
        "status", "class", "period", "start", "end", "effectiveDateTime", "valueQuantity", "valueString",
        "valueCodeableConcept", "dataAbsentReason", "result", "contained", "diagnosis", "condition", "rank",
        "use", "extension", "url", "valueMoney", "currency", "valueInteger", "valueCoding", "entry",
        "request", "method", "fullUrl", "resource", "type", "name", "given", "family", "text", "gender",
        "birthDate", "telecom", "authoredOn", "intent", "modifierExtension", "category", "basedOn",
        "performer", "referenceRange", "low", "high", "interpretation", "serviceType", "encounter"]
STRINGS = ["", " ", "Patient", "Bundle", "Observation", "Encounter", "DiagnosticReport", "ServiceRequest",
           "transaction", "batch", "POST", "PUT", "DELETE", "final", "finished", "in-progress", "IMP", "AMB",
           "#", "#a", "#wbc", "Patient/1", "Patient/", "urn:uuid:", samples.UUID_PATIENT, samples.MRN,
           samples.COST_LINE, "item", "amount", "quantity", "CNY", "2024-02-30", "2024-11-05T25:00:00Z",
           "2024-11-05T08:00:00+14:00", "0001-01-01T00:00:00-13:59", "9999-12-31T23:59:60+14:00", "9999",
           "330122196503121232", "33012219650312123X", "\x00", "\ud800", "张建国", "DD", "AD", "male"]


def _scalar(rng: random.Random) -> Any:
    kind = rng.randrange(12)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, 1, -1, 2, 2**31, -(2**63), 10**400, rng.randrange(-1000, 1000)])
    if kind == 3:
        return rng.choice([0.0, -0.0, 1.5, 1e308, -1e-320, float("nan"), float("inf"), rng.random()])
    if kind == 4:
        return rng.choice([Decimal("12.345"), Decimal("1E+999999"), Decimal("-0.00"), Decimal("NaN"),
                           Decimal("Infinity"), Decimal("1e-999999"), Decimal("350.00")])
    if kind == 5:
        return "".join(chr(rng.randrange(0x20, 0x2FFF)) for _ in range(rng.randrange(30)))
    if kind == 6 and rng.random() < 0.1:
        return rng.choice(["x", "Patient/", "urn:uuid:", "#"]) * rng.randrange(50_000, 400_000)
    return rng.choice(STRINGS)


def _value(rng: random.Random, depth: int) -> Any:
    if depth > 5 or rng.random() < 0.45:
        return _scalar(rng)
    if rng.random() < 0.5:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = [rng.choice(KEYS) if rng.random() < 0.85 else _scalar(rng) for _ in range(rng.randrange(6))]
    return {k if isinstance(k, str) else str(k): _value(rng, depth + 1) for k in keys}


def _deep(rng: random.Random) -> Any:
    node: Any = _scalar(rng)
    for _ in range(rng.randrange(100, 3_000)):
        node = [node] if rng.random() < 0.5 else {rng.choice(KEYS): node}
    return {"resourceType": rng.choice(["Patient", "Bundle", "Encounter"]), rng.choice(KEYS): node}


def _mutate(rng: random.Random, resource: Any) -> Any:
    resource = copy.deepcopy(resource)
    for _ in range(rng.randrange(1, 6)):
        node, parents = resource, []
        while isinstance(node, dict | list) and node and rng.random() < 0.8:
            key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
            parents.append((node, key))
            node = node[key]
        if not parents:
            continue
        parent, key = parents[-1]
        action = rng.randrange(4)
        if action == 0 and isinstance(parent, dict):
            del parent[key]
        elif action == 1:
            parent[key] = [parent[key]]
        else:
            parent[key] = _value(rng, 3)
    return resource


SAMPLES = [samples.patient, samples.glucose, samples.blood_count, samples.chest_ct, samples.inpatient_stay,
           samples.emergency_visit, samples.ct_order, samples.liver_panel_transaction]


def _input(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.55:
        return _mutate(rng, rng.choice(SAMPLES)())
    if roll < 0.85:
        body = _value(rng, 1)
        body = body if isinstance(body, dict) else {"value": body}
        body["resourceType"] = rng.choice(["Patient", "Encounter", "Observation", "DiagnosticReport",
                                           "ServiceRequest", "Bundle", "Condition", 7, None])
        return body
    if roll < 0.9:
        return _deep(rng)
    return _value(rng, 0)


def _exercise(rng: random.Random, body: Any) -> None:
    issues = validate(body)
    validate(body, expected_type=rng.choice(["Patient", "Bundle", "Observation"]))
    operation_outcome(issues)
    outcome_status(issues)
    pool = [_mutate(rng, samples.patient()), samples.blood_count()["contained"][0], None, [], "x"]
    records, found = to_records(body, sending_facility="H002", contained_lookup=lambda ref: rng.choice(pool))
    assert all(i.severity in ("error", "warning") for i in found)
    try:
        entries = parse_transaction(body)
    except BundleError as err:
        assert err.issues
    else:
        transaction_records(entries, sending_facility="H002")


def test_two_thousand_five_hundred_random_and_mutated_inputs_never_raise():
    rng = random.Random(SEED)
    started = time.perf_counter()
    for _ in range(RUNS):
        _exercise(rng, _input(rng))
    assert time.perf_counter() - started < 60


def test_every_issue_of_a_mutated_resource_names_a_fhir_issue_type_and_severity():
    rng = random.Random(SEED + 1)
    codes = {"structure", "required", "value", "invariant", "code-invalid", "not-supported", "too-long"}
    for _ in range(300):
        for issue in validate(_mutate(rng, rng.choice(SAMPLES)())):
            assert issue.code in codes and issue.severity in ("error", "warning")


def test_random_and_corrupted_request_bodies_decode_or_fail_with_an_issue():
    rng = random.Random(SEED + 2)
    for _ in range(1_000):
        text = json.dumps(_mutate(rng, rng.choice(SAMPLES)()), default=str, ensure_ascii=rng.random() < 0.5)
        raw = bytearray(text.encode("utf-8", "surrogatepass"))
        for _ in range(rng.randrange(4)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        raw = raw[:rng.randrange(len(raw) + 1)] if rng.random() < 0.2 else raw
        body, issues = parse_body(bytes(raw))
        assert (body is None) == bool(issues)
        if body is not None:
            _exercise(rng, body)
