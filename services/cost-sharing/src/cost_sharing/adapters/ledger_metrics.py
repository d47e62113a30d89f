"""Ledger and warning gauges for the scrape: head seq, last checkpoint seq and age, open warnings."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from alliance_telemetry.metrics import ServiceMetrics

from .orm import checkpoints, cost_warnings, ledger_head


def watch_ledger(metrics: ServiceMetrics, engine: AsyncEngine) -> None:
    """Declare the gauges and sample them from the database before every scrape."""
    head = metrics.gauge("alliance_ledger_head_seq", "Sequence number of the settlement ledger's chain head")
    signed = metrics.gauge("alliance_ledger_checkpoint_seq", "Sequence number the last signed checkpoint covers")
    age = metrics.gauge("alliance_ledger_checkpoint_age_seconds",
                        "Seconds since the last checkpoint was signed (absent before the first one)")
    warnings = metrics.gauge("alliance_warnings_open", "Cost warnings not closed, by level and state")

    async def sample() -> None:
        async with engine.connect() as conn:
            head_seq = await conn.scalar(select(func.max(ledger_head.c.seq))) or 0
            since = func.extract("epoch", func.now() - checkpoints.c.signed_at)
            last = (await conn.execute(select(checkpoints.c.seq, since)
                                       .order_by(checkpoints.c.seq.desc()).limit(1))).first()
            open_rows = (await conn.execute(
                select(cost_warnings.c.level, cost_warnings.c.state, func.count())
                .where(cost_warnings.c.state != "closed").group_by(cost_warnings.c.level, cost_warnings.c.state))).all()
        head.set(head_seq)
        signed.set(last[0] if last else 0)
        age.replace([({}, max(float(last[1]), 0.0))] if last else [])
        warnings.replace(({"level": level, "state": state}, n) for level, state, n in open_rows)

    metrics.add_sampler("ledger", sample)
