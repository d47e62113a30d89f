"""DRG grouping (按病组付费) driven by a versioned, layered rule table. Pure domain, no clock.

Decisions that are part of the contract:

* Codes are normalised before comparison: surrounding space stripped, upper case, the dot removed
  (``"i21.900"``, ``"I21.900"`` and ``"I21900"`` are one code). An ICD-10 code is a letter, two
  digits and up to eight letters/digits (national extensions such as ``I10.x00``); an
  ICD-9-CM-3 procedure is two digits and up to eight letters/digits (``36.06``, ``36.0600x001``).
* Pattern forms, for diagnoses and procedures alike:
  - exact ``"I21.900"`` / ``"36.06"``: that code and nothing else;
  - prefix ``"I21*"`` / ``"36.0*"``: every code starting with the stem; a bare category
    (``"I21"`` for ICD-10, ``"36"`` for ICD-9-CM-3) is a prefix too;
  - range ``"I20-I25"`` / ``"81-84"``: every code whose category (3 characters for ICD-10,
    2 digits for ICD-9-CM-3) lies between the two ends, inclusive.
  Specificity: exact before prefix before range; the longer stem first; the narrower range first;
  remaining ties by table order.
* Base layer: the principal diagnosis picks the MDC (most specific pattern). Surgical ADRGs of that
  MDC are tried first, in table order (the table order is the surgical hierarchy: list the most
  resource-intensive first); one matches when a procedure matches and, if it lists diagnoses, the
  principal matches one of them. Otherwise the medical ADRG with the most specific diagnosis
  pattern wins; a medical ADRG without diagnoses is the MDC's catch-all.
* Severity: each valid secondary diagnosis takes the level of its most specific ``cc_list`` entry.
  It does not count when it is in the principal's own 3-character category or an applicable
  ``cc_exclusions`` entry excludes it. The case is MCC if any MCC counts, else CC if any CC counts,
  else none. The DRG is the ADRG's DRG of that severity; a missing level falls back to the next
  lower one (MCC → CC → none), so every ADRG must have a ``none`` DRG. By convention suffix 1 is
  MCC, 3 is CC, 5 is none and 9 is an ADRG that is not split.
* Hospital layer: a hospital's rules are a hospital-wide one (no ``drg``) and DRG-specific ones;
  for ``rw_factor`` (multiplies the RW) and ``base_rate`` (replaces the payer's rate, yuan) the
  DRG-specific value wins over the hospital-wide one.
* Exception layer: the first matching exception in table order applies (all of its conditions must
  hold). ``per_diem`` pays per-diem × LOS, ``item_based`` pays the case's total cost,
  ``assign_drg`` re-prices the case at another DRG (hospital layer re-applied). Then the cost check:
  cost ratio = total cost / standard cost, where the standard is the DRG's ``standard_cost_fen``
  or, without one, RW × base rate after the hospital layer. Threshold comparisons are exact
  integer arithmetic; the reported ratio is rounded half-up to 4 places.
* A case that cannot be grouped (invalid principal code, no MDC, no ADRG) is data, not an error:
  DRG ``None``, payment 0, no approval flag, the reason and the path up to where it stopped.
  Malformed inputs (negative cost, non-string codes) raise :class:`CaseError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from .errors import DomainError

SAMPLE_RULES_PATH = Path(__file__).with_name("sample_drg_rules.json")

Layer = Literal["base", "hospital", "exception"]
SeverityLevel = Literal["MCC", "CC", "none"]
Outlier = Literal["high", "low"]
InStayStatus = Literal["ok", "warning", "intervention"]

SEVERITIES: tuple[SeverityLevel, ...] = ("MCC", "CC", "none")
_SEVERITY_RANK = {"none": 0, "CC": 1, "MCC": 2}
RULE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
DEFAULT_PAYER = "default"


# --------------------------------------------------------------------------- errors


class DrgError(DomainError):
    """A DRG input is invalid; names the offending field."""


class RuleTableError(DrgError):
    """A rule table is malformed; ``field`` is the JSON path of the bad value."""


class CaseError(DrgError):
    """A case is malformed (not merely ungroupable)."""


class ApprovalError(DrgError):
    """A two-person approval was given twice by the same person or is otherwise invalid."""


# --------------------------------------------------------------------------- codes and patterns


class CodeSystem(StrEnum):
    """The coding system a pattern or code belongs to."""

    ICD10 = "icd10"
    ICD9CM3 = "icd9cm3"


_CODE = {
    CodeSystem.ICD10: re.compile(r"^[A-Z][0-9]{2}[0-9A-Z]{0,8}$"),
    CodeSystem.ICD9CM3: re.compile(r"^[0-9]{2}[0-9A-Z]{0,8}$"),
}
_STEM = {
    CodeSystem.ICD10: re.compile(r"^[A-Z](?:[0-9](?:[0-9][0-9A-Z]{0,8})?)?$"),
    CodeSystem.ICD9CM3: re.compile(r"^[0-9](?:[0-9][0-9A-Z]{0,8})?$"),
}
_CATEGORY = {
    CodeSystem.ICD10: re.compile(r"^[A-Z][0-9]{2}$"),
    CodeSystem.ICD9CM3: re.compile(r"^[0-9]{2}$"),
}
_CATEGORY_LEN = {CodeSystem.ICD10: 3, CodeSystem.ICD9CM3: 2}


def _dot_ok(text: str, system: CodeSystem) -> bool:
    """At most one dot, right after the category."""
    return "." not in text or (
        text.count(".") == 1 and text.index(".") == _CATEGORY_LEN[system]
    )


def normalize_code(code: str, system: CodeSystem = CodeSystem.ICD10) -> str | None:
    """Canonical undotted upper-case code, or None when the text is not a code of ``system``."""
    text = code.strip().upper()
    canonical = text.replace(".", "")
    if not _dot_ok(text, system) or not _CODE[system].match(canonical):
        return None
    return canonical


def _category_ordinal(canonical: str, system: CodeSystem) -> int:
    """Position of a code's category on the A00..Z99 (or 00..99) line."""
    if system is CodeSystem.ICD10:
        return (ord(canonical[0]) - ord("A")) * 100 + int(canonical[1:3])
    return int(canonical[:2])


class PatternKind(StrEnum):
    """Form of a code pattern, in order of decreasing specificity."""

    EXACT = "exact"
    PREFIX = "prefix"
    RANGE = "range"


_KIND_RANK = {PatternKind.EXACT: 0, PatternKind.PREFIX: 1, PatternKind.RANGE: 2}


