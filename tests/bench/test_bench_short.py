"""Every benchmark of `make bench` runs here with small counts, so a change that breaks one fails `make test`.

The figures are only checked for sanity (positive, finite, ratios present): timing is judged by `make bench`.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import run as bench_run  # noqa: E402


def _numbers(doc: object):
    if isinstance(doc, bool):
        return
    if isinstance(doc, int | float):
        yield doc
    elif isinstance(doc, dict):
        for value in doc.values():
            yield from _numbers(value)
    elif isinstance(doc, list):
        for value in doc:
            yield from _numbers(value)


@pytest.mark.timeout(600)
def test_every_benchmark_runs_in_short_mode_with_sane_figures(kafka_bootstrap, pg_admin_dsn, tmp_path):
    env = dict(os.environ, ALLIANCE_KAFKA_BOOTSTRAP=kafka_bootstrap, ALLIANCE_PG_DSN=pg_admin_dsn)
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--short", "--out", str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=590)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads((tmp_path / "short.json").read_text())
    assert set(figures) == set(bench_run.PLAN)
    for name, (key, _unit) in bench_run.HEADLINES.items():
        value = figures[name][key]
        assert isinstance(value, int | float) and math.isfinite(value) and value > 0, (name, key, value)
    for value in _numbers(figures):
        assert math.isfinite(value) and value >= 0, figures


def test_the_change_against_the_previous_run_is_reported_per_headline_figure():
    previous = {"settlement": {"entries_per_s": 1000}, "recognition": {"p99_ms": 4.0}}
    current = {"settlement": {"entries_per_s": 1500}, "recognition": {"p99_ms": 5.0}, "hl7_parse": {}}
    assert bench_run.changes(previous, current) == [
        "recognition: 5.0 ms p99, was 4.0 (+25%)", "settlement: 1500 entries/s, was 1000 (+50%)"]
    assert bench_run.changes(None, {"settlement": {"entries_per_s": 7}}) == ["settlement: 7 entries/s (no previous run)"]
