from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from cost_sharing.domain.indicators import Breach
from cost_sharing.domain.warnings import (
    CostWarning,
    WarningAnswered,
    WarningClosed,
    WarningError,
    WarningRaised,
    WarningState,
    add_working_days,
)

CST = timezone(timedelta(hours=8))
MONDAY = datetime(2026, 3, 2, 9, 30, tzinfo=CST)
FRIDAY = datetime(2026, 3, 6, 16, 0, tzinfo=CST)
BREACH = Breach("H001", "2026-02", "cost_growth", "yellow", Decimal("0.085"), Decimal("0.08"),
                "cost per visit grew 8.5% (100.00 → 108.50 yuan), above the 8% yellow threshold")


def raised(now=MONDAY, **kw) -> CostWarning:
    return CostWarning.raise_("W-1", BREACH, now, **kw)


# --------------------------------------------------------------------------- working days


def test_three_working_days_from_monday_is_thursday_at_the_same_time():
    assert add_working_days(MONDAY, 3) == datetime(2026, 3, 5, 9, 30, tzinfo=CST)


def test_weekends_are_skipped():
    assert add_working_days(FRIDAY, 3) == datetime(2026, 3, 11, 16, 0, tzinfo=CST)


def test_a_start_on_a_weekend_counts_from_the_next_working_day():
    saturday = datetime(2026, 3, 7, 10, 0, tzinfo=CST)
    assert add_working_days(saturday, 1) == datetime(2026, 3, 9, 10, 0, tzinfo=CST)


def test_holidays_are_skipped():
    labour_day = frozenset({date(2026, 5, 1), date(2026, 5, 4), date(2026, 5, 5)})
    thursday = datetime(2026, 4, 30, 11, 0, tzinfo=CST)
    assert add_working_days(thursday, 3, labour_day) == datetime(2026, 5, 8, 11, 0, tzinfo=CST)


def test_a_weekend_make_up_working_day_counts():
    friday = datetime(2026, 4, 24, 11, 0, tzinfo=CST)
    make_up_sunday = frozenset({date(2026, 4, 26)})
    assert add_working_days(friday, 1, extra_workdays=make_up_sunday) == datetime(
        2026, 4, 26, 11, 0, tzinfo=CST)


def test_zero_working_days_is_the_start_itself():
    assert add_working_days(FRIDAY, 0) == FRIDAY


def test_negative_working_days_are_refused():
    with pytest.raises(WarningError) as err:
        add_working_days(MONDAY, -1)
    assert err.value.field == "days"


# --------------------------------------------------------------------------- raising


def test_raising_copies_the_breach_sets_the_deadline_and_records_an_event():
    w = raised(FRIDAY)
    assert w.state is WarningState.RAISED
    assert (w.hospital_id, w.period, w.indicator, w.level) == (
        "H001", "2026-02", "cost_growth", "yellow")
    assert (w.value, w.threshold) == (Decimal("0.085"), Decimal("0.08"))
    assert w.message == BREACH.message
    assert w.raised_at == FRIDAY
    assert w.answer_due == datetime(2026, 3, 11, 16, 0, tzinfo=CST)
    assert w.events == [WarningRaised("W-1", FRIDAY, "H001", "2026-02", "cost_growth", "yellow",
                                      Decimal("0.085"), Decimal("0.08"), w.answer_due)]


def test_raising_respects_holidays():
    w = raised(MONDAY, holidays=frozenset({date(2026, 3, 3)}))
    assert w.answer_due == datetime(2026, 3, 6, 9, 30, tzinfo=CST)


def test_a_naive_clock_is_refused():
    with pytest.raises(WarningError) as err:
        CostWarning.raise_("W-1", BREACH, datetime(2026, 3, 2, 9, 30))
    assert err.value.field == "now"


# --------------------------------------------------------------------------- answering


def test_the_warned_hospital_answers_with_cause_and_remedy_on_time():
    w = raised()
    at = w.answer_due
    cause, remedy = "new cardiac cath lab opened", "bulk-buy stents via the alliance"
    w.answer("H001", cause, remedy, at)
    assert w.state is WarningState.ANSWERED
    assert (w.cause, w.remedy) == (cause, remedy)
    assert (w.answered_by, w.answered_at, w.answered_late) == ("H001", at, False)
    assert w.events[-1] == WarningAnswered("W-1", at, "H001", cause, remedy, False)


def test_a_late_answer_is_accepted_and_marked_late():
    w = raised()
    late = w.answer_due + timedelta(seconds=1)
    assert w.is_overdue(late)
    w.answer("H001", "cause", "remedy", late)
    assert w.answered_late and w.events[-1].late
    assert not w.is_overdue(late)


