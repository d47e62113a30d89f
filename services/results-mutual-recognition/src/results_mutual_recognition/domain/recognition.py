"""Mutual recognition of test results (检查检验结果互认). Pure domain, no I/O, no clock.

Decisions documented here are part of the contract:

* Every datetime must be timezone-aware; instants are compared, never wall-clock readings,
  so a +08:00 result and a UTC order at the same instant are the same moment.
* Validity is ``validity_days`` x 24 h of elapsed time and the end is inclusive to the exact
  instant: a result is valid while ``order_at <= effective_at + validity_days``.
* Validity and item conditions come from the catalog version in force at the order; catalog
  membership and QC eligibility are judged at the moment the result was produced.
* Precedence in :func:`decide` (first match wins):
  1. item not in the catalog version in force at the order -> ``NOT_IN_CATALOG``;
  2. no final/corrected result for the item produced at or before the order -> ``NO_RESULT``;
  3. an item condition fails for the requesting context -> ``CONDITION_NOT_MET`` (conditions
     depend only on the item and the context, so they block every result alike and are the
     only truthful answer: fixing any per-result problem would not help);
  4. otherwise each result is judged alone, ``NOT_IN_CATALOG`` (item absent from the version in
     force when it was produced) > ``ISSUER_NOT_ELIGIBLE`` (lab had not passed QC then) >
     ``EXPIRED``: the two permanent defects come before the one that is merely a matter of
     time, and the catalog comes first because without it there is no QC programme to pass.
     All passing results are recognised, newest first; if none pass, the reason is the newest
     result's reason.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from enum import StrEnum
from types import MappingProxyType
from typing import Protocol

ITEM_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LOINC_CODE = re.compile(r"^\d{1,7}-\d$")
MIN_VALIDITY_DAYS = 1
MAX_VALIDITY_DAYS = 3650
MAX_TEXT = 500
CHINA_TZ = timezone(timedelta(hours=8), "CST")

NOT_FOR_INPATIENTS_AFTER_SURGERY = "not_for_inpatients_after_surgery"
KNOWN_CONDITIONS: frozenset[str] = frozenset({NOT_FOR_INPATIENTS_AFTER_SURGERY})
_CONDITION_TEXT = {NOT_FOR_INPATIENTS_AFTER_SURGERY: "inpatients after surgery"}


# --------------------------------------------------------------------------- errors


class RecognitionError(ValueError):
    """Base of mutual-recognition rule violations; names the offending field."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field_name = field_name
        self.reason = reason


class CatalogError(RecognitionError):
    """A catalog item or version breaks a catalog rule."""

    def __init__(self, field_name: str, reason: str, item_code: str | None = None) -> None:
        super().__init__(field_name, reason)
        self.item_code = item_code
        if item_code is not None:
            self.args = (f"items[{item_code}].{field_name}: {reason}",)


class QcError(RecognitionError):
    """A QC eligibility change breaks a history rule."""


class ChoiceError(RecognitionError):
    """A doctor's reuse/decline choice is not allowed for the decision."""


class PriceError(RecognitionError):
    """A price list entry is invalid."""


class ContextError(RecognitionError):
    """A request context or result is malformed."""


