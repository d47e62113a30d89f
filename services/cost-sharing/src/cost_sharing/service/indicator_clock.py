"""Monthly indicators by the service's own clock: a month that has closed is evaluated once, with no human step.

The closed month's per-visit indicators are computed against the same month a year before (the documents' 8%/10%
growth rule, raised as ``cost_growth_yoy``) and the cost index against the region; breaches become warnings on the
board and ``WarningRaised`` events. ``indicator_evaluations`` (primary key: the period) makes each month close once,
whichever replica's tick gets there first (an advisory lock keeps the others out meanwhile).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, literal_column, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from alliance.cost_sharing.v1 import settlement_pb2 as pb
from alliance_messaging import proto_time
from alliance_service import UnitOfWork

from ..adapters import ledger_store
from ..adapters.orm import cost_warnings, encounters, indicator_evaluations, member_hospitals
from ..domain.indicators import Visit, breaches, compute_indicators
from ..domain.periods import Basis, compared_with, last_closed
from ..domain.warnings import CostWarning

log = logging.getLogger(__name__)
TOPIC = ledger_store.TOPIC
CLOCK_LOCK = 0x1D1CA7   # advisory lock: one replica closes a month at a time


async def evaluate_closed_month(uow: UnitOfWork, period: str, now: datetime) -> list[str] | None:
    """Evaluate `period` year on year once; the warning ids raised, or None when it was evaluated before."""
    claimed = await uow.conn.execute(pg_insert(indicator_evaluations).values(
        period=period, basis=Basis.YEAR_ON_YEAR.value, compared_with=compared_with(period, Basis.YEAR_ON_YEAR),
        evaluated_at=now).on_conflict_do_nothing().returning(indicator_evaluations.c.period))
    if claimed.first() is None:
        return None
    before = compared_with(period, Basis.YEAR_ON_YEAR)
    regions = {h: (code or "")[:4] for h, code in (await uow.conn.execute(
        select(member_hospitals.c.hospital_id, member_hospitals.c.region_code))).all()}
    rows = (await uow.conn.execute(select(encounters).where(encounters.c.period.in_([period, before])))).all()
    visits = [Visit(r.hospital_id, regions.get(r.hospital_id) or "unassigned", r.period, r.patient_class, r.total_fen,
                    r.drugs_fen, r.consumables_fen) for r in rows]
    return await raise_warnings(uow, breaches(compute_indicators(visits, period, before), year_on_year=True), now)


async def raise_warnings(uow: UnitOfWork, found: Iterable, now: datetime) -> list[str]:
    """Store each breach as a warning (one per hospital, period and indicator) and publish WarningRaised."""
    raised = []
    for b in found:
        w = CostWarning.raise_(f"W-{uuid.uuid4().hex[:12].upper()}", b, now)
        done = await uow.conn.execute(pg_insert(cost_warnings).values(
            warning_id=w.warning_id, hospital_id=w.hospital_id, period=w.period, indicator=w.indicator,
            level=w.level, value=w.value, threshold=w.threshold, message=w.message, state=w.state.value,
            raised_at=w.raised_at, answer_due=w.answer_due).on_conflict_do_nothing()
            .returning(cost_warnings.c.warning_id))
        if done.first() is None:
            continue
        raised.append(w.warning_id)
        uow.publish(TOPIC, w.hospital_id, pb.WarningRaised(
            warning_id=w.warning_id, hospital_id=w.hospital_id, period=w.period, indicator=w.indicator,
            level=w.level, value=str(w.value), threshold=str(w.threshold), message=w.message,
            answer_due=proto_time(w.answer_due), occurred_at=proto_time(now)))
    return raised


class IndicatorClock:
    """Closes the last month once its grace has passed, every `interval` seconds; one replica at a time."""

    def __init__(self, make_uow: Callable[[], UnitOfWork], interval: float, grace: timedelta) -> None:
        self._make_uow, self._interval, self._grace = make_uow, interval, grace
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="indicator-clock")

    async def stop(self) -> None:
        self._stop.set()
        if self._task:
            await self._task

    async def tick(self, now: datetime | None = None) -> list[str] | None:
        """Close the last closed month if nobody has; the warnings raised (None: nothing to do)."""
        now = now or datetime.now(UTC)
        uow = self._make_uow()
        async with uow:
            got = await uow.conn.execute(select(func.pg_try_advisory_xact_lock(literal_column(str(CLOCK_LOCK)))))
            if not got.scalar():
                return None
            await uow.conn.execute(text("SET LOCAL lock_timeout = '5s'"))
            period = last_closed(now, self._grace)
            raised = await evaluate_closed_month(uow, period, now)
            await uow.commit()
        if raised is not None:
            log.info("month closed by the clock", extra={"period": period, "warnings": len(raised)})
        return raised

    async def _run(self) -> None:
        # the first look is one interval after start: consumers catch up on the closed month's late events first
        while True:
            try:
                await asyncio.wait_for(self._stop.wait(), self._interval)
                return
            except TimeoutError:
                pass
            try:
                await self.tick()
            except Exception:  # the database may be restarting: try again next tick
                log.warning("indicator clock tick failed; retrying", exc_info=True)
