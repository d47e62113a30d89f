"""Per-service OpenTelemetry metrics: declared instruments, sampled gauges, Prometheus text and optional OTLP.

Each service runtime owns one `ServiceMetrics` (its own MeterProvider, not the global one), so several services
started in one process (tests) keep their series apart. Instruments are declared through it, which also lets the
scrape list every metric family a service exposes (``# HELP``/``# TYPE``) before its first data point.
Labels are bounded, operator-facing values (route templates, methods, codes, topics); never patient data.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from opentelemetry.metrics import CallbackOptions, Counter, Histogram, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    Gauge,
    HistogramDataPoint,
    InMemoryMetricReader,
    MetricReader,
    NumberDataPoint,
    PeriodicExportingMetricReader,
    Sum,
)
from opentelemetry.sdk.resources import SERVICE_NAME, Resource

log = logging.getLogger(__name__)

#: The Prometheus text exposition format this module writes.
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Latency buckets in seconds, from a fast read to a slow batch.
LATENCY_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

Attributes = Mapping[str, str | int]
Sampler = Callable[[], Awaitable[None]]
_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


@dataclass(frozen=True)
class Family:
    """A declared metric family as Prometheus sees it."""

    name: str
    kind: str          # counter | gauge | histogram
    description: str


class GaugeSet:
    """The latest sampled value per label set; `replace` drops label sets no longer present (gone partitions)."""

    def __init__(self) -> None:
        self._values: dict[tuple[tuple[str, str], ...], float] = {}

    def set(self, value: float, **attributes: str | int) -> None:
        self._values[_key(attributes)] = float(value)

    def replace(self, values: Iterable[tuple[Attributes, float]]) -> None:
        self._values = {_key(attrs): float(v) for attrs, v in values}

    def clear(self) -> None:
        self._values = {}

    def observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(v, dict(k)) for k, v in list(self._values.items())]


def _key(attributes: Attributes) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, str(v)) for k, v in attributes.items()))


class ServiceMetrics:
    """One service's meter, its declared families and the samplers that refresh its gauges."""

    def __init__(self, service_name: str, *, otlp_endpoint: str | None = None,
                 export_interval_s: float = 30.0, readers: Sequence[MetricReader] = ()) -> None:
        self.service_name = service_name
        self._reader = InMemoryMetricReader()
        all_readers: list[MetricReader] = [self._reader, *readers]
        if otlp_endpoint:
            all_readers.append(_otlp_reader(otlp_endpoint, export_interval_s))
        self._provider = MeterProvider(resource=Resource.create({SERVICE_NAME: service_name}),
                                       metric_readers=all_readers)
        self.meter = self._provider.get_meter("alliance")
        self.families: dict[str, Family] = {}
        self._samplers: list[tuple[str, Sampler]] = []
        self.sampler_errors = self.counter("alliance_metrics_sampler_errors",
                                           "Gauge samplers that failed or timed out, by sampler")

    def _declare(self, name: str, kind: str, description: str) -> None:
        if not _NAME.match(name):
            raise ValueError(f"not a Prometheus metric name: {name!r}")
        known = self.families.get(name)
        if known is not None and known.kind != kind:
            raise ValueError(f"{name} is already declared as a {known.kind}")
        self.families[name] = Family(name, kind, description)

    def counter(self, name: str, description: str) -> Counter:
        """A monotonic counter; scraped as ``<name>_total``."""
        self._declare(name, "counter", description)
        return self.meter.create_counter(name, description=description)

    def histogram(self, name: str, description: str,
                  buckets: Sequence[float] = LATENCY_BUCKETS) -> Histogram:
        """A histogram (seconds by default buckets); scraped as ``<name>_bucket/_sum/_count``."""
        self._declare(name, "histogram", description)
        return self.meter.create_histogram(name, description=description,
                                           explicit_bucket_boundaries_advisory=list(buckets))

    def gauge(self, name: str, description: str) -> GaugeSet:
        """A gauge whose values a sampler sets; observed at every collection."""
        self._declare(name, "gauge", description)
        values = GaugeSet()
        self.meter.create_observable_gauge(name, callbacks=[values.observe], description=description)
        return values

    def add_sampler(self, name: str, sampler: Sampler) -> None:
        """Run `sampler` before every scrape (and every OTLP export round, see `run_sampling`)."""
        self._samplers.append((name, sampler))

    async def sample(self, timeout: float = 3.0) -> None:
        """Refresh every sampled gauge; a failing sampler keeps its last values and counts an error."""
        async def one(name: str, sampler: Sampler) -> None:
            try:
                await asyncio.wait_for(sampler(), timeout)
            except Exception as exc:  # noqa: BLE001 - a scrape never fails because one source is down
                self.sampler_errors.add(1, {"sampler": name})
                log.debug("metrics sampler failed", extra={"fields": {"sampler": name, "error": repr(exc)[:200]}})

        await asyncio.gather(*(one(n, s) for n, s in self._samplers))

    async def run_sampling(self, stop: asyncio.Event, interval: float) -> None:
        """Sample every `interval` seconds until `stop` (keeps OTLP-exported gauges fresh without scrapes)."""
        while not stop.is_set():
            await self.sample()
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                pass

    def render(self) -> str:
        """Everything collected so far in the Prometheus text exposition format (0.0.4)."""
        data = self._reader.get_metrics_data()
        points: dict[str, list[object]] = {}
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    points.setdefault(metric.name, []).append(metric.data)
        service = {"service": self.service_name}
        lines: list[str] = []
        for family in sorted(self.families.values(), key=lambda f: f.name):
            exposed = family.name + ("_total" if family.kind == "counter" else "")
            lines.append(f"# HELP {exposed} {_escape_help(family.description)}")
            lines.append(f"# TYPE {exposed} {family.kind}")
            for metric_data in points.get(family.name, ()):
                lines.extend(_sample_lines(exposed, metric_data, service))
        return "\n".join(lines) + "\n"

    def shutdown(self, timeout_s: float = 2.0) -> None:
        """Flush the OTLP exporter (bounded: a collector that is down must not hold up a service's stop)."""
        self._provider.shutdown(timeout_millis=timeout_s * 1000)