def _aware(value: datetime, field_name: str, error: type[RecognitionError] = ContextError) -> None:
    """Raise unless `value` is a timezone-aware datetime."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise error(field_name, "must be a timezone-aware datetime")


def _clean_text(value: str) -> bool:
    """True when `value` has no control characters."""
    return not any(ord(c) < 32 or ord(c) == 127 for c in value)


def _day(value: datetime) -> str:
    """The calendar date of `value` in its own offset, ISO formatted."""
    return value.date().isoformat()


# --------------------------------------------------------------------------- catalog


class ItemCategory(StrEnum):
    LABORATORY = "laboratory"
    IMAGING = "imaging"


@dataclass(frozen=True)
class CatalogItem:
    """An examination or test item the alliance recognises across hospitals."""

    item_code: str
    name: str
    category: ItemCategory
    validity_days: int
    loinc: str | None = None
    conditions: frozenset[str] = frozenset()

    def validated(self) -> CatalogItem:
        """Return a normalised copy or raise CatalogError naming the field."""
        code = self.item_code
        if not isinstance(code, str) or not ITEM_CODE.match(code):
            raise CatalogError("item_code", "must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
                               code if isinstance(code, str) else None)
        name = self.name.strip() if isinstance(self.name, str) else ""
        if not name or len(name) > 200 or not _clean_text(name):
            raise CatalogError("name", "must be 1-200 characters without control characters", code)
        try:
            category = ItemCategory(self.category)
        except ValueError:
            raise CatalogError("category", f"must be one of {[c.value for c in ItemCategory]}",
                               code) from None
        days = self.validity_days
        if isinstance(days, bool) or not isinstance(days, int) or not (
                MIN_VALIDITY_DAYS <= days <= MAX_VALIDITY_DAYS):
            raise CatalogError("validity_days",
                               f"must be an integer {MIN_VALIDITY_DAYS}..{MAX_VALIDITY_DAYS}", code)
        if self.loinc is not None and not LOINC_CODE.match(self.loinc):
            raise CatalogError("loinc", "must look like a LOINC code (digits, '-', check digit)", code)
        conditions = frozenset(self.conditions)
        unknown = sorted(conditions - KNOWN_CONDITIONS)
        if unknown:
            raise CatalogError("conditions", f"unknown condition(s) {unknown}", code)
        return replace(self, name=name, category=category, conditions=conditions)


@dataclass(frozen=True)
class CatalogVersion:
    """One published, immutable version of the recognised catalog."""

    version: int
    effective_from: datetime
    items: Mapping[str, CatalogItem] = field(hash=False)

    def __post_init__(self) -> None:
        _aware(self.effective_from, "effective_from", CatalogError)
        for key, item in self.items.items():
            if key != item.item_code:
                raise CatalogError("items", f"key {key!r} differs from item_code {item.item_code!r}")
        object.__setattr__(self, "items", MappingProxyType(dict(self.items)))


@dataclass(frozen=True)
class Catalog:
    """All catalog versions, ordered by effective_from; a version applies until the next one."""

    versions: Sequence[CatalogVersion] = ()

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.versions, key=lambda v: v.effective_from))
        for before, after in zip(ordered, ordered[1:], strict=False):
            if after.effective_from == before.effective_from:
                raise CatalogError("versions", "two versions share an effective_from")
            if after.version <= before.version:
                raise CatalogError("versions", "version numbers must rise with effective_from")
        object.__setattr__(self, "versions", ordered)

    @property
    def latest(self) -> CatalogVersion | None:
        """The version with the latest effective_from (possibly not yet in force)."""
        return self.versions[-1] if self.versions else None

    def in_force(self, at: datetime) -> CatalogVersion | None:
        """The version with the latest effective_from <= at, or None before the first."""
        _aware(at, "at")
        found = None
        for version in self.versions:
            if version.effective_from > at:
                break
            found = version
        return found

    def publish(self, items: Iterable[CatalogItem] | Mapping[str, CatalogItem],
                effective_from: datetime, now: datetime) -> CatalogVersion:
        """Validate items and return the next version (add it with `with_version`); no backdating."""
        # effective_from must follow the latest version and not precede `now`, so what was in
        # force at any past instant never changes.
        _aware(effective_from, "effective_from", CatalogError)
        _aware(now, "now", CatalogError)
        if effective_from < now:
            raise CatalogError("effective_from", "must not be in the past (no backdating)")
        latest = self.latest
        if latest is not None and effective_from <= latest.effective_from:
            raise CatalogError("effective_from",
                               f"must be after version {latest.version}'s effective_from")
        values = list(items.values()) if isinstance(items, Mapping) else list(items)
        if not values:
            raise CatalogError("items", "must not be empty")
        validated: dict[str, CatalogItem] = {}
        for item in values:
            clean = item.validated()
            if clean.item_code in validated:
                raise CatalogError("item_code", "appears twice", clean.item_code)
            validated[clean.item_code] = clean
        return CatalogVersion(latest.version + 1 if latest else 1, effective_from, validated)

    def with_version(self, version: CatalogVersion) -> Catalog:
        """A new catalog with `version` appended; earlier versions are never altered."""
        latest = self.latest
        if latest is not None and (version.effective_from <= latest.effective_from
                                   or version.version <= latest.version):
            raise CatalogError("versions", "a new version must come after the latest one")
        return Catalog((*self.versions, version))


# --------------------------------------------------------------------------- QC eligibility


class QcStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"


@dataclass(frozen=True)
class QcPeriod:
    """A lab's external-quality-assessment status for one item over [effective_from, effective_to)."""

    lab_id: str
    item_code: str
    status: QcStatus
    effective_from: datetime
    effective_to: datetime | None
    reference: str

    def __post_init__(self) -> None:
        _aware(self.effective_from, "effective_from", QcError)
        if self.effective_to is not None:
            _aware(self.effective_to, "effective_to", QcError)
            if self.effective_to <= self.effective_from:
                raise QcError("effective_to", "must be after effective_from")

    def covers(self, at: datetime) -> bool:
        """True when `at` lies in the half-open interval [effective_from, effective_to)."""
        return self.effective_from <= at and (self.effective_to is None or at < self.effective_to)


