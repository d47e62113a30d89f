from decimal import Decimal

import pytest

from data_exchange.fhir.body import parse_body
from data_exchange.fhir.outcome import outcome_status


def test_a_json_body_decodes_with_exact_decimals():
    body, issues = parse_body(b'{"resourceType": "Observation", "valueQuantity": {"value": 7.80}}')
    assert issues == []
    assert body["valueQuantity"]["value"] == Decimal("7.80")
    assert str(body["valueQuantity"]["value"]) == "7.80"


def test_a_utf8_byte_order_mark_and_chinese_text_are_fine():
    body, issues = parse_body('\ufeff{"text": "张建国"}'.encode())
    assert (body, issues) == ({"text": "张建国"}, [])


@pytest.mark.parametrize("raw", [
    b"", b"not json", b'{"a": NaN}', b'{"a": -Infinity}', b'{"a": 1, "a": 2}', "张".encode("gb18030"),
    b"[" * 100_000, b'{"a": ' + b"9" * 5_000 + b"}", b'{"a": 1} trailing',
], ids=["empty", "text", "nan", "infinity", "duplicate", "gb18030", "deep", "huge-int", "trailing"])
def test_bodies_that_are_not_fhir_json_are_400_issues(raw):
    body, issues = parse_body(raw)
    assert body is None and len(issues) == 1
    assert outcome_status(issues) == 400


def test_an_oversized_body_is_rejected_before_decoding():
    body, issues = parse_body(b" " * 11, max_bytes=10)
    assert body is None and issues[0].code == "too-long" and outcome_status(issues) == 400
