"""Months by the service's own clock (China time) and growth bases (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cost_sharing.domain.periods import (
    Basis,
    PeriodError,
    compared_with,
    last_closed,
    previous_month,
)


def test_a_month_closes_at_midnight_china_time_plus_the_grace():
    # 2026-12-01 00:00 in Beijing is 2026-11-30 16:00 UTC
    assert last_closed(datetime(2026, 11, 30, 15, 59, tzinfo=UTC), timedelta(0)) == "2026-10"
    assert last_closed(datetime(2026, 11, 30, 16, 0, tzinfo=UTC), timedelta(0)) == "2026-11"
    assert last_closed(datetime(2026, 12, 1, 15, 59, tzinfo=UTC), timedelta(hours=24)) == "2026-10"
    assert last_closed(datetime(2026, 12, 1, 16, 0, tzinfo=UTC), timedelta(hours=24)) == "2026-11"


def test_growth_is_labelled_for_what_it_compares_with():
    assert compared_with("2026-01", Basis.YEAR_ON_YEAR) == "2025-01"
    assert compared_with("2026-01", Basis.MONTH_ON_MONTH) == "2025-12"
    assert previous_month("2026-03") == "2026-02"


def test_bad_periods_and_naive_clocks_are_refused():
    for bad in ("2026-13", "1899-12", "2200-01", "2026-1", "2026-01\x00"):
        with pytest.raises(PeriodError):
            previous_month(bad)
    with pytest.raises(PeriodError):
        last_closed(datetime(2026, 12, 1))