@dataclass(frozen=True)
class QcEligibilityChanged:
    """A lab's QC status for an item changes from effective_from on."""

    lab_id: str
    item_code: str
    status: QcStatus
    effective_from: datetime
    reference: str
    at: datetime


@dataclass(frozen=True)
class QcRecorded:
    """The outcome of recording a change: the new history, the opened and the closed period."""

    history: QcHistory
    opened: QcPeriod
    closed: tuple[QcPeriod, ...]


@dataclass(frozen=True)
class QcHistory:
    """Every QC period of every lab and item."""

    periods: Sequence[QcPeriod] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "periods", tuple(self.periods))

    def eligible(self, lab_id: str, item_code: str, at: datetime) -> bool:
        """True when the latest-starting period covering `at` for this lab and item is passed."""
        _aware(at, "at")
        covering = [p for p in self.periods
                    if p.lab_id == lab_id and p.item_code == item_code and p.covers(at)]
        if not covering:
            return False
        # max() keeps the first of equal starts; prefer the one recorded last instead.
        winner = max(reversed(covering), key=lambda p: p.effective_from)
        return winner.status == QcStatus.PASSED

    def record(self, change: QcEligibilityChanged, now: datetime) -> QcRecorded:
        """Open a period for the change and close the open one(s) for that lab and item."""
        # The change may be backdated (assessment reports arrive late) but must start after every
        # recorded period of that lab and item, so no recorded start is ever rewritten.
        _aware(change.effective_from, "effective_from", QcError)
        _aware(change.at, "at", QcError)
        _aware(now, "now", QcError)
        if not change.lab_id or not change.lab_id.strip():
            raise QcError("lab_id", "must not be empty")
        if not isinstance(change.item_code, str) or not ITEM_CODE.match(change.item_code):
            raise QcError("item_code", "is not a valid item code")
        try:
            status = QcStatus(change.status)
        except ValueError:
            raise QcError("status", "must be passed or failed") from None
        reference = change.reference.strip() if isinstance(change.reference, str) else ""
        if not reference or len(reference) > 200 or not _clean_text(reference):
            raise QcError("reference", "must be 1-200 characters without control characters")
        mine = [p for p in self.periods
                if p.lab_id == change.lab_id and p.item_code == change.item_code]
        if any(p.effective_from >= change.effective_from for p in mine):
            raise QcError("effective_from",
                          "must be after the start of every recorded period for this lab and item")
        kept: list[QcPeriod] = []
        closed: list[QcPeriod] = []
        for period in self.periods:
            if period in mine and period.effective_to is None:
                period = replace(period, effective_to=change.effective_from)
                closed.append(period)
            kept.append(period)
        opened = QcPeriod(change.lab_id, change.item_code, status, change.effective_from, None,
                          reference)
        return QcRecorded(QcHistory((*kept, opened)), opened, tuple(closed))


# --------------------------------------------------------------------------- results


class ResultStatus(StrEnum):
    FINAL = "F"
    CORRECTED = "C"
    PRELIMINARY = "P"


COUNTING_STATUSES = frozenset({ResultStatus.FINAL, ResultStatus.CORRECTED})