def test_another_hospital_cannot_answer():
    w = raised()
    with pytest.raises(WarningError) as err:
        w.answer("H002", "cause", "remedy", MONDAY)
    assert err.value.field == "by_hospital"
    assert w.state is WarningState.RAISED and len(w.events) == 1


@pytest.mark.parametrize("cause, remedy, field_name", [
    ("", "remedy", "cause"),
    ("cause", "   ", "remedy"),
    (None, "remedy", "cause"),
    ("x" * 2001, "remedy", "cause"),
])
def test_an_answer_needs_a_cause_and_a_remedy(cause, remedy, field_name):
    w = raised()
    with pytest.raises(WarningError) as err:
        w.answer("H001", cause, remedy, MONDAY)
    assert err.value.field == field_name
    assert isinstance(err.value, ValueError)


def test_a_warning_cannot_be_answered_twice():
    w = raised()
    w.answer("H001", "cause", "remedy", MONDAY)
    with pytest.raises(WarningError) as err:
        w.answer("H001", "cause", "remedy", MONDAY)
    assert err.value.field == "state"


def test_an_answer_before_the_warning_was_raised_is_refused():
    with pytest.raises(WarningError) as err:
        raised().answer("H001", "cause", "remedy", MONDAY - timedelta(minutes=1))
    assert err.value.field == "now"


# --------------------------------------------------------------------------- closing


def test_an_answered_warning_is_closed_by_the_alliance():
    w = raised()
    w.answer("H001", "cause", "remedy", MONDAY)
    at = MONDAY + timedelta(days=1)
    w.close("alliance-admin-li", at, " remedy accepted ")
    assert w.state is WarningState.CLOSED
    assert (w.closed_by, w.closed_at, w.close_note) == ("alliance-admin-li", at, "remedy accepted")
    assert [type(e) for e in w.events] == [WarningRaised, WarningAnswered, WarningClosed]
    assert w.events[-1] == WarningClosed("W-1", at, "alliance-admin-li", "remedy accepted")


def test_an_unanswered_warning_cannot_be_closed():
    with pytest.raises(WarningError) as err:
        raised().close("alliance-admin-li", MONDAY)
    assert err.value.field == "state"


def test_a_closed_warning_cannot_be_answered_or_closed_again():
    w = raised()
    w.answer("H001", "cause", "remedy", MONDAY)
    w.close("alliance-admin-li", MONDAY)
    with pytest.raises(WarningError):
        w.answer("H001", "cause", "remedy", MONDAY)
    with pytest.raises(WarningError):
        w.close("alliance-admin-li", MONDAY)
    assert len(w.events) == 3


def test_closing_needs_someone_to_close():
    w = raised()
    w.answer("H001", "cause", "remedy", MONDAY)
    with pytest.raises(WarningError) as err:
        w.close(" ", MONDAY)
    assert err.value.field == "by"


# --------------------------------------------------------------------------- overdue


def test_a_warning_is_overdue_only_after_the_deadline_while_unanswered():
    w = raised()
    assert not w.is_overdue(w.answer_due)
    assert w.is_overdue(w.answer_due + timedelta(microseconds=1))


def test_overdue_is_judged_across_time_zones():
    w = raised()
    due_in_utc = w.answer_due.astimezone(UTC)
    assert not w.is_overdue(due_in_utc)
    assert w.is_overdue(due_in_utc + timedelta(seconds=1))


# --------------------------------------------------------------------------- storage


def test_a_stored_warning_is_rehydrated_and_keeps_its_rules():
    row = {"warning_id": "W-1", "hospital_id": "H001", "period": "2026-02",
           "indicator": "cost_growth", "level": "yellow", "value": Decimal("0.085000"),
           "threshold": Decimal("0.080000"), "message": "m", "state": "raised",
           "raised_at": MONDAY, "answer_due": add_working_days(MONDAY, 3), "cause": None,
           "remedy": None, "answered_by": None, "answered_at": None, "answered_late": None,
           "closed_by": None, "closed_at": None, "note": None, "created_at": MONDAY}
    w = CostWarning.from_row(row)
    assert w.state is WarningState.RAISED and w.events == [] and not w.answered_late
    with pytest.raises(WarningError):
        w.answer("H002", "cause", "remedy", MONDAY)
    w.answer("H001", "cause", "remedy", MONDAY)
    assert w.state is WarningState.ANSWERED and len(w.events) == 1


def test_a_stored_warning_with_an_unknown_state_is_refused():
    with pytest.raises(WarningError) as err:
        CostWarning.from_row({"warning_id": "W-1", "state": "lost"})
    assert err.value.field == "state"
