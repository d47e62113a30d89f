"""A supervised background loop is restarted when it dies or ends early, logged once per death."""

from __future__ import annotations

import asyncio
import logging

from alliance_messaging import supervise


async def test_a_loop_that_dies_is_logged_and_restarted_until_stop(caplog):
    stop = asyncio.Event()
    runs = 0

    async def flaky(stop: asyncio.Event) -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("boom")
        if runs == 2:
            return                                  # ended without being asked to
        await stop.wait()

    with caplog.at_level(logging.ERROR, logger="alliance_messaging.supervise"):
        task = asyncio.create_task(supervise("relay", flaky, stop, backoff=0.01))
        for _ in range(200):
            if runs == 3:
                break
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, 2)
    assert runs == 3
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["background loop died; restarting", "background loop ended before stop; restarting"]


async def test_a_loop_that_returns_after_stop_is_not_restarted():
    stop = asyncio.Event()
    runs = 0

    async def polite(stop: asyncio.Event) -> None:
        nonlocal runs
        runs += 1
        stop.set()

    await asyncio.wait_for(supervise("consumer", polite, stop, backoff=0.01), 2)
    assert runs == 1