@dataclass(frozen=True)
class IndexedResult:
    """A result indexed for recognition; only F (final) and C (corrected) ever count."""

    result_id: str
    patient_id: str
    item_code: str
    hospital_id: str
    lab_id: str
    value: str
    unit: str
    effective_at: datetime
    report_ref: str
    status: ResultStatus | str

    def __post_init__(self) -> None:
        _aware(self.effective_at, "effective_at")

    @property
    def counts(self) -> bool:
        """True for final or corrected results."""
        return self.status in COUNTING_STATUSES


# --------------------------------------------------------------------------- decisions


class ReasonCode(StrEnum):
    NOT_IN_CATALOG = "not_in_catalog"
    NO_RESULT = "no_result"
    EXPIRED = "expired"
    ISSUER_NOT_ELIGIBLE = "issuer_not_eligible"
    CONDITION_NOT_MET = "condition_not_met"


@dataclass(frozen=True)
class RequestContext:
    """Who asks and when: the ordering hospital, the order instant and the clinical context."""

    requesting_hospital: str
    at: datetime
    inpatient_after_surgery: bool = False

    def __post_init__(self) -> None:
        if not self.requesting_hospital or not self.requesting_hospital.strip():
            raise ContextError("requesting_hospital", "must not be empty")
        _aware(self.at, "at")


@dataclass(frozen=True)
class RejectedResult:
    """A candidate result that was not recognised, with its own reason."""

    result_id: str
    reason: ReasonCode


@dataclass(frozen=True)
class ItemDecision:
    """Whether the patient has recognised results for an item at order time, and why not."""

    item_code: str
    recognised: tuple[IndexedResult, ...]
    reason: ReasonCode | None
    explanation: str
    considered: int
    requesting_hospital: str = ""
    at: datetime | None = None
    patient_id: str | None = None
    rejected: tuple[RejectedResult, ...] = ()

    @property
    def recognisable(self) -> bool:
        """True when at least one result is recognised."""
        return bool(self.recognised)


def _condition_fails(condition: str, ctx: RequestContext) -> bool:
    """True when `condition` rules recognition out for `ctx`; unknown conditions fail closed."""
    if condition == NOT_FOR_INPATIENTS_AFTER_SURGERY:
        return ctx.inpatient_after_surgery
    return True


def _newest_first(results: Iterable[IndexedResult]) -> list[IndexedResult]:
    """Sort by effective instant, newest first; result_id breaks ties deterministically."""
    return sorted(results, key=lambda r: (r.effective_at, r.result_id), reverse=True)


def _label(result: IndexedResult) -> str:
    """Human label of a result without patient identifiers: date and issuing hospital."""
    return f"({_day(result.effective_at)}, {result.hospital_id})"


def _expires_at(result: IndexedResult, item: CatalogItem) -> datetime:
    """The last instant (inclusive) at which `result` is valid: elapsed time, in its own offset."""
    try:
        end = result.effective_at.astimezone(UTC) + timedelta(days=item.validity_days)
        return end.astimezone(result.effective_at.tzinfo)
    except OverflowError:           # valid past the end of the calendar: valid for as long as it can be
        return datetime.max.replace(tzinfo=UTC)


