"""Referral rules as versioned data (双向转诊规则). Pure domain, no I/O, no clock.

Decisions documented here are part of the contract:

* ICD-10 codes are normalised before comparison: surrounding space stripped, upper case, the dot
  removed, so ``" i10.x00 "``, ``"I10.X00"`` and ``"I10X00"`` are the same code. A code is a letter,
  two digits, then up to five letters/digits (national extensions such as ``I10.x00``).
* Pattern forms of :attr:`Rule.icd10`:
  - exact ``"I21.0"``: the code itself and its sub-codes (ICD-10 is hierarchical, ``I21.000`` is an
    ``I21.0``); an exact pattern must be at least a 3-character category;
  - prefix ``"I2*"``: every code starting with the stem (the stem may be shorter than a category);
  - range ``"I20-I25"``: every code whose 3-character category lies between the two ends, inclusive.
* Specificity in :meth:`RuleSet.match`: exact before prefix before range; within exact and prefix
  the longer stem first, within ranges the narrower range first; remaining ties by ``rule_id``.
* Direction constrains target levels: an ``up`` rule never targets primary care (nothing is below
  it), a ``down`` rule never targets tertiary care (nothing is above it).
* Rule books are append-only: a new version takes effect no earlier than ``now`` (no backdating)
  and strictly after the latest version; published versions are frozen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SPECIALTY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
ICD10_CODE = re.compile(r"^[A-Z][0-9]{2}[0-9A-Z]{0,5}$")
ICD10_CATEGORY = re.compile(r"^[A-Z][0-9]{2}$")
ICD10_STEM = re.compile(r"^[A-Z][0-9A-Z]{0,7}$")
MAX_TEXT = 500


class RuleError(ValueError):
    """A rule, rule set or rule book is invalid; names the offending field."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field_name = field_name
        self.reason = reason


class Direction(StrEnum):
    """Which way a referral moves through the levels of care."""

    UP = "up"
    DOWN = "down"


class Severity(StrEnum):
    """Clinical severity of the case at the time of the referral decision."""

    STABLE = "stable"
    MODERATE = "moderate"
    SEVERE = "severe"
    CRITICAL = "critical"


class Urgency(StrEnum):
    """How quickly a receiving hospital must accept."""

    EMERGENCY = "emergency"
    URGENT = "urgent"
    ROUTINE = "routine"


class Level(StrEnum):
    """Hospital level in the Chinese tiered system (一级/二级/三级)."""

    PRIMARY = "primary"
    SECONDARY = "secondary"
    TERTIARY = "tertiary"

    @property
    def rank(self) -> int:
        """1 for primary, 2 for secondary, 3 for tertiary."""
        return _LEVEL_RANK[self]


_LEVEL_RANK = {Level.PRIMARY: 1, Level.SECONDARY: 2, Level.TERTIARY: 3}


class PatternKind(StrEnum):
    """Form of an ICD-10 pattern, in order of decreasing specificity."""

    EXACT = "exact"
    PREFIX = "prefix"
    RANGE = "range"


_KIND_RANK = {PatternKind.EXACT: 0, PatternKind.PREFIX: 1, PatternKind.RANGE: 2}


def normalize_icd10(code: str, field_name: str = "diagnosis_code") -> str:
    """Canonical undotted upper-case form of an ICD-10 code; RuleError if it is not one."""
    if not isinstance(code, str):
        raise RuleError(field_name, "must be a string")
    stripped = code.strip().upper()
    canonical = stripped.replace(".", "")
    dot_misplaced = "." in stripped and (stripped.count(".") > 1 or stripped.index(".") != 3)
    if not ICD10_CODE.match(canonical) or dot_misplaced:
        raise RuleError(field_name, f"{code!r} is not an ICD-10 code")
    return canonical


def _category_ordinal(category: str) -> int:
    """Position of a 3-character category on the A00..Z99 line."""
    return (ord(category[0]) - ord("A")) * 100 + int(category[1:3])


@dataclass(frozen=True, slots=True)
class IcdPattern:
    """A parsed ICD-10 pattern: exact code, prefix stem or category range."""

    kind: PatternKind
    stem: str
    end: str = ""

    @classmethod
    def parse(cls, text: str, field_name: str = "icd10") -> IcdPattern:
        """Parse ``I10``, ``I10*`` or ``I20-I25`` (case, dots and spaces tolerated)."""
        if not isinstance(text, str) or not text.strip():
            raise RuleError(field_name, "must be a non-empty ICD-10 pattern")
        raw = text.strip().upper()
        if "-" in raw:
            start, _, end = (part.strip() for part in raw.partition("-"))
            if not (ICD10_CATEGORY.match(start) and ICD10_CATEGORY.match(end)):
                raise RuleError(field_name, f"range {text!r} must join two 3-character categories")
            if start > end:
                raise RuleError(field_name, f"range {text!r} runs backwards")
            return cls(PatternKind.RANGE, start, end)
        if raw.endswith("*"):
            head = raw[:-1]
            stem = head.replace(".", "")
            if not ICD10_STEM.match(stem) or ("." in head and (head.count(".") > 1 or head.index(".") != 3)):
                raise RuleError(field_name, f"prefix {text!r} is not an ICD-10 stem")
            return cls(PatternKind.PREFIX, stem)
        return cls(PatternKind.EXACT, normalize_icd10(raw, field_name))

    def matches(self, canonical_code: str) -> bool:
        """Whether an already-normalised code falls under this pattern."""
        if self.kind is PatternKind.RANGE:
            return self.stem <= canonical_code[:3] <= self.end
        return canonical_code.startswith(self.stem)

    @property
    def specificity(self) -> tuple[int, int]:
        """Sort key, most specific first (kind, then longer stem / narrower range)."""
        if self.kind is PatternKind.RANGE:
            return (_KIND_RANK[self.kind], _category_ordinal(self.end) - _category_ordinal(self.stem))
        return (_KIND_RANK[self.kind], -len(self.stem))


