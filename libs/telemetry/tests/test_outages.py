"""Outages in the log: one line when lost, a summary per interval while down, one when back."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from typing import Any

import pytest

from alliance_telemetry import JsonFormatter, OutageLogFilter, Outages
from alliance_telemetry import outages as outages_module


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def capture(monkeypatch) -> tuple[Outages, _Clock, io.StringIO, logging.Logger]:
    """A registry with a fake clock, and a root-like handler with the outage filter writing JSON lines."""
    clock = _Clock()
    registry = Outages(summary_every=30, probe_every=0.05, clock=clock)
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(OutageLogFilter(registry))
    handler.setFormatter(JsonFormatter("svc"))
    out = logging.getLogger("alliance.outages")
    kafka = logging.getLogger("aiokafka.conn.test")
    for logger in (out, kafka):
        monkeypatch.setattr(logger, "handlers", [handler])
        monkeypatch.setattr(logger, "propagate", False)
        logger.setLevel(logging.INFO)
    return registry, clock, buffer, kafka


def _lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_thousand_failed_attempts_in_a_minute_are_four_lines(capture):
    registry, clock, buffer, _ = capture
    for i in range(1000):
        clock.now = 1000 + i * 0.061         # 61 s of attempts
        registry.failed("database", ConnectionRefusedError(111, "Connect call failed"))
    registry.recovered("database")
    registry.recovered("database")           # a second "back" says nothing
    lines = _lines(buffer)
    assert [x["event"] for x in lines] == ["dependency_lost", "dependency_down", "dependency_down",
                                           "dependency_back"]
    assert lines[0]["msg"] == "database unavailable" and "ConnectionRefusedError" in lines[0]["error"]
    assert lines[1]["msg"] == "database unavailable for 30 s, 493 attempts"
    assert lines[2]["msg"] == "database unavailable for 60 s, 985 attempts"
    assert lines[-1]["attempts"] == 1000 and lines[-1]["msg"].startswith("database available again after 60.9 s")
    assert registry.status() == {}


def test_aiokafka_connection_errors_are_counted_not_written(capture):
    registry, _, buffer, kafka = capture
    for _ in range(50):
        kafka.error("Unable connect to node with id 1: [Errno 111] Connect call failed ('127.0.0.1', 9092)")
    kafka.error("Unexpected error in sender routine")   # not about a connection: written as it is
    kafka.warning("Heartbeat failed for group g because it is rebalancing")
    lines = _lines(buffer)
    assert [x["msg"] for x in lines] == ["kafka unavailable", "Unexpected error in sender routine",
                                         "Heartbeat failed for group g because it is rebalancing"]
    assert registry.status()["kafka"]["attempts"] == 50 and registry.status()["kafka"]["since"]


def test_records_tagged_with_a_dependency_are_aggregated(capture):
    registry, _, buffer, _ = capture
    other = logging.getLogger("alliance.outages")
    for _ in range(5):
        other.warning("pass failed", extra={"dependency": "database"})
    assert [x["msg"] for x in _lines(buffer)] == ["database unavailable"]
    assert registry.is_down("database")


async def test_while_down_a_probe_notices_the_return_without_other_traffic(capture):
    registry, clock, buffer, _ = capture
    answers = [ConnectionRefusedError(111, "refused"), ConnectionRefusedError(111, "refused"), None]
    changes: list[tuple[str, bool]] = []
    registry.add_listener(lambda name, up: changes.append((name, up)))

    async def probe() -> None:
        answer = answers.pop(0)
        if answer is not None:
            raise answer

    registry.register_probe("database", probe)
    registry.failed("database", "connection refused")
    await _until(lambda: not registry.is_down("database"))
    assert answers == [] and changes == [("database", False), ("database", True)]
    assert [x["event"] for x in _lines(buffer)] == ["dependency_lost"]      # not yet: it must stay up a while
    clock.now += registry.settle
    await _until(lambda: len(_lines(buffer)) == 2)
    assert [x["event"] for x in _lines(buffer)] == ["dependency_lost", "dependency_back"]
    await registry.close()


async def test_errors_just_after_the_return_continue_the_outage_instead_of_starting_another(capture):
    registry, clock, buffer, kafka = capture
    registry.failed("kafka", "Unable connect to node")
    await asyncio.sleep(0)                               # the watcher is running
    for _ in range(3):                                   # a reconnecting client: answers, then a late error
        registry.recovered("kafka")
        clock.now += 1
        kafka.error("Heartbeat session expired - marking coordinator dead")
    registry.recovered("kafka")
    clock.now += registry.settle
    await _until(lambda: len(_lines(buffer)) == 2)
    lines = _lines(buffer)
    assert [x["event"] for x in lines] == ["dependency_lost", "dependency_back"] and lines[1]["attempts"] == 4
    await registry.close()


async def _until(condition, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met")


def test_the_process_registry_is_installed_on_the_json_handler():
    from alliance_telemetry import setup_telemetry

    setup_telemetry("telemetry-tests")
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_alliance_telemetry_handler", False)]
    assert ours and all(any(isinstance(f, OutageLogFilter) for f in h.filters) for h in ours)
    assert outages_module.OUTAGES is not None


def test_a_logged_traceback_of_an_outage_is_counted_when_the_classifier_says_so(capture):
    registry, _, buffer, _ = capture
    registry.classify = lambda exc: "database" if isinstance(exc, ConnectionRefusedError) else None
    job = logging.getLogger("alliance.outages")
    for _ in range(10):
        try:
            raise ConnectionRefusedError(111, "Connect call failed")
        except OSError:
            job.warning("settlement clock tick failed; retrying", exc_info=True)
    try:
        raise ValueError("a bug")
    except ValueError:
        job.warning("settlement clock tick failed; retrying", exc_info=True)
    lines = _lines(buffer)
    assert [x["msg"] for x in lines] == ["database unavailable", "settlement clock tick failed; retrying"]
    assert "ValueError" in lines[1]["exception"] and registry.status()["database"]["attempts"] == 10