@dataclass(frozen=True, slots=True)
class CodePattern:
    """A parsed exact code, prefix stem or category range, keeping its source text."""

    text: str
    system: CodeSystem
    kind: PatternKind
    stem: str
    end: str = ""

    @classmethod
    def parse(cls, text: Any, system: CodeSystem, path: str) -> CodePattern:
        """Parse ``I21.900``, ``I21*``/``I21`` or ``I20-I25``; RuleTableError naming ``path``."""
        if not isinstance(text, str) or not text.strip():
            raise RuleTableError(path, "must be a non-empty code pattern")
        raw = text.strip().upper()
        if "-" in raw:
            start, _, end = (part.strip() for part in raw.partition("-"))
            category = _CATEGORY[system]
            if not (category.match(start) and category.match(end)):
                raise RuleTableError(path, f"range {text!r} must join two {system} categories")
            if _category_ordinal(start, system) > _category_ordinal(end, system):
                raise RuleTableError(path, f"range {text!r} runs backwards")
            return cls(text.strip(), system, PatternKind.RANGE, start, end)
        if raw.endswith("*") or _CATEGORY[system].match(raw):
            head = raw.removesuffix("*")
            stem = head.replace(".", "")
            if not _dot_ok(head, system) or not _STEM[system].match(stem):
                raise RuleTableError(path, f"prefix {text!r} is not a {system} stem")
            return cls(text.strip(), system, PatternKind.PREFIX, stem)
        canonical = normalize_code(raw, system)
        if canonical is None:
            raise RuleTableError(path, f"{text!r} is not a {system} code or pattern")
        return cls(text.strip(), system, PatternKind.EXACT, canonical)

    def matches(self, canonical: str) -> bool:
        """Whether a normalised code falls under this pattern."""
        if self.kind is PatternKind.EXACT:
            return canonical == self.stem
        if self.kind is PatternKind.PREFIX:
            return canonical.startswith(self.stem)
        ordinal = _category_ordinal(canonical, self.system)
        lo = _category_ordinal(self.stem, self.system)
        return lo <= ordinal <= _category_ordinal(self.end, self.system)

    @property
    def specificity(self) -> tuple[int, int, int]:
        """Sort key: smaller is more specific."""
        if self.kind is PatternKind.RANGE:
            width = _category_ordinal(self.end, self.system) - _category_ordinal(
                self.stem, self.system
            )
            return (_KIND_RANK[self.kind], 0, width)
        return (_KIND_RANK[self.kind], -len(self.stem), 0)

    def describe(self) -> str:
        """Source text and kind, for the reasoning path."""
        return f"{self.text} ({self.kind})"


def best_match(patterns: Iterable[CodePattern], canonical: str) -> CodePattern | None:
    """The most specific pattern matching a normalised code, ties to the first listed."""
    found: CodePattern | None = None
    for pattern in patterns:
        if pattern.matches(canonical) and (
            found is None or pattern.specificity < found.specificity
        ):
            found = pattern
    return found


# --------------------------------------------------------------------------- rule table


@dataclass(frozen=True, slots=True)
class MdcRule:
    """A major diagnostic category and the principal diagnoses it takes."""

    mdc: str
    name: str
    icd10: tuple[CodePattern, ...]


@dataclass(frozen=True, slots=True)
class AdrgRule:
    """An adjacent DRG: surgical (by procedure) or medical (by principal diagnosis)."""

    adrg: str
    mdc: str
    name: str
    kind: Literal["surgical", "medical"]
    procedures: tuple[CodePattern, ...] = ()
    diagnoses: tuple[CodePattern, ...] = ()


@dataclass(frozen=True, slots=True)
class DrgRule:
    """One DRG: an ADRG at one severity, with its relative weight."""

    drg: str
    adrg: str
    severity: SeverityLevel
    relative_weight: Decimal
    standard_cost_fen: int | None = None


@dataclass(frozen=True, slots=True)
class CcRule:
    """A secondary diagnosis that is a complication/comorbidity (CC) or a major one (MCC)."""

    icd10: CodePattern
    level: Literal["CC", "MCC"]


@dataclass(frozen=True, slots=True)
class CcExclusion:
    """Secondary diagnoses that do not count as CC/MCC for principals matching ``principal``."""

    principal: CodePattern
    excludes: tuple[CodePattern, ...]


@dataclass(frozen=True, slots=True)
class HospitalRule:
    """Hospital-specific layer: an RW factor and/or a base rate, hospital-wide or for one DRG."""

    hospital_id: str
    drg: str | None = None
    rw_factor: Decimal | None = None
    base_rate: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ExceptionCondition:
    """When an exception applies: every given condition must hold."""

    los_days_over: int | None = None
    principal: tuple[CodePattern, ...] = ()
    procedure: tuple[CodePattern, ...] = ()


@dataclass(frozen=True, slots=True)
class ExceptionRule:
    """Exception layer: pay per diem, by items, or at an assigned DRG."""

    id: str
    when: ExceptionCondition
    action: Literal["per_diem", "item_based", "assign_drg"]
    reason: str
    drg: str | None = None
    per_diem_fen: int | None = None


@dataclass(frozen=True)
class RuleTable:
    """One version of the grouping rules: base, hospital and exception layers."""

    version: int
    effective_from: date
    label: str
    base_rates: Mapping[str, Decimal]
    mdcs: tuple[MdcRule, ...]
    adrgs: tuple[AdrgRule, ...]
    drgs: tuple[DrgRule, ...]
    cc_list: tuple[CcRule, ...] = ()
    cc_exclusions: tuple[CcExclusion, ...] = ()
    hospital_rules: tuple[HospitalRule, ...] = ()
    exceptions: tuple[ExceptionRule, ...] = ()
    _drgs_by_adrg: Mapping[str, Mapping[str, DrgRule]] = field(
        init=False, repr=False, compare=False
    )
    _drg_by_code: Mapping[str, DrgRule] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_adrg: dict[str, dict[str, DrgRule]] = {}
        for rule in self.drgs:
            by_adrg.setdefault(rule.adrg, {})[rule.severity] = rule
        object.__setattr__(self, "base_rates", MappingProxyType(dict(self.base_rates)))
        object.__setattr__(self, "_drgs_by_adrg", MappingProxyType(by_adrg))
        object.__setattr__(self, "_drg_by_code", MappingProxyType({d.drg: d for d in self.drgs}))

    def drg(self, code: str) -> DrgRule | None:
        """The DRG with this code, if any."""
        return self._drg_by_code.get(code)

    def drgs_of(self, adrg: str) -> Mapping[str, DrgRule]:
        """The DRGs of an ADRG, keyed by severity."""
        return self._drgs_by_adrg.get(adrg, MappingProxyType({}))

    def mdc(self, code: str) -> MdcRule | None:
        """The MDC with this code, if any."""
        return next((m for m in self.mdcs if m.mdc == code), None)


