"""Background loops (relay, consumer) that are never silently gone: a loop that dies is logged and restarted."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def supervise(name: str, run: Callable[[asyncio.Event], Awaitable[None]], stop: asyncio.Event, *,
                    backoff: float = 1.0, max_backoff: float = 30.0) -> None:
    """Run `run(stop)` until `stop` is set; if it raises or returns before that, log it once and run it again."""
    delay = backoff
    while not stop.is_set():
        try:
            await run(stop)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background loop died; restarting", extra={"fields": {"loop": name, "retry_in_s": delay}})
        else:
            if stop.is_set():
                return
            log.error("background loop ended before stop; restarting",
                      extra={"fields": {"loop": name, "retry_in_s": delay}})
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
        except TimeoutError:
            pass
        delay = min(delay * 2, max_backoff)
