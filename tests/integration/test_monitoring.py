"""infra/monitoring loads: the alert rules are a Prometheus rule file, the dashboard is Grafana JSON, and every
metric either names is one the services expose (scraped from services started in-process)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from cost_sharing.bootstrap import SPEC as COST_SHARING
from data_exchange.bootstrap import SPEC as DATA_EXCHANGE

MONITORING = Path(__file__).resolve().parents[2] / "infra" / "monitoring"
RULES = MONITORING / "alerts.yml"
DASHBOARD = MONITORING / "grafana-dashboard.json"
PROMETHEUS = MONITORING / "prometheus.yml"

#: Series Prometheus makes itself for every target.
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
_DURATION = re.compile(r"^[0-9]+(ms|s|m|h|d|w|y)$")
_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset",
             "bool", "inf", "nan"}
_FUNCTIONS = {"rate", "irate", "increase", "deriv", "sum", "max", "min", "avg", "count", "histogram_quantile",
              "label_values", "abs", "clamp_min", "absent", "topk", "delta", "time"}


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (labels, label values, functions and keywords left out)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)               # label values and strings
    expr = re.sub(r"\{[^}]*\}", "", expr)                          # matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)                         # ranges
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
        word = match.group(0)
        following = expr[match.end():].lstrip()[:1]
        if word in _KEYWORDS or word in _FUNCTIONS or following == "(" or _DURATION.match(word):
            continue
        names.add(word)
    return names


def matcher_labels(expr: str) -> dict[str, set[str]]:
    """For each `name{...}` selector, the label names its matchers use."""
    found: dict[str, set[str]] = {}
    for name, body in re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}", expr):
        found.setdefault(name, set()).update(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", body))
    return found


def exposed_series(scrapes: list[str]) -> tuple[set[str], dict[str, set[str]]]:
    """Series names a scrape can carry (from # TYPE, with _bucket/_sum/_count) and the labels seen on each."""
    names: set[str] = set()
    labels: dict[str, set[str]] = {}
    for text in scrapes:
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split()
                names.add(name)
                if kind == "histogram":
                    names.update({f"{name}_bucket", f"{name}_sum", f"{name}_count"})
            elif line and not line.startswith("#"):
                name, _, rest = line.partition("{")
                labels.setdefault(name, set()).update(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', rest))
    return names, labels


def rule_expressions() -> list[tuple[str, str]]:
    document = yaml.safe_load(RULES.read_text())
    return [(rule.get("alert") or rule.get("record"), rule["expr"])
            for group in document["groups"] for rule in group["rules"]]


def dashboard_expressions() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    found = [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel["targets"]]
    found += [(var["name"], re.sub(r"label_values\((\w+),\s*\w+\)", r"\1", var["query"]["query"]))
              for var in dashboard["templating"]["list"] if isinstance(var.get("query"), dict)]
    return found


def test_the_rule_file_has_the_shape_prometheus_loads():
    document = yaml.safe_load(RULES.read_text())
    assert set(document) == {"groups"}
    names = [g["name"] for g in document["groups"]]
    assert len(names) == len(set(names)), "group names must be unique"
    alerts = set()
    for group in document["groups"]:
        assert set(group) <= {"name", "interval", "rules", "limit"}
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"}
            assert ("alert" in rule) != ("record" in rule)
            assert isinstance(rule["expr"], str) and rule["expr"].strip()
            assert rule["expr"].count("(") == rule["expr"].count(")")
            if "for" in rule:
                assert _DURATION.match(rule["for"])
            assert all(isinstance(v, str) for v in {**rule.get("labels", {}), **rule.get("annotations", {})}.values())
            alerts.add(rule.get("alert"))
    assert {"OutboxBacklogGrowing", "DeadLettersPublished", "ConsumerLagHigh", "LedgerCheckpointOverdue",
            "LedgerVerificationFailed", "ServiceNotReady"} <= alerts
    config = yaml.safe_load(PROMETHEUS.read_text())
    assert config["rule_files"] == [RULES.name]


def test_promtool_accepts_the_rules_and_the_scrape_config_when_it_is_installed():
    promtool = os.environ.get("ALLIANCE_PROMTOOL") or shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian: apt-get install prometheus); the structure test stands in")
    for args in (["check", "rules", str(RULES)], ["check", "config", str(PROMETHEUS)]):
        done = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=60, cwd=MONITORING)
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_dashboard_is_grafana_json_with_unique_panels_and_queries():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["panels"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
        for target in panel["targets"]:
            assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]


def test_the_expression_reader_finds_metric_names_only():
    assert metric_names('sum by (service, route) (rate(alliance_http_requests_total{status_class="5xx"}[5m]))'
                        ' / on(service) group_left alliance_x > 0.05') == {"alliance_http_requests_total", "alliance_x"}
    assert metric_names("a > 100 unless b") == {"a", "b"}


async def test_every_metric_the_alerts_and_the_dashboard_use_is_exposed_by_the_services(start_service, dev_keys):
    services = [await start_service(DATA_EXCHANGE, mllp_port=0), await start_service(COST_SHARING)]
    scrapes = []
    for rt in services:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}") as c:
            await c.get("/healthz")
            response = await c.get("/metrics")
            assert response.status_code == 200
            scrapes.append(response.text)
    exposed, labels_seen = exposed_series(scrapes)

    unknown: dict[str, set[str]] = {}
    wrong_labels: dict[str, set[str]] = {}
    for where, expr in [*rule_expressions(), *dashboard_expressions()]:
        names = metric_names(expr)
        assert names, f"{where}: no metric in {expr!r}"
        if missing := names - exposed - PROMETHEUS_OWN:
            unknown[where] = missing
        for name, used in matcher_labels(expr).items():
            if name in PROMETHEUS_OWN or name not in labels_seen:
                continue
            if extra := used - labels_seen[name] - {"job", "instance"}:
                wrong_labels[f"{where}: {name}"] = extra
    assert not unknown, f"metrics no service exposes: {unknown}"
    assert not wrong_labels, f"labels these metrics do not carry: {wrong_labels}"
