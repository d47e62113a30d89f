"""Cost warnings (成本预警): raised on a breach, answered by the hospital, closed by the alliance.

Decisions that are part of the contract:

* The warned hospital must answer with a cause and a remedy within 3 working days: the deadline
  is the same clock time 3 working days after the warning was raised. Saturdays, Sundays and the
  given holidays are not working days; ``extra_workdays`` are weekend days worked instead
  (调休上班). Days are judged on the datetime's own calendar, so pass local (UTC+8) times.
* A late answer is accepted and marked ``answered_late``; at the deadline itself it is on time.
* Only the warned hospital answers; closing is the alliance's (the edge checks the role).
* Every transition appends an event to ``events``; illegal ones raise :class:`WarningError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from .errors import DomainError
from .indicators import Breach

ANSWER_WORKING_DAYS = 3
MAX_TEXT = 2000


class WarningState(StrEnum):
    """Where a warning is in its lifecycle."""

    RAISED = "raised"
    ANSWERED = "answered"
    CLOSED = "closed"


class WarningError(DomainError):
    """A warning command is invalid or not allowed now; names the offending field."""


def _is_working_day(day: date, holidays: frozenset[date], extra_workdays: frozenset[date]) -> bool:
    if day in extra_workdays:
        return True
    return day.weekday() < 5 and day not in holidays


def add_working_days(
    start: datetime,
    days: int,
    holidays: frozenset[date] = frozenset(),
    *,
    extra_workdays: frozenset[date] = frozenset(),
) -> datetime:
    """The same clock time ``days`` working days after ``start`` (weekends and holidays skipped)."""
    if not isinstance(start, datetime):
        raise WarningError("start", "must be a datetime")
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise WarningError("days", "must be a non-negative integer")
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if _is_working_day(current.date(), holidays, extra_workdays):
            remaining -= 1
    return current


def _aware(value: object, name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise WarningError(name, "must be a timezone-aware datetime")
    return value


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise WarningError(name, "is required and must not be blank")
    text = value.strip()
    if len(text) > MAX_TEXT:
        raise WarningError(name, f"must be at most {MAX_TEXT} characters")
    return text


@dataclass(frozen=True, slots=True)
class WarningEvent:
    """Base of everything that happened to a warning."""

    warning_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class WarningRaised(WarningEvent):
    """A hospital was warned about an indicator."""

    hospital_id: str
    period: str
    indicator: str
    level: str
    value: Decimal
    threshold: Decimal
    answer_due: datetime


@dataclass(frozen=True, slots=True)
class WarningAnswered(WarningEvent):
    """The hospital gave a cause and a remedy."""

    hospital_id: str
    cause: str
    remedy: str
    late: bool


@dataclass(frozen=True, slots=True)
class WarningClosed(WarningEvent):
    """The alliance closed the warning after reading the answer."""

    closed_by: str
    note: str


@dataclass(eq=False)
class CostWarning:
    """A warning to one hospital about one indicator in one period."""

    warning_id: str
    hospital_id: str
    period: str
    indicator: str
    level: str
    value: Decimal
    threshold: Decimal
    message: str
    state: WarningState
    raised_at: datetime
    answer_due: datetime
    cause: str | None = None
    remedy: str | None = None
    answered_by: str | None = None
    answered_at: datetime | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None
    events: list[WarningEvent] = field(default_factory=list)
    answered_late: bool = False
    close_note: str | None = None

    @classmethod
    def raise_(
        cls,
        warning_id: str,
        breach: Breach,
        now: datetime,
        holidays: frozenset[date] = frozenset(),
        *,
        extra_workdays: frozenset[date] = frozenset(),
    ) -> CostWarning:
        """Raise a warning for a breach; the answer is due in 3 working days."""
        warning_id = _text(warning_id, "warning_id")
        if not isinstance(breach, Breach):
            raise WarningError("breach", "must be a Breach")
        now = _aware(now, "now")
        due = add_working_days(now, ANSWER_WORKING_DAYS, holidays, extra_workdays=extra_workdays)
        warning = cls(
            warning_id, breach.hospital_id, breach.period, breach.indicator, breach.level,
            breach.value, breach.threshold, breach.message, WarningState.RAISED, now, due,
        )
        warning.events.append(WarningRaised(
            warning_id, now, breach.hospital_id, breach.period, breach.indicator, breach.level,
            breach.value, breach.threshold, due,
        ))
        return warning

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> CostWarning:
        """Rehydrate from a stored row (``note`` is the close note; unknown keys are ignored)."""
        try:
            state = WarningState(row.get("state"))
        except ValueError:
            raise WarningError("state", f"{row.get('state')!r} is not a warning state") from None
        try:
            return cls(
                row["warning_id"], row["hospital_id"], row["period"], row["indicator"],
                row["level"], Decimal(row["value"]), Decimal(row["threshold"]), row["message"],
                state, row["raised_at"], row["answer_due"], row.get("cause"), row.get("remedy"),
                row.get("answered_by"), row.get("answered_at"), row.get("closed_by"),
                row.get("closed_at"), [], bool(row.get("answered_late")),
                row.get("note", row.get("close_note")),
            )
        except KeyError as exc:
            raise WarningError(str(exc.args[0]), "is missing from the stored warning") from None

    def _not_before(self, now: datetime, since: datetime, what: str) -> None:
        if now < since:
            raise WarningError("now", f"is before the warning was {what}")

    def answer(self, by_hospital: str, cause: str, remedy: str, now: datetime) -> None:
        """The warned hospital states the cause and the remedy (late answers are marked)."""
        now = _aware(now, "now")
        if self.state is not WarningState.RAISED:
            raise WarningError("state", f"cannot answer a warning that is {self.state.value}")
        if by_hospital != self.hospital_id:
            raise WarningError(
                "by_hospital", f"only the warned hospital {self.hospital_id} may answer"
            )
        cause, remedy = _text(cause, "cause"), _text(remedy, "remedy")
        self._not_before(now, self.raised_at, "raised")
        self.cause, self.remedy = cause, remedy
        self.answered_by, self.answered_at = by_hospital, now
        self.answered_late = now > self.answer_due
        self.state = WarningState.ANSWERED
        self.events.append(
            WarningAnswered(self.warning_id, now, by_hospital, cause, remedy, self.answered_late)
        )

    def close(self, by: str, now: datetime, note: str = "") -> None:
        """The alliance closes an answered warning."""
        now = _aware(now, "now")
        if self.state is not WarningState.ANSWERED:
            raise WarningError("state", f"cannot close a warning that is {self.state.value}")
        by = _text(by, "by")
        if not isinstance(note, str) or len(note.strip()) > MAX_TEXT:
            raise WarningError("note", f"must be a string of at most {MAX_TEXT} characters")
        assert self.answered_at is not None
        self._not_before(now, self.answered_at, "answered")
        self.closed_by, self.closed_at, self.close_note = by, now, note.strip()
        self.state = WarningState.CLOSED
        self.events.append(WarningClosed(self.warning_id, now, by, note.strip()))

    def is_overdue(self, now: datetime) -> bool:
        """Still unanswered after the deadline."""
        now = _aware(now, "now")
        return self.state is WarningState.RAISED and now > self.answer_due
