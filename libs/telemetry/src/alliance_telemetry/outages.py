"""Dependency outages in the log: one line when lost, a summary every so often while down, one when back.

`OUTAGES` is the process's registry. Code that fails to reach the database or the broker reports it
(`OUTAGES.failed("database", exc)`) instead of logging; code that reached it reports `recovered`.
`OutageLogFilter` (installed on the JSON handler by `setup_telemetry`) does the same for the client
libraries' own records (aiokafka logs every failed connection attempt at ERROR) and drops them.
While a dependency is down and a probe is registered for it, a watcher probes it every few seconds,
so the "back" line appears even when nothing else touches the dependency.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("alliance.outages")

Probe = Callable[[], Awaitable[Any]]
Listener = Callable[[str, bool], None]

# aiokafka's records that mean "the broker is not reachable" (it logs one per attempt, at ERROR)
_KAFKA_LOGGERS = ("aiokafka", "kafka")
_KAFKA_CONNECTION = re.compile(
    r"Unable connect|Unable to (request|update) metadata|Connect call failed|connection|NodeNotReady|"
    r"RequestTimedOut|timed ?out|coordinator dead|CoordinatorNotAvailable|NotCoordinator|Coordinator Request failed|"
    r"Failed fetch (messages|offsets)|Error sending|Heartbeat (send request failed|session expired)|"
    r"coordinator \(node|refused|reset by peer|broken pipe|NotLeaderForPartition|LeaderNotAvailable",
    re.IGNORECASE)  # not rebalances, authorisation or unknown topics: those are written as they come


@dataclass
class Outage:
    """One dependency that is down: since when, how many failed attempts, the last error."""

    since: datetime
    started: float
    attempts: int
    last_error: str
    last_summary: float
    answered_at: float | None = None    # answered again at; "back" is logged once it stays up `settle` s


class Outages:
    """Per-dependency outage state and the log lines that go with its changes (thread-safe)."""

    def __init__(self, summary_every: float = 30.0, probe_every: float = 2.0, settle: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.summary_every = summary_every
        self.probe_every = probe_every
        self.settle = settle        # a reconnecting client's last errors do not make a new outage
        self._clock = clock
        self._lock = threading.RLock()
        self._down: dict[str, Outage] = {}
        self._probes: dict[str, Probe] = {}
        self._watchers: dict[str, asyncio.Task] = {}
        self._listeners: list[Listener] = []
        # which dependency an exception says is unreachable (None: not an outage); set by the service kit
        self.classify: Callable[[BaseException], str | None] | None = None

    # -- reporting -------------------------------------------------------------------------------
    def failed(self, name: str, error: BaseException | str) -> None:
        """An attempt to use `name` failed for lack of it (not for the request's content)."""
        text = _describe(error)
        now = self._clock()
        with self._lock:
            outage = self._down.get(name)
            revived = outage is not None and outage.answered_at is not None
            if outage is None:
                self._down[name] = Outage(datetime.now(UTC), now, 1, text, now)
                first = True
            else:
                outage.attempts += 1
                outage.last_error = text
                outage.answered_at = None       # it had answered, but not for long: the same outage goes on
                first = False
                due = now - outage.last_summary >= self.summary_every
                if due:
                    outage.last_summary = now
                    snapshot = (round(now - outage.started), outage.attempts, text)
        if first:
            log.warning("%s unavailable", name,
                        extra={"fields": {"dependency": name, "event": "dependency_lost", "error": text}})
            self._notify(name, False)
            self._watch(name)
            return
        if revived:
            self._notify(name, False)
        if due:
            down_for, attempts, text = snapshot
            log.warning("%s unavailable for %d s, %d attempts", name, down_for, attempts,
                        extra={"fields": {"dependency": name, "event": "dependency_down", "down_s": down_for,
                                          "attempts": attempts, "error": text}})

    def recovered(self, name: str) -> None:
        """`name` answered again (cheap when it was not down). With a watcher running, "back" is logged once
        it has stayed up for `settle` seconds; failures before that continue the same outage."""
        outage = self._down.get(name)
        if outage is None or outage.answered_at is not None:
            return
        with self._lock:
            outage.answered_at = self._clock()
        self._notify(name, True)
        watcher = self._watchers.get(name)
        if watcher is None or watcher.done() or self.settle <= 0:
            self._back(name)

    def _back(self, name: str) -> None:
        with self._lock:
            outage = self._down.get(name)
            if outage is None or outage.answered_at is None:
                return
            del self._down[name]
        down_for = round(outage.answered_at - outage.started, 1)
        log.warning("%s available again after %s s, %d failed attempts", name, down_for, outage.attempts,
                    extra={"fields": {"dependency": name, "event": "dependency_back", "down_s": down_for,
                                      "attempts": outage.attempts}})

    # -- inspection --------------------------------------------------------------------------------
    def is_down(self, name: str) -> bool:
        outage = self._down.get(name)
        return outage is not None and outage.answered_at is None

    def status(self) -> dict[str, dict[str, Any]]:
        """The dependencies that are down now: since when, attempts, last error."""
        with self._lock:
            return {n: {"since": o.since.isoformat(timespec="seconds"), "attempts": o.attempts,
                        "last_error": o.last_error} for n, o in self._down.items() if o.answered_at is None}

    # -- probes and listeners ------------------------------------------------------------------------
    def register_probe(self, name: str, probe: Probe) -> None:
        """While `name` is down, call `probe` every `probe_every` seconds; success means it is back."""
        self._probes[name] = probe

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """`listener(name, available)` on every change; returns a function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _notify(self, name: str, available: bool) -> None:
        for listener in list(self._listeners):
            try:
                listener(name, available)
            except Exception:  # noqa: BLE001 - a listener never breaks the reporter
                log.debug("outage listener failed", exc_info=True)

    def _watch(self, name: str) -> None:
        if name in self._watchers and not self._watchers[name].done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._watchers[name] = loop.create_task(self._watcher(name), name=f"outage-watch-{name}")

    async def _watcher(self, name: str) -> None:
        while (outage := self._down.get(name)) is not None:
            await asyncio.sleep(self.probe_every)
            if outage.answered_at is not None:
                if self._clock() - outage.answered_at >= self.settle:
                    self._back(name)
                continue
            probe = self._probes.get(name)
            if probe is None:
                continue
            try:
                await asyncio.wait_for(probe(), self.probe_every + 3)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - still down
                self.failed(name, exc)
            else:
                self.recovered(name)

    async def close(self) -> None:
        """Stop the watchers (tests; process exit)."""
        for task in list(self._watchers.values()):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        self._watchers.clear()

    def reset(self) -> None:
        """Forget every outage (tests)."""
        with self._lock:
            self._down.clear()


def _describe(error: BaseException | str) -> str:
    if isinstance(error, str):
        return error[:300]
    return f"{type(error).__name__}: {error}"[:300]


OUTAGES = Outages()


class OutageLogFilter(logging.Filter):
    """Turns per-attempt connection errors into outage reports: such records are counted, not written.

    Catches aiokafka's own connection-failure records (any aiokafka/kafka logger, WARNING and above), records
    that carry `extra={"dependency": name}`, and records whose exception the registry's `classify` names as an
    outage (e.g. a periodic job logging "tick failed" with the traceback of a refused database connection).
    """

    def __init__(self, outages: Outages | None = None) -> None:
        super().__init__()
        self.outages = outages or OUTAGES

    def filter(self, record: logging.LogRecord) -> bool:
        dependency = getattr(record, "dependency", None)
        if dependency is None and record.levelno >= logging.WARNING and record.name.split(".")[0] in _KAFKA_LOGGERS:
            if _KAFKA_CONNECTION.search(_text(record)):
                dependency = "kafka"
        if dependency is None and record.exc_info and record.exc_info[1] is not None and self.outages.classify:
            try:
                dependency = self.outages.classify(record.exc_info[1])
            except Exception:  # noqa: BLE001 - classifying never loses the record
                dependency = None
        if dependency is None:
            return True
        self.outages.failed(str(dependency), _text(record)[:300])
        return False


def _text(record: logging.LogRecord) -> str:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken %-format
        message = str(record.msg)
    if record.exc_info and record.exc_info[1] is not None:
        message += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
    return message


def install_outage_filter(handler: logging.Handler) -> None:
    """Add the outage filter to `handler` once."""
    if not any(isinstance(f, OutageLogFilter) for f in handler.filters):
        handler.addFilter(OutageLogFilter())
