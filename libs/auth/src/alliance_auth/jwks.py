"""JWKS loading from a file or an http(s) URL, with caching and rate-limited refresh."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import httpx
from jwt import PyJWK, PyJWTError

from alliance_auth.errors import UNKNOWN_KEY, AuthError

ALLOWED_ALGORITHMS: Final = frozenset({"RS256", "ES256"})

log = logging.getLogger(__name__)


def parse_jwks(document: Any) -> dict[str | None, PyJWK]:
    """Return the usable public RS256/ES256 signing keys of a JWKS document by `kid`."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document")
    keys: dict[str | None, PyJWK] = {}
    for entry in document["keys"]:
        key = _parse_key(entry)
        if key is not None:
            keys[entry.get("kid")] = key
    return keys


def _parse_key(entry: Any) -> PyJWK | None:
    """Return a verification key for one JWK, or None if it is unusable here."""
    if not isinstance(entry, dict) or entry.get("use", "sig") != "sig" or "d" in entry:
        return None
    if not isinstance(entry.get("kid", ""), str):
        return None
    try:
        key = PyJWK(entry)
    except (PyJWTError, ValueError, TypeError, KeyError):
        log.warning("skipping unusable JWK kid=%r", entry.get("kid"))
        return None
    return key if key.algorithm_name in ALLOWED_ALGORITHMS else None


def _is_url(location: str) -> bool:
    """Return True if `location` is an http(s) URL."""
    return location.startswith(("http://", "https://"))


class JwksSource:
    """Signing keys from a JWKS file (re-read on mtime change) or URL (refetched on unknown kid)."""

    def __init__(
        self,
        location: str | os.PathLike[str],
        *,
        min_refresh_seconds: float = 60.0,
        timeout_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.location = os.fspath(location)
        self._url = self.location if _is_url(self.location) else None
        self._path = None if self._url else Path(self.location)
        self._min_refresh = min_refresh_seconds
        self._timeout = timeout_seconds
        self._clock = clock
        self._keys: dict[str | None, PyJWK] = {}
        self._file_stamp: tuple[int, int] | None = None
        self._last_fetch: float | None = None
        self._last_error: str | None = None
        self._thread_lock = threading.Lock()
        self._async_lock: asyncio.Lock | None = None

    @property
    def key_ids(self) -> frozenset[str | None]:
        """Key ids currently cached."""
        return frozenset(self._keys)

    def refresh(self) -> None:
        """Load the keys now, raising on any failure (for startup checks)."""
        if self._path is not None:
            self._read_file(force=True)
        else:
            self._last_fetch = self._clock()
            self._keys = parse_jwks(self._download())

    async def arefresh(self) -> None:
        """Load the keys now without blocking the event loop, raising on any failure."""
        if self._path is not None:
            self._read_file(force=True)
        else:
            self._last_fetch = self._clock()
            self._keys = parse_jwks(await self._adownload())

    def get_key(self, kid: str | None) -> PyJWK:
        """Return the key for `kid`, re-reading the file or refetching the URL (blocking) if due."""
        if self._path is not None:
            self._reload_file()
        elif self._fetch_due(kid):
            with self._thread_lock:
                if self._fetch_due(kid):
                    self._quietly(self.refresh)
        return self._lookup(kid)

    async def aget_key(self, kid: str | None) -> PyJWK:
        """Return the key for `kid`, refetching a URL JWKS asynchronously if due."""
        if self._path is not None:
            self._reload_file()
        elif self._fetch_due(kid):
            if self._async_lock is None:
                self._async_lock = asyncio.Lock()
            async with self._async_lock:
                if self._fetch_due(kid):
                    try:
                        await self.arefresh()
                    except (httpx.HTTPError, ValueError) as exc:
                        self._warn(exc)
        return self._lookup(kid)

    def _find(self, kid: str | None) -> PyJWK | None:
        """Return the cached key for `kid`; a token without kid matches a lone key."""
        if kid in self._keys:
            return self._keys[kid]
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return None

    def _lookup(self, kid: str | None) -> PyJWK:
        """Return the cached key for `kid` or fail with `unknown key`."""
        key = self._find(kid)
        if key is None:
            raise AuthError(UNKNOWN_KEY)
        return key

    def _fetch_due(self, kid: str | None) -> bool:
        """Return True if `kid` is unknown and the refresh interval has passed."""
        if self._find(kid) is not None:
            return False
        return self._last_fetch is None or self._clock() - self._last_fetch >= self._min_refresh

    def _download(self) -> Any:
        """Fetch and decode the JWKS document synchronously."""
        assert self._url is not None
        with httpx.Client(timeout=self._timeout) as client:
            response = client.get(self._url, headers={"Accept": "application/json"})
        response.raise_for_status()
        return response.json()

    async def _adownload(self) -> Any:
        """Fetch and decode the JWKS document asynchronously."""
        assert self._url is not None
        async with httpx.AsyncClient(timeout=self._timeout) as client:
            response = await client.get(self._url, headers={"Accept": "application/json"})
        response.raise_for_status()
        return response.json()

    def _reload_file(self) -> None:
        """Re-read the JWKS file if it changed, keeping the old keys on failure."""
        self._quietly(lambda: self._read_file(force=False))

    def _read_file(self, *, force: bool) -> None:
        """Parse the JWKS file unless its (mtime, size) stamp is unchanged."""
        assert self._path is not None
        stat = self._path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if force or stamp != self._file_stamp:
            self._keys = parse_jwks(json.loads(self._path.read_bytes()))
            self._file_stamp = stamp
            self._last_error = None

    def _quietly(self, load: Callable[[], None]) -> None:
        """Run a load, logging (once per distinct error) instead of raising."""
        try:
            load()
        except (OSError, httpx.HTTPError, ValueError) as exc:
            self._warn(exc)

    def _warn(self, exc: Exception) -> None:
        """Log a JWKS load failure unless it repeats the previous one."""
        message = f"{type(exc).__name__}: {exc}"
        if message != self._last_error:
            log.warning("loading JWKS from %s failed: %s", self.location, message)
            self._last_error = message