def _frozen_enum_set(values: Iterable, enum: type[StrEnum], field_name: str) -> frozenset:
    """Coerce an iterable of enum members or their values into a non-empty frozenset."""
    if isinstance(values, str):
        raise RuleError(field_name, "must be a collection, not a string")
    try:
        result = frozenset(enum(v) for v in values)
    except (TypeError, ValueError) as exc:
        raise RuleError(field_name, f"invalid {enum.__name__}: {exc}") from None
    if not result:
        raise RuleError(field_name, "must not be empty")
    return result


def _require_aware(value: datetime, field_name: str) -> None:
    """Reject naive or non-datetime values."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise RuleError(field_name, "must be a timezone-aware datetime")


@dataclass(frozen=True, slots=True)
class Rule:
    """One referral rule: which diagnoses at which severities go where, and how fast."""

    rule_id: str
    icd10: str
    severities: frozenset[Severity]
    direction: Direction
    required_specialty: str | None
    target_levels: frozenset[Level]
    urgency: Urgency
    description: str
    pattern: IcdPattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Validate every field and parse the ICD-10 pattern."""
        if not isinstance(self.rule_id, str) or not RULE_ID.match(self.rule_id):
            raise RuleError("rule_id", "must be 1-64 letters, digits, '.', '_' or '-'")
        object.__setattr__(self, "pattern", IcdPattern.parse(self.icd10))
        object.__setattr__(self, "severities", _frozen_enum_set(self.severities, Severity, "severities"))
        object.__setattr__(self, "target_levels", _frozen_enum_set(self.target_levels, Level, "target_levels"))
        try:
            object.__setattr__(self, "direction", Direction(self.direction))
        except ValueError:
            raise RuleError("direction", f"{self.direction!r} is not up or down") from None
        try:
            object.__setattr__(self, "urgency", Urgency(self.urgency))
        except ValueError:
            raise RuleError("urgency", f"{self.urgency!r} is not a known urgency") from None
        if self.required_specialty is not None and (
            not isinstance(self.required_specialty, str) or not SPECIALTY.match(self.required_specialty)
        ):
            raise RuleError("required_specialty", "must be a lower-case specialty code or None")
        if self.direction is Direction.UP and Level.PRIMARY in self.target_levels:
            raise RuleError("target_levels", "an up referral cannot target primary care")
        if self.direction is Direction.DOWN and Level.TERTIARY in self.target_levels:
            raise RuleError("target_levels", "a down referral cannot target tertiary care")
        if not isinstance(self.description, str) or not self.description.strip():
            raise RuleError("description", "must not be empty")
        if len(self.description) > MAX_TEXT:
            raise RuleError("description", f"must be at most {MAX_TEXT} characters")

    def matches(self, code: str, severity: Severity) -> bool:
        """Whether a diagnosis code (any case, dotted or not) at a severity falls under this rule."""
        return Severity(severity) in self.severities and self.pattern.matches(normalize_icd10(code))

    @property
    def sort_key(self) -> tuple[int, int, str]:
        """Most specific first, then by rule_id."""
        return (*self.pattern.specificity, self.rule_id)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """One immutable version of the rules, in force from ``effective_from``."""

    version: int
    effective_from: datetime
    rules: tuple[Rule, ...]

    def __post_init__(self) -> None:
        """Validate the version, the instant and unique rule ids; freeze the rules."""
        if not isinstance(self.version, int) or isinstance(self.version, bool) or self.version < 1:
            raise RuleError("version", "must be a positive integer")
        _require_aware(self.effective_from, "effective_from")
        rules = tuple(self.rules)
        if not all(isinstance(r, Rule) for r in rules):
            raise RuleError("rules", "must contain Rule objects")
        ids = [r.rule_id for r in rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise RuleError("rules", f"duplicate rule_id {', '.join(duplicates)}")
        object.__setattr__(self, "rules", tuple(sorted(rules, key=lambda r: r.rule_id)))

    def match(self, diagnosis_code: str, severity: Severity) -> list[Rule]:
        """Rules covering the case, most specific first (exact > longer prefix > range, then id)."""
        code = normalize_icd10(diagnosis_code)
        severity = Severity(severity)
        hits = [r for r in self.rules if severity in r.severities and r.pattern.matches(code)]
        return sorted(hits, key=lambda r: r.sort_key)

    def get(self, rule_id: str) -> Rule | None:
        """The rule with this id in this version, if any."""
        return next((r for r in self.rules if r.rule_id == rule_id), None)


@dataclass(frozen=True, slots=True)
class RuleBook:
    """Append-only history of rule set versions."""

    versions: tuple[RuleSet, ...] = ()

    def __post_init__(self) -> None:
        """Versions must count 1, 2, 3... with strictly increasing effective_from."""
        versions = tuple(self.versions)
        for expected, rule_set in enumerate(versions, start=1):
            if not isinstance(rule_set, RuleSet) or rule_set.version != expected:
                raise RuleError("versions", f"version {expected} expected at position {expected}")
        for earlier, later in zip(versions, versions[1:], strict=False):
            if later.effective_from <= earlier.effective_from:
                raise RuleError("versions", f"version {later.version} must start after version {earlier.version}")
        object.__setattr__(self, "versions", versions)

    @property
    def latest(self) -> RuleSet | None:
        """The most recently published version (possibly not yet in force)."""
        return self.versions[-1] if self.versions else None

    def get(self, version: int) -> RuleSet | None:
        """A version by number."""
        return self.versions[version - 1] if 1 <= version <= len(self.versions) else None

    def in_force(self, at: datetime) -> RuleSet | None:
        """The version in force at an instant, or None before the first version starts."""
        _require_aware(at, "at")
        current = None
        for rule_set in self.versions:
            if rule_set.effective_from <= at:
                current = rule_set
        return current

    def publish(self, rules: Iterable[Rule], effective_from: datetime, now: datetime) -> RuleBook:
        """A new book with one more version; no backdating and strictly after the latest version."""
        _require_aware(effective_from, "effective_from")
        _require_aware(now, "now")
        if effective_from < now:
            raise RuleError("effective_from", "cannot be backdated before now")
        latest = self.latest
        if latest is not None and effective_from <= latest.effective_from:
            raise RuleError("effective_from", f"must be after version {latest.version} ({latest.effective_from.isoformat()})")
        new = RuleSet(len(self.versions) + 1, effective_from, tuple(rules))
        return RuleBook((*self.versions, new))


SAMPLE_EFFECTIVE_FROM = datetime(2026, 1, 1, tzinfo=UTC)
_ALL_SEVERITIES = frozenset(Severity)


def sample_rules(effective_from: datetime = SAMPLE_EFFECTIVE_FROM, version: int = 1) -> RuleSet:
    """SAMPLE rules for tests and demos only: NOT clinical guidance, every alliance sets its own."""
    up, down = Direction.UP, Direction.DOWN
    tertiary = frozenset({Level.TERTIARY})
    return RuleSet(version, effective_from, (
        Rule("SAMPLE-HTN-STABLE-DOWN", "I10", {Severity.STABLE}, down, "internal_medicine",
             {Level.PRIMARY}, Urgency.ROUTINE,
             "SAMPLE: stable essential hypertension is followed up in primary care"),
        Rule("SAMPLE-HTN-EMERGENCY-UP", "I10", {Severity.SEVERE, Severity.CRITICAL}, up, "cardiology",
             tertiary, Urgency.EMERGENCY,
             "SAMPLE: severe/critical hypertension (hypertensive emergency) goes to tertiary cardiology"),
        Rule("SAMPLE-HTN-CRISIS-UP", "I16*", {Severity.SEVERE, Severity.CRITICAL}, up, "cardiology",
             tertiary, Urgency.EMERGENCY,
             "SAMPLE: hypertensive crisis goes to tertiary cardiology"),
        Rule("SAMPLE-AMI-UP", "I21*", _ALL_SEVERITIES, up, "cardiology", tertiary, Urgency.EMERGENCY,
             "SAMPLE: acute myocardial infarction goes to tertiary cardiology"),
        Rule("SAMPLE-IHD-MODERATE-UP", "I20-I25", {Severity.MODERATE}, up, "cardiology",
             {Level.SECONDARY, Level.TERTIARY}, Urgency.URGENT,
             "SAMPLE: moderate ischaemic heart disease goes to secondary or tertiary cardiology"),
        Rule("SAMPLE-STROKE-UP", "I63*", _ALL_SEVERITIES, up, "neurology", tertiary, Urgency.EMERGENCY,
             "SAMPLE: cerebral infarction goes to tertiary neurology"),
        Rule("SAMPLE-COPD-STABLE-DOWN", "J44*", {Severity.STABLE}, down, "internal_medicine",
             {Level.PRIMARY, Level.SECONDARY}, Urgency.ROUTINE,
             "SAMPLE: stable COPD is managed in primary or secondary care"),
        Rule("SAMPLE-POSTOP-RECOVERY-DOWN", "Z48*", {Severity.STABLE, Severity.MODERATE}, down, None,
             {Level.SECONDARY, Level.PRIMARY}, Urgency.ROUTINE,
             "SAMPLE: recovery after surgery continues in secondary or primary care"),
    ))
