"""JSON log lines carry trace ids and never patient identifiers."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from alliance_telemetry import JsonFormatter, RedactingFilter, TraceContextFilter, tracer


class _Capture:
    """A logger whose records go through the production filters into a buffer."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        handler = logging.StreamHandler(self.buffer)
        handler.addFilter(TraceContextFilter())
        handler.addFilter(RedactingFilter())
        handler.setFormatter(JsonFormatter("referral"))
        self.logger = logging.getLogger("tests.logs.capture")
        self.logger.handlers[:] = [handler]
        self.logger.propagate = False
        self.logger.setLevel(logging.DEBUG)

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.buffer.getvalue().splitlines()]


@pytest.fixture
def capture() -> Iterator[_Capture]:
    cap = _Capture()
    yield cap
    cap.logger.handlers.clear()


def test_a_line_logged_inside_a_span_carries_its_trace_and_span_ids(capture: _Capture) -> None:
    with tracer("tests.logs").start_as_current_span("work") as span:
        capture.logger.info("referral accepted")
    (line,) = capture.lines()
    ctx = span.get_span_context()
    assert line["trace_id"] == format(ctx.trace_id, "032x")
    assert line["span_id"] == format(ctx.span_id, "016x")
    assert line["level"] == "INFO"
    assert line["logger"] == "tests.logs.capture"
    assert line["msg"] == "referral accepted"
    assert line["service"] == "referral"
    assert line["ts"].endswith("Z") and "T" in line["ts"]


def test_a_line_logged_outside_a_span_has_no_trace_ids(capture: _Capture) -> None:
    capture.logger.warning("idle")
    (line,) = capture.lines()
    assert "trace_id" not in line and "span_id" not in line


def test_id_numbers_and_mobiles_are_redacted_from_the_message(capture: _Capture) -> None:
    capture.logger.info("patient %s reachable at %s", "11010519491231002X", "13812345678")
    capture.logger.info("old id 110105491231002 and mobile +86 138 1234 5678")
    first, second = (line["msg"] for line in capture.lines())
    assert first == "patient [REDACTED] reachable at [REDACTED]"
    assert second == "old id [REDACTED] and mobile [REDACTED]"


def test_sensitive_extra_fields_are_redacted_and_the_rest_kept(capture: _Capture) -> None:
    capture.logger.info("created", extra={"fields": {
        "patient_name": "张三", "referral_id": "r-1", "note": "call 13812345678",
        "phone": 13812345678, "hospitals": ["h1", "h2"], "level": "override?",
    }})
    (line,) = capture.lines()
    assert line["patient_name"] == "[REDACTED]"
    assert line["phone"] == "[REDACTED]"
    assert line["note"] == "call [REDACTED]"
    assert line["referral_id"] == "r-1"
    assert line["hospitals"] == ["h1", "h2"]
    assert line["level"] == "INFO" and line["field.level"] == "override?"
    assert "张三" not in capture.buffer.getvalue()


def test_exception_text_is_included_and_scrubbed(capture: _Capture) -> None:
    try:
        raise ValueError("duplicate id_number 11010519491231002X for patient_name=张三")
    except ValueError:
        capture.logger.exception("insert failed")
    (line,) = capture.lines()
    assert "ValueError" in line["exception"]
    assert "11010519491231002X" not in line["exception"]
    assert "张三" not in line["exception"]


def test_sqlalchemy_parameters_in_error_text_are_scrubbed(capture: _Capture) -> None:
    capture.logger.error(
        "(IntegrityError) dup\n[SQL: INSERT INTO patients VALUES ($1, $2)]\n"
        "[parameters: ('张三', 'abc')]\nDETAIL:  Key (full_name)=(张三) already exists."
    )
    (line,) = capture.lines()
    assert "张三" not in line["msg"]
    assert "[SQL: INSERT INTO patients VALUES ($1, $2)]" in line["msg"]


def test_a_huge_message_is_cut_to_a_bounded_line_with_a_visible_marker(capture: _Capture) -> None:
    capture.logger.error("body was %s", "x" * 430_000)
    raw = capture.buffer.getvalue().splitlines()[0]
    assert len(raw.encode()) <= 8192
    line = json.loads(raw)
    assert line["msg"].startswith("body was xxx") and "[truncated" in line["msg"]


def test_huge_fields_and_many_fields_still_fit_one_bounded_line(capture: _Capture) -> None:
    fields = {f"k{n}": "词" * 3000 for n in range(20)} | {"nested": {"rows": list(range(50_000))}}
    capture.logger.warning("import rejected", extra={"fields": fields})
    raw = capture.buffer.getvalue().splitlines()[0]
    assert len(raw.encode()) <= 8192
    line = json.loads(raw)
    assert line["msg"] == "import rejected" and line["truncated"] is True
    assert "[truncated" in line["k0"] and "[truncated" in line["nested"]


def _recurse(depth: int) -> None:
    if depth == 0:
        raise ValueError("deep failure " + "y" * 50_000)
    _recurse(depth - 1)


def test_a_deep_traceback_keeps_its_last_frames_and_the_error(capture: _Capture) -> None:
    try:
        _recurse(200)
    except ValueError:
        capture.logger.exception("handler failed")
    raw = capture.buffer.getvalue().splitlines()[0]
    assert len(raw.encode()) <= 8192
    exception = json.loads(raw)["exception"]
    assert exception.count("in _recurse") <= 8
    assert "ValueError: deep failure" in exception and "[truncated" in exception


def test_a_short_line_is_left_as_it_was(capture: _Capture) -> None:
    capture.logger.info("accepted", extra={"fields": {"referral_id": "R-1", "count": 3, "ok": True}})
    (line,) = capture.lines()
    assert (line["referral_id"], line["count"], line["ok"]) == ("R-1", 3, True)
    assert "truncated" not in line
