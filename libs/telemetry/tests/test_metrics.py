"""ServiceMetrics: declared families, sampled gauges and the Prometheus text it renders (no I/O)."""

from __future__ import annotations

import asyncio

import pytest

from alliance_telemetry.metrics import ServiceMetrics


def lines(text: str, prefix: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(prefix)]


def test_a_declared_family_is_listed_before_its_first_data_point():
    metrics = ServiceMetrics("svc")
    metrics.counter("alliance_things", "Things seen")
    text = metrics.render()
    assert "# HELP alliance_things_total Things seen" in text
    assert "# TYPE alliance_things_total counter" in text
    assert lines(text, "alliance_things_total") == []


def test_counters_histograms_and_gauges_render_with_the_service_label_and_escaped_values():
    metrics = ServiceMetrics("svc")
    counter = metrics.counter("alliance_things", "Things")
    counter.add(2, {"route": '/a/{id}"\\'})
    counter.add(1, {"route": '/a/{id}"\\'})
    hist = metrics.histogram("alliance_wait_seconds", "Waits", buckets=(0.1, 1.0))
    hist.record(0.05)
    hist.record(0.5)
    hist.record(7)
    gauge = metrics.gauge("alliance_level", "Level")
    gauge.set(3.5, queue="q")
    text = metrics.render()
    assert 'alliance_things_total{service="svc",route="/a/{id}\\"\\\\"} 3' in text
    assert lines(text, "alliance_wait_seconds_bucket") == [
        'alliance_wait_seconds_bucket{service="svc",le="0.1"} 1',
        'alliance_wait_seconds_bucket{service="svc",le="1"} 2',
        'alliance_wait_seconds_bucket{service="svc",le="+Inf"} 3',
    ]
    assert 'alliance_wait_seconds_sum{service="svc"} 7.55' in text
    assert 'alliance_wait_seconds_count{service="svc"} 3' in text
    assert 'alliance_level{service="svc",queue="q"} 3.5' in text
    assert "# TYPE alliance_level gauge" in text


def test_replacing_a_gauge_drops_label_sets_that_are_gone():
    metrics = ServiceMetrics("svc")
    lag = metrics.gauge("alliance_lag", "Lag")
    lag.replace([({"partition": 0}, 4), ({"partition": 1}, 2)])
    assert len(lines(metrics.render(), "alliance_lag{")) == 2
    lag.replace([({"partition": 1}, 0)])
    assert lines(metrics.render(), "alliance_lag{") == ['alliance_lag{service="svc",partition="1"} 0']


def test_a_failing_or_hanging_sampler_is_counted_and_the_others_still_sample():
    metrics = ServiceMetrics("svc")
    ok = metrics.gauge("alliance_ok", "Fine")

    async def broken() -> None:
        raise ConnectionError("database down")

    async def hanging() -> None:
        await asyncio.sleep(10)

    async def fine() -> None:
        ok.set(1)

    for name, sampler in (("broken", broken), ("hanging", hanging), ("fine", fine)):
        metrics.add_sampler(name, sampler)
    asyncio.run(metrics.sample(timeout=0.1))
    text = metrics.render()
    assert 'alliance_ok{service="svc"} 1' in text
    assert 'alliance_metrics_sampler_errors_total{service="svc",sampler="broken"} 1' in text
    assert 'alliance_metrics_sampler_errors_total{service="svc",sampler="hanging"} 1' in text


def test_names_prometheus_cannot_scrape_and_kind_clashes_are_refused():
    metrics = ServiceMetrics("svc")
    with pytest.raises(ValueError, match="not a Prometheus metric name"):
        metrics.counter("http.server.requests", "dotted")
    metrics.counter("alliance_x", "x")
    with pytest.raises(ValueError, match="already declared"):
        metrics.gauge("alliance_x", "x")


def test_an_otlp_endpoint_adds_a_periodic_exporter_to_the_collector_metrics_url():
    from alliance_telemetry.metrics import _metrics_url

    assert _metrics_url("http://otel:4318") == "http://otel:4318/v1/metrics"
    assert _metrics_url("http://otel:4318/custom/path") == "http://otel:4318/custom/path"
    metrics = ServiceMetrics("svc", otlp_endpoint="http://127.0.0.1:9", export_interval_s=3600)
    metrics.counter("alliance_things", "Things").add(1)
    assert 'alliance_things_total{service="svc"} 1' in metrics.render()
    metrics.shutdown()