# --------------------------------------------------------------------------- loading


def _obj(raw: Any, path: str, required: Iterable[str], optional: Iterable[str] = ()) -> Mapping:
    """A JSON object with exactly the allowed keys (keys starting with ``_`` are comments)."""
    if not isinstance(raw, Mapping):
        raise RuleTableError(path, "must be an object")
    required = tuple(required)
    allowed = set(required) | set(optional)
    for key in raw:
        if not isinstance(key, str):
            raise RuleTableError(path, f"key {key!r} must be a string")
        if key not in allowed and not key.startswith("_"):
            raise RuleTableError(_join(path, key), "unknown key")
    for key in required:
        if key not in raw:
            raise RuleTableError(_join(path, key), "is required")
    return raw


def _join(path: str, key: str) -> str:
    return key if path == "$" else f"{path}.{key}"


def _list(raw: Any, path: str, *, allow_empty: bool = True) -> Sequence:
    if not isinstance(raw, list | tuple):
        raise RuleTableError(path, "must be a list")
    if not allow_empty and not raw:
        raise RuleTableError(path, "must not be empty")
    return raw


def _text(raw: Any, path: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise RuleTableError(path, "must be a non-empty string")
    return raw.strip()


def _rule_code(raw: Any, path: str) -> str:
    text = _text(raw, path)
    if not RULE_CODE.match(text):
        raise RuleTableError(path, f"{text!r} is not a valid code (letters, digits, _ . -)")
    return text


def _int(raw: Any, path: str, minimum: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise RuleTableError(path, "must be an integer")
    if raw < minimum:
        raise RuleTableError(path, f"must be at least {minimum}")
    return raw


def _decimal(raw: Any, path: str, places: int | None = None) -> Decimal:
    """A positive exact decimal from a string, int or Decimal (floats are refused)."""
    if isinstance(raw, float):
        raise RuleTableError(path, "must be a decimal string, not a float (write it in quotes)")
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal):
        raise RuleTableError(path, "must be a decimal string")
    try:
        value = Decimal(raw.strip() if isinstance(raw, str) else raw)
    except InvalidOperation:
        raise RuleTableError(path, f"{raw!r} is not a decimal number") from None
    if not value.is_finite() or value <= 0:
        raise RuleTableError(path, "must be a positive number")
    if places is not None and -value.as_tuple().exponent > places:  # type: ignore[operator]
        raise RuleTableError(path, f"must have at most {places} decimal places")
    return value


def _date(raw: Any, path: str) -> date:
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    if not isinstance(raw, str):
        raise RuleTableError(path, "must be an ISO date (YYYY-MM-DD)")
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        raise RuleTableError(path, f"{raw!r} is not an ISO date (YYYY-MM-DD)") from None
    if not 1900 <= day.year <= 2199:    # the alliance's calendar range: date arithmetic never overflows
        raise RuleTableError(path, "must lie within 1900-01-01..2199-12-31")
    return day


def _patterns(raw: Any, path: str, system: CodeSystem, *, allow_empty: bool = True):
    items = _list(raw, path, allow_empty=allow_empty)
    return tuple(CodePattern.parse(item, system, f"{path}[{i}]") for i, item in enumerate(items))


def _choice(raw: Any, path: str, choices: tuple[str, ...]) -> Any:
    if raw not in choices:
        raise RuleTableError(path, f"must be one of {', '.join(choices)}")
    return raw


def load_rule_table(data: Mapping[str, Any]) -> RuleTable:
    """Validate a JSON-shaped rule table; RuleTableError names the JSON path of the bad value."""
    top = _obj(
        data,
        "$",
        ("version", "effective_from", "label", "base_rates", "mdcs", "adrgs", "drgs"),
        ("cc_list", "cc_exclusions", "hospital_rules", "exceptions"),
    )
    version = _int(top["version"], "version", 1)
    effective_from = _date(top["effective_from"], "effective_from")
    label = _text(top["label"], "label")

    rates_raw = top["base_rates"]
    if not isinstance(rates_raw, Mapping):
        raise RuleTableError("base_rates", "must be an object of payer → yuan")
    if DEFAULT_PAYER not in rates_raw:
        raise RuleTableError(f"base_rates.{DEFAULT_PAYER}", "is required")
    base_rates = {
        _text(payer, "base_rates"): _decimal(rate, f"base_rates.{payer}", places=2)
        for payer, rate in rates_raw.items()
    }

    mdcs: list[MdcRule] = []
    for i, raw in enumerate(_list(top["mdcs"], "mdcs", allow_empty=False)):
        p = f"mdcs[{i}]"
        obj = _obj(raw, p, ("mdc", "name", "icd10"))
        code = _rule_code(obj["mdc"], f"{p}.mdc")
        if any(m.mdc == code for m in mdcs):
            raise RuleTableError(f"{p}.mdc", f"duplicate MDC {code!r}")
        icd10 = _patterns(obj["icd10"], f"{p}.icd10", CodeSystem.ICD10, allow_empty=False)
        mdcs.append(MdcRule(code, _text(obj["name"], f"{p}.name"), icd10))
    mdc_codes = {m.mdc for m in mdcs}

    adrgs: list[AdrgRule] = []
    for i, raw in enumerate(_list(top["adrgs"], "adrgs", allow_empty=False)):
        p = f"adrgs[{i}]"
        obj = _obj(raw, p, ("adrg", "mdc", "name", "kind"), ("procedures", "diagnoses"))
        code = _rule_code(obj["adrg"], f"{p}.adrg")
        if any(a.adrg == code for a in adrgs):
            raise RuleTableError(f"{p}.adrg", f"duplicate ADRG {code!r}")
        mdc = _text(obj["mdc"], f"{p}.mdc")
        if mdc not in mdc_codes:
            raise RuleTableError(f"{p}.mdc", f"unknown MDC {mdc!r}")
        kind = _choice(obj["kind"], f"{p}.kind", ("surgical", "medical"))
        procedures = _patterns(obj.get("procedures", []), f"{p}.procedures", CodeSystem.ICD9CM3)
        if kind == "surgical" and not procedures:
            raise RuleTableError(f"{p}.procedures", "a surgical ADRG needs at least one procedure")
        if kind == "medical" and procedures:
            raise RuleTableError(f"{p}.procedures", "a medical ADRG takes no procedures")
        diagnoses = _patterns(obj.get("diagnoses", []), f"{p}.diagnoses", CodeSystem.ICD10)
        adrgs.append(AdrgRule(code, mdc, _text(obj["name"], f"{p}.name"), kind, procedures,
                              diagnoses))
    adrg_index = {a.adrg: i for i, a in enumerate(adrgs)}

    drgs: list[DrgRule] = []
    seen: dict[tuple[str, str], str] = {}
    for i, raw in enumerate(_list(top["drgs"], "drgs", allow_empty=False)):
        p = f"drgs[{i}]"
        obj = _obj(raw, p, ("drg", "adrg", "severity", "relative_weight"), ("standard_cost_fen",))
        code = _rule_code(obj["drg"], f"{p}.drg")
        if any(d.drg == code for d in drgs):
            raise RuleTableError(f"{p}.drg", f"duplicate DRG {code!r}")
        adrg = _text(obj["adrg"], f"{p}.adrg")
        if adrg not in adrg_index:
            raise RuleTableError(f"{p}.adrg", f"unknown ADRG {adrg!r}")
        severity = _choice(obj["severity"], f"{p}.severity", SEVERITIES)
        if (adrg, severity) in seen:
            other = seen[adrg, severity]
            raise RuleTableError(
                f"{p}.severity", f"ADRG {adrg} already has a {severity} DRG ({other})"
            )
        seen[adrg, severity] = code
        rw = _decimal(obj["relative_weight"], f"{p}.relative_weight")
        standard = obj.get("standard_cost_fen")
        if standard is not None:
            standard = _int(standard, f"{p}.standard_cost_fen", 1)
        drgs.append(DrgRule(code, adrg, severity, rw, standard))
    for adrg, i in adrg_index.items():
        if (adrg, "none") not in seen:
            raise RuleTableError(
                f"adrgs[{i}]", f"ADRG {adrg} needs a DRG with severity 'none' (its default DRG)"
            )
    drg_codes = {d.drg for d in drgs}

    cc_list: list[CcRule] = []
    for i, raw in enumerate(_list(top.get("cc_list", []), "cc_list")):
        p = f"cc_list[{i}]"
        obj = _obj(raw, p, ("icd10", "level"))
        pattern = CodePattern.parse(obj["icd10"], CodeSystem.ICD10, f"{p}.icd10")
        cc_list.append(CcRule(pattern, _choice(obj["level"], f"{p}.level", ("CC", "MCC"))))

    exclusions: list[CcExclusion] = []
    for i, raw in enumerate(_list(top.get("cc_exclusions", []), "cc_exclusions")):
        p = f"cc_exclusions[{i}]"
        obj = _obj(raw, p, ("principal", "excludes"))
        principal = CodePattern.parse(obj["principal"], CodeSystem.ICD10, f"{p}.principal")
        excludes = _patterns(obj["excludes"], f"{p}.excludes", CodeSystem.ICD10, allow_empty=False)
        exclusions.append(CcExclusion(principal, excludes))

    hospital_rules: list[HospitalRule] = []
    for i, raw in enumerate(_list(top.get("hospital_rules", []), "hospital_rules")):
        p = f"hospital_rules[{i}]"
        obj = _obj(raw, p, ("hospital_id",), ("drg", "rw_factor", "base_rate"))
        hospital_id = _text(obj["hospital_id"], f"{p}.hospital_id")
        drg = obj.get("drg")
        if drg is not None:
            drg = _text(drg, f"{p}.drg")
            if drg not in drg_codes:
                raise RuleTableError(f"{p}.drg", f"unknown DRG {drg!r}")
        rw_factor = obj.get("rw_factor")
        rw_factor = None if rw_factor is None else _decimal(rw_factor, f"{p}.rw_factor")
        rate = obj.get("base_rate")
        rate = None if rate is None else _decimal(rate, f"{p}.base_rate", places=2)
        if rw_factor is None and rate is None:
            raise RuleTableError(p, "needs rw_factor or base_rate")
        for j, other in enumerate(hospital_rules):
            if (other.hospital_id, other.drg) == (hospital_id, drg):
                raise RuleTableError(
                    p, f"duplicates hospital_rules[{j}] (same hospital_id and drg)"
                )
        hospital_rules.append(HospitalRule(hospital_id, drg, rw_factor, rate))

    exceptions: list[ExceptionRule] = []
    for i, raw in enumerate(_list(top.get("exceptions", []), "exceptions")):
        p = f"exceptions[{i}]"
        obj = _obj(raw, p, ("id", "when", "action", "reason"), ("drg", "per_diem_fen"))
        rule_id = _rule_code(obj["id"], f"{p}.id")
        if any(e.id == rule_id for e in exceptions):
            raise RuleTableError(f"{p}.id", f"duplicate exception id {rule_id!r}")
        when = _obj(obj["when"], f"{p}.when", (), ("los_days_over", "principal", "procedure"))
        if not any(key in when for key in ("los_days_over", "principal", "procedure")):
            raise RuleTableError(f"{p}.when", "needs at least one condition")
        los = when.get("los_days_over")
        condition = ExceptionCondition(
            None if los is None else _int(los, f"{p}.when.los_days_over", 0),
            _patterns(when.get("principal", []), f"{p}.when.principal", CodeSystem.ICD10),
            _patterns(when.get("procedure", []), f"{p}.when.procedure", CodeSystem.ICD9CM3),
        )
        action = _choice(obj["action"], f"{p}.action", ("per_diem", "item_based", "assign_drg"))
        drg = obj.get("drg")
        per_diem = obj.get("per_diem_fen")
        if action == "assign_drg":
            drg = _text(drg, f"{p}.drg")
            if drg not in drg_codes:
                raise RuleTableError(f"{p}.drg", f"unknown DRG {drg!r}")
        elif drg is not None:
            raise RuleTableError(f"{p}.drg", "only an assign_drg exception names a DRG")
        if action == "per_diem":
            per_diem = _int(per_diem, f"{p}.per_diem_fen", 1)
        elif per_diem is not None:
            raise RuleTableError(f"{p}.per_diem_fen", "only a per_diem exception has a rate")
        exceptions.append(ExceptionRule(rule_id, condition, action,
                                        _text(obj["reason"], f"{p}.reason"), drg, per_diem))

    return RuleTable(version, effective_from, label, base_rates, tuple(mdcs), tuple(adrgs),
                     tuple(drgs), tuple(cc_list), tuple(exclusions), tuple(hospital_rules),
                     tuple(exceptions))


def dump_rule_table(table: RuleTable) -> dict[str, Any]:
    """The JSON-ready form of a table; ``load_rule_table(dump_rule_table(t)) == t``."""

    def texts(patterns: Iterable[CodePattern]) -> list[str]:
        return [p.text for p in patterns]

    def optional(**values: Any) -> dict[str, Any]:
        return {k: v for k, v in values.items() if v is not None}

    return {
        "version": table.version,
        "effective_from": table.effective_from.isoformat(),
        "label": table.label,
        "base_rates": {payer: str(rate) for payer, rate in table.base_rates.items()},
        "mdcs": [{"mdc": m.mdc, "name": m.name, "icd10": texts(m.icd10)} for m in table.mdcs],
        "adrgs": [
            {"adrg": a.adrg, "mdc": a.mdc, "name": a.name, "kind": a.kind,
             "procedures": texts(a.procedures), "diagnoses": texts(a.diagnoses)}
            for a in table.adrgs
        ],
        "drgs": [
            {"drg": d.drg, "adrg": d.adrg, "severity": d.severity,
             "relative_weight": str(d.relative_weight),
             **optional(standard_cost_fen=d.standard_cost_fen)}
            for d in table.drgs
        ],
        "cc_list": [{"icd10": c.icd10.text, "level": c.level} for c in table.cc_list],
        "cc_exclusions": [
            {"principal": x.principal.text, "excludes": texts(x.excludes)}
            for x in table.cc_exclusions
        ],
        "hospital_rules": [
            {"hospital_id": h.hospital_id,
             **optional(drg=h.drg,
                        rw_factor=None if h.rw_factor is None else str(h.rw_factor),
                        base_rate=None if h.base_rate is None else str(h.base_rate))}
            for h in table.hospital_rules
        ],
        "exceptions": [
            {"id": e.id,
             "when": {
                 **optional(los_days_over=e.when.los_days_over),
                 **({"principal": texts(e.when.principal)} if e.when.principal else {}),
                 **({"procedure": texts(e.when.procedure)} if e.when.procedure else {}),
             },
             "action": e.action, "reason": e.reason,
             **optional(drg=e.drg, per_diem_fen=e.per_diem_fen)}
            for e in table.exceptions
        ],
    }


def load_sample_table() -> RuleTable:
    """The bundled SAMPLE table (illustrative only, not a payer's grouping table)."""
    return load_rule_table(json.loads(SAMPLE_RULES_PATH.read_text(encoding="utf-8")))


def select_table(tables: Iterable[RuleTable], on: date) -> RuleTable | None:
    """The table in force on a day: the latest ``effective_from`` not after it (then version)."""
    candidates = [t for t in tables if t.effective_from <= on]
    return max(candidates, key=lambda t: (t.effective_from, t.version), default=None)


# --------------------------------------------------------------------------- case and result


def _check_text(value: Any, name: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise CaseError(name, "must be a non-empty string")


def _check_count(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CaseError(name, "must be an integer")
    if value < 0:
        raise CaseError(name, "must not be negative")


@dataclass(frozen=True, slots=True)
class Case:
    """An inpatient case as the grouper sees it (from the front page of the medical record)."""

    case_id: str
    hospital_id: str
    department: str
    payer: str
    principal_dx: str
    secondary_dx: tuple[str, ...]
    procedures: tuple[str, ...]
    los_days: int
    total_cost_fen: int

    def __post_init__(self) -> None:
        for name in ("case_id", "hospital_id", "department", "payer"):
            _check_text(getattr(self, name), name)
        if not isinstance(self.principal_dx, str):
            raise CaseError("principal_dx", "must be a string")
        for name in ("secondary_dx", "procedures"):
            codes = getattr(self, name)
            if isinstance(codes, str) or not isinstance(codes, Iterable):
                raise CaseError(name, "must be a sequence of code strings")
            codes = tuple(codes)
            if not all(isinstance(c, str) for c in codes):
                raise CaseError(name, "every code must be a string")
            object.__setattr__(self, name, codes)
        _check_count(self.los_days, "los_days")
        _check_count(self.total_cost_fen, "total_cost_fen")


@dataclass(frozen=True, slots=True)
class Step:
    """One decision of the grouping, citing the codes and the rule."""

    layer: Layer
    rule: str
    decision: str


@dataclass(frozen=True, slots=True)
class DrgPolicy:
    """Thresholds relative to the DRG standard cost."""

    approval_above: Decimal = Decimal("1.30")
    high_outlier_at: Decimal = Decimal("2.0")
    low_outlier_at: Decimal = Decimal("0.4")
    warn_at: Decimal = Decimal("0.80")
    intervene_at: Decimal = Decimal("1.10")

    def __post_init__(self) -> None:
        for name in ("approval_above", "high_outlier_at", "low_outlier_at", "warn_at",
                     "intervene_at"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
                raise DrgError(name, "must be a positive Decimal")
        if self.low_outlier_at >= self.high_outlier_at:
            raise DrgError("low_outlier_at", "must be below high_outlier_at")
        if self.warn_at >= self.intervene_at:
            raise DrgError("warn_at", "must be below intervene_at")


@dataclass(frozen=True, slots=True)
class Grouping:
    """The grouper's answer for one case, with its reasoning path."""

    case_id: str
    table_version: int
    drg: str | None
    adrg: str | None
    mdc: str | None
    severity: str | None
    relative_weight: Decimal | None
    base_rate: Decimal | None
    payment_fen: int
    standard_cost_fen: int | None
    cost_ratio: Decimal | None
    outlier: Outlier | None
    needs_two_approvals: bool
    path: tuple[Step, ...]
    ungroupable_reason: str | None

    @property
    def grouped(self) -> bool:
        """Whether the case landed in a DRG."""
        return self.drg is not None

    def explain(self) -> str:
        """The path as numbered lines, for people."""
        return "\n".join(
            f"{i}. [{s.layer}] {s.rule}: {s.decision}" for i, s in enumerate(self.path, 1)
        )


# --------------------------------------------------------------------------- arithmetic


def _round_fen(amount: Decimal) -> int:
    """Half-up to a whole fen."""
    with localcontext() as ctx:
        ctx.prec = 60
        return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _payment_fen(rw: Decimal, rate_yuan: Decimal) -> int:
    with localcontext() as ctx:
        ctx.prec = 60
        return _round_fen(rw * rate_yuan * 100)


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _ratio(numerator: int, denominator: int) -> Decimal:
    """numerator / denominator to 4 places, half-up."""
    with localcontext() as ctx:
        ctx.prec = 60
        return (Decimal(numerator) / Decimal(denominator)).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_UP
        )


def _compare(value: int, threshold: Decimal, base: int) -> int:
    """Sign of value − threshold × base, exactly (integer arithmetic)."""
    num, den = threshold.as_integer_ratio()
    left, right = value * den, num * base
    return (left > right) - (left < right)


def in_stay_status(
    accumulated_cost_fen: int, standard_cost_fen: int, policy: DrgPolicy = DrgPolicy()
) -> InStayStatus:
    """During the stay: warning at ≥ warn_at of the standard, intervention at ≥ intervene_at."""
    if isinstance(accumulated_cost_fen, bool) or not isinstance(accumulated_cost_fen, int):
        raise DrgError("accumulated_cost_fen", "must be an integer (fen)")
    if accumulated_cost_fen < 0:
        raise DrgError("accumulated_cost_fen", "must not be negative")
    if isinstance(standard_cost_fen, bool) or not isinstance(standard_cost_fen, int):
        raise DrgError("standard_cost_fen", "must be an integer (fen)")
    if standard_cost_fen <= 0:
        raise DrgError("standard_cost_fen", "must be positive")
    if _compare(accumulated_cost_fen, policy.intervene_at, standard_cost_fen) >= 0:
        return "intervention"
    if _compare(accumulated_cost_fen, policy.warn_at, standard_cost_fen) >= 0:
        return "warning"
    return "ok"


# --------------------------------------------------------------------------- grouping


@dataclass(slots=True)
class _Priced:
    """Working state of the pricing while the layers apply."""

    drg: DrgRule
    rw: Decimal
    rate: Decimal
    payment_fen: int
    standard_fen: int


def _valid_codes(
    codes: Iterable[str], system: CodeSystem
) -> tuple[list[tuple[str, str]], list[str]]:
    """(display, canonical) pairs of valid codes, deduplicated, and the invalid texts."""
    valid: list[tuple[str, str]] = []
    invalid: list[str] = []
    seen: set[str] = set()
    for code in codes:
        canonical = normalize_code(code, system)
        if canonical is None:
            invalid.append(code)
        elif canonical not in seen:
            seen.add(canonical)
            valid.append((code.strip(), canonical))
    return valid, invalid


def _pick_mdc(table: RuleTable, principal: str) -> tuple[MdcRule, CodePattern] | None:
    best: tuple[MdcRule, CodePattern] | None = None
    for rule in table.mdcs:
        pattern = best_match(rule.icd10, principal)
        if pattern is not None and (best is None or pattern.specificity < best[1].specificity):
            best = (rule, pattern)
    return best


def _pick_adrg(
    table: RuleTable, mdc: MdcRule, principal: tuple[str, str], procedures: list[tuple[str, str]]
) -> tuple[AdrgRule, str] | None:
    """The ADRG and the decision text; surgical first (table order), then medical."""
    display, canonical = principal
    candidates = [a for a in table.adrgs if a.mdc == mdc.mdc]
    for adrg in (a for a in candidates if a.kind == "surgical"):
        dx_pattern = best_match(adrg.diagnoses, canonical) if adrg.diagnoses else None
        if adrg.diagnoses and dx_pattern is None:
            continue
        for proc_display, proc in procedures:
            pattern = best_match(adrg.procedures, proc)
            if pattern is not None:
                text = (
                    f"procedure {proc_display} matches {pattern.describe()} of surgical ADRG "
                    f"{adrg.adrg} {adrg.name}"
                )
                if dx_pattern is not None:
                    text += f", principal {display} within {dx_pattern.describe()}"
                return adrg, text + " (surgical ADRGs are tried first)"
    best: tuple[AdrgRule, CodePattern | None] | None = None
    for adrg in (a for a in candidates if a.kind == "medical"):
        if not adrg.diagnoses:
            if best is None:
                best = (adrg, None)
            continue
        pattern = best_match(adrg.diagnoses, canonical)
        if pattern is not None and (
            best is None or best[1] is None or pattern.specificity < best[1].specificity
        ):
            best = (adrg, pattern)
    if best is None:
        return None
    adrg, pattern = best
    lead = (
        "no surgical ADRG of " + mdc.mdc + " matches the procedures ("
        + (", ".join(d for d, _ in procedures) or "none") + "); "
    )
    if pattern is None:
        return adrg, lead + f"principal {display} falls to catch-all medical ADRG {adrg.adrg} " \
            f"{adrg.name}"
    return adrg, lead + f"principal {display} matches {pattern.describe()} of medical ADRG " \
        f"{adrg.adrg} {adrg.name}"


def _severity(
    table: RuleTable, principal: tuple[str, str], secondaries: list[tuple[str, str]],
    invalid: list[str],
) -> tuple[SeverityLevel, str]:
    """The case's CC/MCC level and the decision text naming every secondary code's fate."""
    p_display, p_canonical = principal
    notes: list[str] = []
    level: SeverityLevel = "none"
    for display, canonical in secondaries:
        best: CcRule | None = None
        for rule in table.cc_list:
            if rule.icd10.matches(canonical) and (
                best is None or rule.icd10.specificity < best.icd10.specificity
            ):
                best = rule
        if best is None:
            notes.append(f"{display} is not a CC")
            continue
        cited = f"{display} is {best.level} (cc_list {best.icd10.text})"
        if canonical[:3] == p_canonical[:3]:
            notes.append(f"{cited} but does not count: same category as principal {p_display}")
            continue
        exclusion = next(
            (x for x in table.cc_exclusions
             if x.principal.matches(p_canonical) and any(e.matches(canonical) for e in x.excludes)),
            None,
        )
        if exclusion is not None:
            notes.append(
                f"{cited} but excluded for principal {p_display} "
                f"(cc_exclusions {exclusion.principal.text} excludes "
                f"{', '.join(e.text for e in exclusion.excludes)})"
            )
            continue
        notes.append(cited)
        if _SEVERITY_RANK[best.level] > _SEVERITY_RANK[level]:
            level = best.level
    notes.extend(f"{code!r} ignored: not an ICD-10 code" for code in invalid)
    if not secondaries and not invalid:
        return "none", "no secondary diagnoses → no CC/MCC"
    outcome = f"case severity {level}" if level != "none" else "no CC/MCC"
    return level, "; ".join(notes) + f" → {outcome}"


def _choose_drg(table: RuleTable, adrg: AdrgRule, level: SeverityLevel) -> tuple[DrgRule, str]:
    split = table.drgs_of(adrg.adrg)
    if len(split) == 1:
        only = split["none"]
        return only, (
            f"ADRG {adrg.adrg} is not split by severity; {only.drg} (RW {only.relative_weight}) "
            f"covers every case"
        )
    levels = "/".join(s for s in SEVERITIES if s in split)
    for candidate in SEVERITIES[SEVERITIES.index(level):]:
        if candidate in split:
            chosen = split[candidate]
            fallback = "" if candidate == level else (
                f"; it has no {level} DRG, so the case falls back to {candidate}"
            )
            return chosen, (
                f"ADRG {adrg.adrg} splits by severity ({levels}); case severity {level}"
                f"{fallback} → {chosen.drg} (RW {chosen.relative_weight})"
            )
    raise AssertionError("every ADRG has a 'none' DRG")  # guaranteed by load_rule_table


def _base_price(
    table: RuleTable, drg: DrgRule, payer: str, layer: Layer, steps: list[Step]
) -> _Priced:
    """RW × the payer's base rate (falling back to the default rate)."""
    if payer in table.base_rates:
        rate, source = table.base_rates[payer], f"payer {payer}"
    else:
        rate, source = table.base_rates[DEFAULT_PAYER], f"default; payer {payer} has no own rate"
    fen = _payment_fen(drg.relative_weight, rate)
    steps.append(Step(layer, "payment", (
        f"RW {drg.relative_weight} × base rate {rate} yuan ({source}) = {_yuan(fen)} yuan "
        f"= {fen} fen"
    )))
    return _Priced(drg, drg.relative_weight, rate, fen, _standard(drg, drg.relative_weight, rate))


def _standard(drg: DrgRule, rw: Decimal, rate: Decimal) -> int:
    return drg.standard_cost_fen if drg.standard_cost_fen is not None else _payment_fen(rw, rate)


def _apply_hospital(
    table: RuleTable, case: Case, priced: _Priced, layer: Layer, steps: list[Step]
) -> _Priced:
    """Hospital layer: DRG-specific values win over hospital-wide ones."""
    rules = [r for r in table.hospital_rules if r.hospital_id == case.hospital_id]
    specific = next((r for r in rules if r.drg == priced.drg.drg), None)
    wide = next((r for r in rules if r.drg is None), None)
    factor_rule = next((r for r in (specific, wide) if r and r.rw_factor is not None), None)
    rate_rule = next((r for r in (specific, wide) if r and r.base_rate is not None), None)
    if factor_rule is None and rate_rule is None:
        steps.append(Step(layer, "hospital_rules", (
            f"no hospital rule for {case.hospital_id} and DRG {priced.drg.drg}; "
            f"payment stays {priced.payment_fen} fen"
        )))
        return priced
    rw, rate, parts = priced.rw, priced.rate, []
    if factor_rule is not None:
        assert factor_rule.rw_factor is not None
        rw = priced.rw * factor_rule.rw_factor
        parts.append(f"RW {priced.rw} × factor {factor_rule.rw_factor} = {rw}")
    if rate_rule is not None:
        assert rate_rule.base_rate is not None
        rate = rate_rule.base_rate
        parts.append(f"base rate {priced.rate} → {rate} yuan")
    fen = _payment_fen(rw, rate)
    cited = sorted({_hospital_rule_name(r) for r in (factor_rule, rate_rule) if r is not None})
    steps.append(Step(layer, ", ".join(cited), (
        f"{'; '.join(parts)}; payment = RW {rw} × {rate} yuan = {_yuan(fen)} yuan = {fen} fen"
    )))
    return _Priced(priced.drg, rw, rate, fen, _standard(priced.drg, rw, rate))


def _hospital_rule_name(rule: HospitalRule) -> str:
    return f"hospital:{rule.hospital_id}" + (f"/{rule.drg}" if rule.drg else "")


def _exception_matches(
    rule: ExceptionRule, case: Case, principal: str, procedures: list[tuple[str, str]]
) -> str | None:
    """Why the exception applies, or None when one of its conditions fails."""
    why: list[str] = []
    cond = rule.when
    if cond.los_days_over is not None:
        if case.los_days <= cond.los_days_over:
            return None
        why.append(f"LOS {case.los_days} days > {cond.los_days_over}")
    if cond.principal:
        pattern = best_match(cond.principal, principal)
        if pattern is None:
            return None
        why.append(f"principal {case.principal_dx.strip()} matches {pattern.text}")
    if cond.procedure:
        hit = next(
            ((d, p) for d, c in procedures if (p := best_match(cond.procedure, c)) is not None),
            None,
        )
        if hit is None:
            return None
        why.append(f"procedure {hit[0]} matches {hit[1].text}")
    return " and ".join(why)


def _ungroupable(
    table: RuleTable, case: Case, steps: list[Step], reason: str, mdc: str | None = None
) -> Grouping:
    return Grouping(case.case_id, table.version, None, None, mdc, None, None, None, 0, None,
                    None, None, False, tuple(steps), reason)


def group_case(table: RuleTable, case: Case, policy: DrgPolicy = DrgPolicy()) -> Grouping:
    """Group a case through the base, hospital and exception layers, logging every decision."""
    if not isinstance(case, Case):
        raise CaseError("case", "must be a Case")
    steps: list[Step] = []
    principal_canonical = normalize_code(case.principal_dx, CodeSystem.ICD10)
    if principal_canonical is None:
        reason = f"principal diagnosis {case.principal_dx!r} is not a valid ICD-10 code"
        steps.append(Step("base", "principal_dx", reason + "; the case cannot be grouped"))
        return _ungroupable(table, case, steps, reason)
    principal = (case.principal_dx.strip(), principal_canonical)

    found = _pick_mdc(table, principal_canonical)
    if found is None:
        reason = f"principal diagnosis {principal[0]} matches no MDC of table v{table.version}"
        steps.append(Step("base", "mdcs", reason + "; the case cannot be grouped"))
        return _ungroupable(table, case, steps, reason)
    mdc, mdc_pattern = found
    steps.append(Step("base", f"mdc:{mdc.mdc}", (
        f"principal {principal[0]} matches {mdc_pattern.describe()} → {mdc.mdc} {mdc.name}"
    )))

    procedures, bad_procedures = _valid_codes(case.procedures, CodeSystem.ICD9CM3)
    picked = _pick_adrg(table, mdc, principal, procedures)
    ignored = "".join(f"; {c!r} ignored: not an ICD-9-CM-3 code" for c in bad_procedures)
    if picked is None:
        reason = (
            f"no ADRG of {mdc.mdc} takes principal {principal[0]} with procedures "
            f"({', '.join(d for d, _ in procedures) or 'none'})"
        )
        steps.append(Step("base", "adrgs", reason + ignored + "; the case cannot be grouped"))
        return _ungroupable(table, case, steps, reason, mdc.mdc)
    adrg, adrg_text = picked
    steps.append(Step("base", f"adrg:{adrg.adrg}", adrg_text + ignored))

    secondaries, bad_secondaries = _valid_codes(case.secondary_dx, CodeSystem.ICD10)
    level, severity_text = _severity(table, principal, secondaries, bad_secondaries)
    steps.append(Step("base", "severity", severity_text))
    drg, drg_text = _choose_drg(table, adrg, level)
    steps.append(Step("base", f"drg:{drg.drg}", drg_text))

    priced = _base_price(table, drg, case.payer, "base", steps)
    priced = _apply_hospital(table, case, priced, "hospital", steps)
    payment = priced.payment_fen

    exception = None
    for rule in table.exceptions:
        why = _exception_matches(rule, case, principal_canonical, procedures)
        if why is not None:
            exception = (rule, why)
            break
    if exception is None:
        checked = ", ".join(r.id for r in table.exceptions) or "none in the table"
        steps.append(Step("exception", "exceptions", f"no exception applies (checked: {checked})"))
    else:
        rule, why = exception
        name = f"exception:{rule.id}"
        if rule.action == "per_diem":
            assert rule.per_diem_fen is not None
            payment = rule.per_diem_fen * case.los_days
            steps.append(Step("exception", name, (
                f"{why} → paid per diem: {rule.per_diem_fen} fen × {case.los_days} days = "
                f"{payment} fen instead of {priced.payment_fen} fen ({rule.reason})"
            )))
        elif rule.action == "item_based":
            payment = case.total_cost_fen
            steps.append(Step("exception", name, (
                f"{why} → paid by items: total cost {payment} fen instead of "
                f"{priced.payment_fen} fen ({rule.reason})"
            )))
        else:
            assert rule.drg is not None
            target = table.drg(rule.drg)
            assert target is not None
            steps.append(Step("exception", name, (
                f"{why} → assigned to DRG {target.drg} instead of {drg.drg} ({rule.reason})"
            )))
            priced = _base_price(table, target, case.payer, "exception", steps)
            priced = _apply_hospital(table, case, priced, "exception", steps)
            payment = priced.payment_fen

    chosen = priced.drg
    standard = priced.standard_fen
    total = case.total_cost_fen
    needs_approval = _compare(total, policy.approval_above, standard) > 0
    outlier: Outlier | None = None
    if _compare(total, policy.high_outlier_at, standard) >= 0:
        outlier = "high"
    elif _compare(total, policy.low_outlier_at, standard) <= 0:
        outlier = "low"
    ratio = _ratio(total, standard)
    verdict = (
        f"above {policy.approval_above} → two-person approval required"
        if needs_approval else f"not above {policy.approval_above} → no extra approval"
    )
    flag = {
        "high": f"high-cost outlier (≥ {policy.high_outlier_at})",
        "low": f"low-cost outlier (≤ {policy.low_outlier_at})",
        None: "not an outlier",
    }[outlier]
    steps.append(Step("exception", "cost_check", (
        f"total cost {total} fen / standard {standard} fen = {ratio}: {verdict}; {flag}"
    )))

    adrg_code = chosen.adrg
    mdc_code = next(a.mdc for a in table.adrgs if a.adrg == adrg_code)
    return Grouping(
        case.case_id, table.version, chosen.drg, adrg_code, mdc_code, chosen.severity,
        priced.rw, priced.rate, payment, standard, ratio, outlier, needs_approval, tuple(steps),
        None,
    )


# --------------------------------------------------------------------------- two-person approval


def add_approval(existing: tuple[str, ...], approver: str) -> tuple[str, ...]:
    """Record an approval; the same person may not approve a case twice."""
    if not isinstance(approver, str) or not approver.strip():
        raise ApprovalError("approver", "must be a non-empty string")
    who = approver.strip()
    if who in (a.strip() for a in existing):
        raise ApprovalError("approver", f"{who} has already approved this case")
    return (*existing, who)


def is_approved(approvals: Iterable[str]) -> bool:
    """Two distinct people have approved."""
    return len({a.strip() for a in approvals if a.strip()}) >= 2


# --------------------------------------------------------------------------- simulation


@dataclass(frozen=True, slots=True)
class SimulationRow:
    """Payment under the current and the draft table for one hospital department."""

    hospital_id: str
    department: str
    cases: int
    current_fen: int
    draft_fen: int
    delta_fen: int


@dataclass(frozen=True, slots=True)
class Simulation:
    """What a draft table would change, replayed over historical cases."""

    rows: tuple[SimulationRow, ...]
    total_current_fen: int
    total_draft_fen: int
    changed_cases: tuple[tuple[str, str | None, str | None, int], ...]

    @property
    def total_delta_fen(self) -> int:
        """Draft minus current over all cases."""
        return self.total_draft_fen - self.total_current_fen


def simulate(cases: Sequence[Case], current: RuleTable, draft: RuleTable) -> Simulation:
    """Group every case under both tables; rows by hospital and department, changed cases listed."""
    seen: set[str] = set()
    sums: dict[tuple[str, str], list[int]] = {}
    changed: list[tuple[str, str | None, str | None, int]] = []
    for case in cases:
        if case.case_id in seen:
            raise CaseError("case_id", f"duplicate case {case.case_id!r} in the simulation")
        seen.add(case.case_id)
        before, after = group_case(current, case), group_case(draft, case)
        delta = after.payment_fen - before.payment_fen
        row = sums.setdefault((case.hospital_id, case.department), [0, 0, 0])
        row[0] += 1
        row[1] += before.payment_fen
        row[2] += after.payment_fen
        if delta or before.drg != after.drg:
            changed.append((case.case_id, before.drg, after.drg, delta))
    rows = tuple(
        SimulationRow(hospital, department, n, cur, dra, dra - cur)
        for (hospital, department), (n, cur, dra) in sorted(sums.items())
    )
    return Simulation(
        rows,
        sum(r.current_fen for r in rows),
        sum(r.draft_fen for r in rows),
        tuple(changed),
    )