def _plural(n: int, word: str) -> str:
    """`n word` with a naive English plural."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def decide(item_code: str, results: Sequence[IndexedResult], catalog: Catalog, qc: QcHistory,
           ctx: RequestContext) -> ItemDecision:
    """Decide which of one patient's results for `item_code` the alliance recognises at ctx.at."""
    # `results` must all belong to one patient (else ContextError). Candidates are final or
    # corrected results for the item produced at or before ctx.at; `considered` counts them.
    patients = {r.patient_id for r in results}
    if len(patients) > 1:
        raise ContextError("results", "must all belong to one patient")
    patient_id = next(iter(patients), None)
    candidates = _newest_first(r for r in results if r.item_code == item_code and r.counts
                               and r.effective_at <= ctx.at)
    preliminary = sum(1 for r in results if r.item_code == item_code and not r.counts)

    def made(recognised: Sequence[IndexedResult], reason: ReasonCode | None, text: str,
             rejected: Sequence[RejectedResult] = ()) -> ItemDecision:
        return ItemDecision(item_code, tuple(recognised), reason, text, len(candidates),
                            ctx.requesting_hospital, ctx.at, patient_id, tuple(rejected))

    version_now = catalog.in_force(ctx.at)
    item = version_now.items.get(item_code) if version_now else None
    if version_now is None or item is None:
        where = (f"catalog version {version_now.version}" if version_now
                 else "any catalog version")
        return made((), ReasonCode.NOT_IN_CATALOG,
                    f"{item_code} is not in {where} in force on {_day(ctx.at)}, "
                    f"so no result can be recognised")
    if not candidates:
        text = f"no final or corrected {item_code} result is available"
        if preliminary:
            text += f" ({_plural(preliminary, 'non-final result')} ignored)"
        return made((), ReasonCode.NO_RESULT, text)

    failing = sorted(c for c in item.conditions if _condition_fails(c, ctx))
    if failing:
        who = ", ".join(_CONDITION_TEXT.get(c, c) for c in failing)
        return made((), ReasonCode.CONDITION_NOT_MET,
                    f"{item_code} results are not recognised for {who} "
                    f"(condition {', '.join(failing)}); "
                    f"{_plural(len(candidates), 'result')} not recognised",
                    [RejectedResult(r.result_id, ReasonCode.CONDITION_NOT_MET) for r in candidates])

    recognised: list[IndexedResult] = []
    rejected: list[RejectedResult] = []
    for result in candidates:
        version_then = catalog.in_force(result.effective_at)
        if version_then is None or item_code not in version_then.items:
            rejected.append(RejectedResult(result.result_id, ReasonCode.NOT_IN_CATALOG))
        elif not qc.eligible(result.lab_id, item_code, result.effective_at):
            rejected.append(RejectedResult(result.result_id, ReasonCode.ISSUER_NOT_ELIGIBLE))
        elif ctx.at > _expires_at(result, item):
            rejected.append(RejectedResult(result.result_id, ReasonCode.EXPIRED))
        else:
            recognised.append(result)

    if recognised:
        newest = recognised[0]
        return made(recognised, None,
                    f"{len(recognised)} of {_plural(len(candidates), 'result')} recognised; "
                    f"the newest {_label(newest)} is valid until "
                    f"{_day(_expires_at(newest, item))}; "
                    f"{item_code} is valid for {_plural(item.validity_days, 'day')}",
                    rejected)

    newest, why = candidates[0], rejected[0].reason
    label = f"the newest result {_label(newest)}"
    if why is ReasonCode.NOT_IN_CATALOG:
        text = (f"{label} was produced when {item_code} was not in the recognised catalog")
    elif why is ReasonCode.ISSUER_NOT_ELIGIBLE:
        text = (f"{label} was produced while lab {newest.lab_id} had not passed external "
                f"quality assessment for {item_code}")
    else:
        text = (f"{label} expired on {_day(_expires_at(newest, item))}; "
                f"{item_code} is valid for {_plural(item.validity_days, 'day')}")
    if len(candidates) > 1:
        text += f"; none of {_plural(len(candidates), 'result')} is recognised"
    return made((), why, text, rejected)


# --------------------------------------------------------------------------- choices and savings


class DeclineReason(StrEnum):
    CONDITION_CHANGED = "condition_changed"
    QUALITY_DOUBT = "quality_doubt"
    PATIENT_REQUEST = "patient_request"
    OTHER = "other"


class ChoiceKind(StrEnum):
    REUSE = "reuse"
    DECLINE = "decline"


class Outcome(StrEnum):
    REUSED = "reused"
    DECLINED = "declined"


@dataclass(frozen=True)
class Choice:
    """The ordering doctor's choice: reuse a recognised result or decline and re-test."""

    kind: ChoiceKind
    item_code: str
    result_id: str | None = None
    decline_reason: DeclineReason | None = None
    text: str = ""


@dataclass(frozen=True)
class PriceEntry:
    """A hospital's price for an item in integer fen, from effective_from until superseded."""

    hospital_id: str
    item_code: str
    price_fen: int
    effective_from: datetime

    def __post_init__(self) -> None:
        _aware(self.effective_from, "effective_from", PriceError)
        if isinstance(self.price_fen, bool) or not isinstance(self.price_fen, int) \
                or self.price_fen < 0:
            raise PriceError("price_fen", "must be a non-negative integer number of fen")


