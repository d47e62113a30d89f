"""In-stay DRG monitoring: thresholds crossed once, snapshots idempotent, discharge closes (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from cost_sharing.domain import drg
from cost_sharing.domain.stay_monitor import (
    Stage,
    Stay,
    StayAlert,
    StayClosed,
    StayError,
    StayFacts,
    alert_id,
)

TABLE = drg.load_sample_table()
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
STANDARD = 1_275_000            # FM15 (I21.900 + 36.06): RW 1.5 × 8,500 yuan, no hospital rule for H009


def _stay() -> Stay:
    return Stay("H009/V1", "H009", admitted_at=T0, department="cardiology")


def _facts(hours: int, cost: int, procedures=("36.06",), principal="I21.900") -> StayFacts:
    return StayFacts(T0 + timedelta(hours=hours), cost, principal, (), procedures, "cardiology")


def test_a_stay_crossing_80_and_110_percent_raises_each_alert_once():
    stay = _stay()
    assert stay.record(_facts(1, 500_000), TABLE) == []
    [warn] = stay.record(_facts(2, 1_020_000), TABLE)            # exactly 80%
    assert (warn.stage, warn.level, warn.drg, warn.standard_cost_fen) == (Stage.WARNING, "yellow", "FM15", STANDARD)
    assert warn.ratio == Decimal("0.8000") and warn.alert_id == alert_id("H009/V1", Stage.WARNING)
    assert stay.record(_facts(3, 1_100_000), TABLE) == []         # still between 80% and 110%
    [stop] = stay.record(_facts(4, 1_402_500), TABLE)             # exactly 110%
    assert (stop.stage, stop.level, stop.at) == (Stage.INTERVENTION, "red", T0 + timedelta(hours=4))
    assert stay.record(_facts(5, 2_000_000), TABLE) == []
    assert [e.stage for e in stay.events if isinstance(e, StayAlert)] == [Stage.WARNING, Stage.INTERVENTION]


def test_just_below_a_threshold_raises_nothing():
    stay = _stay()
    assert stay.record(_facts(1, 1_019_999), TABLE) == []
    assert [a.stage for a in stay.record(_facts(2, 1_402_499), TABLE)] == [Stage.WARNING]


def test_a_jump_past_both_thresholds_raises_both():
    assert [a.stage for a in _stay().record(_facts(1, 1_500_000), TABLE)] == [Stage.WARNING, Stage.INTERVENTION]


def test_a_redelivered_or_older_snapshot_changes_nothing():
    stay = _stay()
    stay.record(_facts(2, 1_100_000), TABLE)
    assert stay.record(_facts(2, 1_100_000), TABLE) == []         # the same snapshot again
    assert stay.record(_facts(1, 1_500_000), TABLE) == []         # an older one arriving late
    assert stay.cost_fen == 1_100_000


def test_the_provisional_drg_follows_the_coding():
    stay = _stay()
    [warn] = stay.record(_facts(1, 600_000, procedures=()), TABLE)   # FT15, standard 680,000: 88%
    assert (warn.drg, warn.standard_cost_fen) == ("FT15", 680_000)
    assert stay.record(_facts(2, 700_000), TABLE) == []              # PCI coded: FM15, 55% — nothing to raise
    assert (stay.drg, stay.standard_cost_fen) == ("FM15", STANDARD)


def test_no_alert_without_a_groupable_coding_or_a_table():
    stay = _stay()
    assert stay.record(_facts(1, 9_000_000, principal=""), TABLE) == []
    assert stay.record(_facts(2, 9_000_000), None) == []
    assert stay.standard_cost_fen is None


def test_discharge_closes_the_in_stay_alerts_once():
    stay = _stay()
    stay.record(_facts(1, 1_100_000), TABLE)
    [closed] = stay.discharge(_facts(48, 1_200_000), TABLE)         # 94%: not above 130%
    assert isinstance(closed, StayClosed) and closed.closed_alerts == (alert_id("H009/V1", Stage.WARNING),)
    assert closed.ratio == Decimal("0.9412") and not stay.is_open
    assert stay.discharge(_facts(49, 9_000_000), TABLE) == []       # a repeated discharge
    assert stay.record(_facts(50, 9_000_000), TABLE) == []          # a late update after discharge


def test_above_130_percent_at_discharge_raises_the_approval_alert():
    stay = _stay()
    above, closed = stay.discharge(_facts(48, 1_657_501), TABLE)    # just above 130%
    assert isinstance(above, StayAlert) and above.stage is Stage.ABOVE_APPROVAL and above.level == "red"
    assert isinstance(closed, StayClosed) and closed.closed_alerts == ()
    [closed] = _stay().discharge(_facts(48, 1_657_500), TABLE)      # exactly 130% is not above it
    assert isinstance(closed, StayClosed)


def test_facts_refuse_floats_negative_costs_and_naive_times():
    with pytest.raises(StayError):
        StayFacts(T0, 1.5)  # type: ignore[arg-type]
    with pytest.raises(StayError):
        StayFacts(T0, -1)
    with pytest.raises(StayError):
        StayFacts(datetime(2026, 11, 2), 1)
    with pytest.raises(StayError):
        Stay("", "H009")
