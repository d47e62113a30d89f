"""Shared pieces of the demo: the progress display, tokens, HTTP calls that fail loudly, money, HL7 and the
figures the final report is built from (every figure there is copied from an API response)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx

from alliance_auth.dev import DevKeys

REGISTRY = "http://127.0.0.1:8081"
REFERRAL = "http://127.0.0.1:8082/v1"
PROCUREMENT = "http://127.0.0.1:8083/v1"
COST_SHARING = "http://127.0.0.1:8084/v1"
RECOGNITION = "http://127.0.0.1:8085/v1"
CHINA = timezone(timedelta(hours=8))


class DemoFailure(RuntimeError):
    """A call answered something the scenario cannot go on from; carries the request and the response."""


class Progress:
    """Numbered step headers with the elapsed time, and one indented line per action."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.steps = 0

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def step(self, text: str) -> None:
        self.steps += 1
        print(f"\n== [{self.steps:02d} | {self.elapsed():5.1f}s] {text}", flush=True)


PROGRESS = Progress()


def step(text: str) -> None:
    PROGRESS.step(text)


def say(text: str) -> None:
    print(f"  {text}", flush=True)


class Tokens:
    """Bearer headers for the roles of the story (development keys in .local/keys)."""

    def __init__(self, keys: DevKeys, ttl: int = 1800) -> None:
        self.keys, self.ttl = keys, ttl
        self._cache: dict[tuple, dict[str, str]] = {}

    def _get(self, sub: str, roles: list[str], hospital_id: str | None = None) -> dict[str, str]:
        key = (sub, tuple(roles), hospital_id)
        if key not in self._cache:
            token = self.keys.issue(sub, hospital_id=hospital_id, roles=roles, ttl=self.ttl)
            self._cache[key] = {"Authorization": f"Bearer {token}"}
        return self._cache[key]

    def admin(self, sub: str = "demo-admin") -> dict[str, str]:
        return self._get(sub, ["alliance_admin"])

    def hospital(self, hospital_id: str) -> dict[str, str]:
        return self._get(f"his-{hospital_id.lower()}", ["hospital"], hospital_id)

    def supplier(self, supplier_id: str) -> dict[str, str]:
        return self._get(supplier_id, ["supplier"])

    def qc(self) -> dict[str, str]:
        return self._get("qc-centre", ["qc_center"])

    def regulator(self) -> dict[str, str]:
        return self._get("regulator-1", ["regulator"])


async def call(http: httpx.AsyncClient, method: str, url: str, *, ok: tuple[int, ...] = (200, 201),
               **kwargs: Any) -> httpx.Response:
    """One request; an unexpected status stops the demo with the request and the response."""
    try:
        r = await http.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise DemoFailure(f"{method} {url} failed: {exc!r} (is the service up? `make up`)") from exc
    if r.status_code not in ok:
        sent = kwargs.get("json", kwargs.get("content", ""))
        if isinstance(sent, bytes):
            sent = sent.decode("utf-8", "replace")
        raise DemoFailure(f"{method} {url} -> {r.status_code}\n  request: {str(sent)[:600]}\n"
                          f"  response: {r.text[:1200]}")
    return r


async def poll(what: str, probe: Callable[[], Awaitable[Any]], timeout: float = 30.0,
               interval: float = 0.3) -> Any:
    """Call probe until it returns something truthy; DemoFailure after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = await probe()
        if got:
            return got
        if time.monotonic() > deadline:
            raise DemoFailure(f"gave up waiting {timeout:.0f}s for {what}")
        await asyncio.sleep(interval)


def yuan(fen: int | str) -> str:
    """Integer fen as yuan with thousands separators: 10000001 -> '100,000.01'."""
    fen = int(fen)
    sign, fen = ("-" if fen < 0 else ""), abs(fen)
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


def pct(ratio: str | Decimal) -> str:
    return f"{Decimal(ratio) * 100:.1f}%"


def hl7_time(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y%m%d%H%M%S+0800")


def now_utc() -> datetime:
    return datetime.now(UTC)


RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def synthetic_resident_id(region: str, birth: date, sequence: int) -> str:
    """An 18-character resident ID with a valid GB 11643 check character, for synthetic patients only."""
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, RESIDENT_ID_WEIGHTS, strict=True)) % 11]


def segment(name: str, fields: dict[int, str]) -> str:
    """An HL7 segment from {field number: value}; missing fields are empty."""
    return "|".join([name, *(fields.get(i, "") for i in range(1, max(fields) + 1))])


class Report:
    """Figures gathered along the way (each copied from an API response), printed by section at the end."""

    ORDER = ("Procurement", "Referrals", "Results reuse", "Settlement", "Netting", "Ledger", "Warnings", "Scorecard")

    def __init__(self) -> None:
        self.sections: dict[str, list[str]] = {}

    def add(self, section: str, text: str) -> None:
        self.sections.setdefault(section, []).append(text)

    def print(self, elapsed: float) -> None:
        names = [s for s in self.ORDER if s in self.sections] + [s for s in self.sections if s not in self.ORDER]
        width = max((len(s) for s in names), default=10)
        print("\n" + "=" * 100)
        print(f"ALLIANCE REPORT — every figure below is from the services' answers (run took {elapsed:.1f} s)")
        print("=" * 100)
        for name in names:
            for i, text in enumerate(self.sections[name]):
                print(f"{name if i == 0 else '':<{width}}  {text}")
        print("=" * 100)