def _sample_lines(exposed: str, data: object, constant: Mapping[str, str]) -> list[str]:
    lines: list[str] = []
    if isinstance(data, (Sum, Gauge)):
        for point in data.data_points:
            assert isinstance(point, NumberDataPoint)
            lines.append(f"{exposed}{_labels({**constant, **point.attributes})} {_number(point.value)}")
    elif hasattr(data, "data_points"):
        for point in data.data_points:  # type: ignore[attr-defined]
            if not isinstance(point, HistogramDataPoint):
                continue
            labels = {**constant, **point.attributes}
            cumulative = 0
            for bound, count in zip((*point.explicit_bounds, math.inf), point.bucket_counts, strict=True):
                cumulative += count
                lines.append(f"{exposed}_bucket{_labels({**labels, 'le': _number(bound)})} {cumulative}")
            lines.append(f"{exposed}_sum{_labels(labels)} {_number(point.sum)}")
            lines.append(f"{exposed}_count{_labels(labels)} {point.count}")
    return lines


def _labels(attributes: Mapping[str, object]) -> str:
    if not attributes:
        return ""
    body = ",".join(f'{_label_name(k)}="{_escape_value(str(v))}"' for k, v in attributes.items())
    return "{" + body + "}"


def _label_name(name: str) -> str:
    cleaned = re.sub(r"[^a-zA-Z0-9_]", "_", name)
    return cleaned if not cleaned[:1].isdigit() else "_" + cleaned


def _escape_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if value == math.inf:
        return "+Inf"
    if value == -math.inf:
        return "-Inf"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value)) if value != 0 or math.copysign(1, value) > 0 else "0"
    return repr(value)


def _metrics_url(endpoint: str) -> str:
    """Collector base URL (``http://otel:4318``) -> OTLP/HTTP metrics URL; full URLs kept."""
    if urlsplit(endpoint).path in ("", "/"):
        return endpoint.rstrip("/") + "/v1/metrics"
    return endpoint


def _otlp_reader(endpoint: str, interval_s: float) -> MetricReader:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    return PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=_metrics_url(endpoint), timeout=5),
                                         export_interval_millis=interval_s * 1000)


class Stopwatch:
    """Seconds since construction, on the monotonic clock."""

    def __init__(self) -> None:
        self._start = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self._start