@dataclass(frozen=True)
class PriceList:
    """Effective-dated prices per hospital and item."""

    entries: Sequence[PriceEntry] = ()

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.entries, key=lambda e: e.effective_from))
        seen = {(e.hospital_id, e.item_code, e.effective_from) for e in ordered}
        if len(seen) != len(ordered):
            raise PriceError("entries", "two prices for one hospital and item share effective_from")
        object.__setattr__(self, "entries", ordered)

    def price(self, hospital_id: str, item_code: str, at: datetime) -> int | None:
        """The price in force at `at` (latest effective_from <= at), or None if there is none."""
        _aware(at, "at", PriceError)
        found = None
        for entry in self.entries:
            if entry.effective_from > at:
                break
            if entry.hospital_id == hospital_id and entry.item_code == item_code:
                found = entry.price_fen
        return found


@dataclass(frozen=True)
class RecognitionDecided:
    """The recorded outcome of a recognition check: reused (with saving) or declined."""

    decision_id: str
    patient_id: str | None
    requesting_hospital: str
    item_code: str
    outcome: Outcome
    result_id: str | None
    issuing_hospital: str | None
    saving_fen: int
    price_missing: bool
    decline_reason: DeclineReason | None
    at: datetime
    decline_text: str = ""


def _decision_id(decision: ItemDecision, ctx: RequestContext) -> str:
    """A deterministic id for a choice on a decision, stable across retries."""
    key = "|".join((ctx.requesting_hospital, decision.patient_id or "", decision.item_code,
                    decision.at.isoformat() if decision.at else "", ctx.at.isoformat()))
    return "rd-" + hashlib.sha256(key.encode()).hexdigest()[:24]


def record_choice(decision: ItemDecision, choice: Choice, prices: PriceList, ctx: RequestContext,
                  *, decision_id: str | None = None) -> RecognitionDecided:
    """Validate the doctor's choice against the decision and return the event to publish."""
    # A reuse must name one of the recognised results and saves the requesting hospital's price
    # for the item at ctx.at (0 with price_missing=True when there is none). A decline needs a
    # reason (and text for `other`) and is only possible when something was recognised.
    if choice.item_code != decision.item_code:
        raise ChoiceError("item_code", "does not match the decision")
    if decision.requesting_hospital and decision.requesting_hospital != ctx.requesting_hospital:
        raise ChoiceError("requesting_hospital", "does not match the decision")
    if decision.at is not None and ctx.at < decision.at:
        raise ChoiceError("at", "a choice cannot precede its decision")
    if not decision.recognised:
        raise ChoiceError("kind", "nothing was recognised, so there is nothing to reuse or decline")
    by_id = {r.result_id: r for r in decision.recognised}
    if choice.result_id is not None and choice.result_id not in by_id:
        raise ChoiceError("result_id", "must be one of the recognised results")
    text = choice.text.strip() if isinstance(choice.text, str) else ""
    if len(text) > MAX_TEXT or not _clean_text(text):
        raise ChoiceError("text", f"must be at most {MAX_TEXT} characters without control characters")
    result = by_id.get(choice.result_id) if choice.result_id is not None else None
    event_id = decision_id or _decision_id(decision, ctx)

    try:
        kind = ChoiceKind(choice.kind)
    except ValueError:
        raise ChoiceError("kind", "must be reuse or decline") from None
    if kind is ChoiceKind.REUSE:
        if result is None:
            raise ChoiceError("result_id", "a reuse must name one of the recognised results")
        if choice.decline_reason is not None:
            raise ChoiceError("decline_reason", "must be empty when reusing")
        price = prices.price(ctx.requesting_hospital, decision.item_code, ctx.at)
        return RecognitionDecided(event_id, decision.patient_id, ctx.requesting_hospital,
                                  decision.item_code, Outcome.REUSED, result.result_id,
                                  result.hospital_id, price or 0, price is None, None, ctx.at)

    if choice.decline_reason is None:
        raise ChoiceError("decline_reason", "a decline needs a reason")
    try:
        reason = DeclineReason(choice.decline_reason)
    except ValueError:
        raise ChoiceError("decline_reason", "is not a known decline reason") from None
    if reason is DeclineReason.OTHER and not text:
        raise ChoiceError("text", "a decline for reason 'other' needs an explanation")
    return RecognitionDecided(event_id, decision.patient_id, ctx.requesting_hospital,
                              decision.item_code, Outcome.DECLINED,
                              result.result_id if result else None,
                              result.hospital_id if result else None, 0, False, reason, ctx.at,
                              text)


# --------------------------------------------------------------------------- indicators


class CheckLike(Protocol):
    """What indicators need from a recognition check (ItemDecision satisfies it)."""

    @property
    def requesting_hospital(self) -> str: ...

    @property
    def item_code(self) -> str: ...

    @property
    def at(self) -> datetime | None: ...

    @property
    def recognisable(self) -> bool: ...


@dataclass(frozen=True)
class CheckSummary:
    """A stored summary of one recognition check."""

    requesting_hospital: str
    item_code: str
    at: datetime
    recognisable: bool


@dataclass(frozen=True)
class IndicatorRow:
    """Recognition indicators for one requesting hospital, item and month (YYYY-MM)."""

    hospital_id: str
    item_code: str
    period: str
    checks: int = 0
    recognisable: int = 0
    reused: int = 0
    declined: int = 0
    savings_fen: int = 0
    price_missing: int = 0

    @property
    def recognition_rate(self) -> float | None:
        """reused / recognisable, or None when nothing was recognisable."""
        return self.reused / self.recognisable if self.recognisable else None

    @property
    def repeat_test_rate(self) -> float | None:
        """declined / recognisable, or None when nothing was recognisable."""
        return self.declined / self.recognisable if self.recognisable else None


def _period(at: datetime, tz: tzinfo) -> str:
    """The YYYY-MM month of `at` in `tz` (in UTC when `tz` would cross the end of the calendar)."""
    try:
        local = at.astimezone(tz)
    except OverflowError:           # a stored instant at 9999-12-31 or 0001-01-01: never a 500 for every reader
        local = at.astimezone(UTC)
    return f"{local.year:04d}-{local.month:02d}"


def indicators(decisions: Iterable[RecognitionDecided], checks: Iterable[CheckLike],
               tz: tzinfo = CHINA_TZ) -> tuple[IndicatorRow, ...]:
    """Aggregate checks and choices per (hospital, item, month in `tz`), sorted by that key."""
    # Checks are bucketed by their own instant and choices by theirs; checks without an instant
    # are skipped. Rates are not clamped: a rate above 1 means choices without matching checks.
    rows: dict[tuple[str, str, str], dict[str, int]] = {}

    def bucket(hospital: str, item: str, at: datetime) -> dict[str, int]:
        key = (hospital, item, _period(at, tz))
        return rows.setdefault(key, dict.fromkeys(
            ("checks", "recognisable", "reused", "declined", "savings_fen", "price_missing"), 0))

    for check in checks:
        if check.at is None:
            continue
        counts = bucket(check.requesting_hospital, check.item_code, check.at)
        counts["checks"] += 1
        counts["recognisable"] += 1 if check.recognisable else 0
    for event in decisions:
        counts = bucket(event.requesting_hospital, event.item_code, event.at)
        if event.outcome == Outcome.REUSED:
            counts["reused"] += 1
            counts["savings_fen"] += event.saving_fen
            counts["price_missing"] += 1 if event.price_missing else 0
        else:
            counts["declined"] += 1
    return tuple(IndicatorRow(h, i, p, **c) for (h, i, p), c in sorted(rows.items()))


__all__ = [
    "CHINA_TZ", "KNOWN_CONDITIONS", "NOT_FOR_INPATIENTS_AFTER_SURGERY", "Catalog", "CatalogError",
    "CatalogItem", "CatalogVersion", "CheckLike", "CheckSummary", "Choice", "ChoiceError",
    "ChoiceKind", "ContextError", "DeclineReason", "IndexedResult", "IndicatorRow", "ItemCategory",
    "ItemDecision", "Outcome", "PriceEntry", "PriceError", "PriceList", "QcEligibilityChanged",
    "QcError", "QcHistory", "QcPeriod", "QcRecorded", "QcStatus", "ReasonCode",
    "RecognitionDecided", "RecognitionError", "RejectedResult", "RequestContext", "ResultStatus",
    "decide", "indicators", "record_choice",
]
