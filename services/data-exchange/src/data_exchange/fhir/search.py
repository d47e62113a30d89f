"""FHIR search parameters of the REST API parsed into a SearchQuery; bad ones raise SearchError (→ 400)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from .checker import ID
from .datetimes import parse_search_date

DEFAULT_COUNT = 50
MAX_COUNT = 1000
MAX_VALUE = 1024
MAX_ALTERNATIVES = 100

_CLINICAL = {"_id": "token", "patient": "reference", "subject": "reference", "identifier": "token"}
# Search parameters per resource type (R4 names and types); `_count` applies to every type.
SEARCH_PARAMS: dict[str, dict[str, str]] = {
    "Patient": {"_id": "token", "identifier": "token"},
    "Encounter": {**_CLINICAL, "date": "date"},
    "Observation": {**_CLINICAL, "code": "token", "date": "date"},
    "DiagnosticReport": {**_CLINICAL, "code": "token", "date": "date"},
    "ServiceRequest": {**_CLINICAL, "code": "token", "authored": "date"},
}
# The element a date parameter searches, per type.
DATE_ELEMENTS = {"Encounter": "period", "Observation": "effectiveDateTime",
                 "DiagnosticReport": "effectiveDateTime", "ServiceRequest": "authoredOn"}
PREFIXES = ("eq", "ge", "le", "gt", "lt")
_ALL_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
_FORMATS = ("json", "application/json", "application/fhir+json")
_PATIENT_REF = re.compile(r"(?:Patient/)?(?P<id>[A-Za-z0-9\-.]{1,64})", re.ASCII)


class SearchError(ValueError):
    """An unknown, repeated or malformed search parameter."""

    def __init__(self, param: str, reason: str) -> None:
        super().__init__(f"search parameter {param[:64]!r}: {reason}")
        self.param = param
        self.reason = reason


@dataclass(frozen=True)
class Token:
    """A token value: `system|value`, `value` (system None: any), `|value` (system ""), `system|` (any value)."""

    system: str | None
    value: str | None


@dataclass(frozen=True)
class DateRange:
    """A half-open range [start, end); None is unbounded."""

    start: datetime | None = None
    end: datetime | None = None

    def contains(self, moment: datetime) -> bool:
        """Whether an aware datetime falls within the range."""
        return (self.start is None or moment >= self.start) and (self.end is None or moment < self.end)

    def is_empty(self) -> bool:
        """Whether no instant can match (contradictory date parameters)."""
        return self.start is not None and self.end is not None and self.start >= self.end


@dataclass(frozen=True)
class SearchQuery:
    """A parsed search: every given criterion must hold; alternatives within one are ORed."""

    resource_type: str
    ids: tuple[str, ...] = ()
    patient: str | None = None              # a Patient id, from `patient` or `subject`
    identifiers: tuple[Token, ...] = ()
    codes: tuple[Token, ...] = ()
    date: DateRange | None = None           # the intersection of every date/authored value
    date_element: str | None = None         # the element `date` applies to
    count: int = DEFAULT_COUNT


def parse_search(resource_type: str, params: Mapping[str, list[str]]) -> SearchQuery:
    """Parse query parameters (name → values, repeated names listed) for a search of `resource_type`."""
    known = SEARCH_PARAMS.get(resource_type)
    if known is None:
        raise SearchError("_type", f"{resource_type[:64]!r} is not searchable")
    fields: dict = {"resource_type": resource_type}
    patients: set[str] = set()
    for raw_name, values in params.items():
        name = _name(raw_name, known)
        values = [values] if isinstance(values, str) else list(values)
        if not values or any(not isinstance(v, str) or not v or len(v) > MAX_VALUE for v in values):
            raise SearchError(name, f"needs a value of 1 to {MAX_VALUE} characters")
        if known.get(name) != "date" and len(values) > 1:
            raise SearchError(name, "may appear only once")
        if name == "_format":
            if values[0] not in _FORMATS:
                raise SearchError(name, "only JSON is supported")
        elif name == "_count":
            fields["count"] = _count(values[0])
        elif name == "_id":
            fields["ids"] = tuple(_id(name, v) for v in _alternatives(name, values[0]))
        elif name in ("patient", "subject"):
            patients.add(_patient(name, values[0]))
        elif name == "identifier":
            fields["identifiers"] = tuple(_token(name, v) for v in _alternatives(name, values[0]))
        elif name == "code":
            fields["codes"] = tuple(_token(name, v) for v in _alternatives(name, values[0]))
        else:
            fields["date"] = _intersection([_date(name, v) for v in values])
            fields["date_element"] = DATE_ELEMENTS[resource_type]
    if len(patients) > 1:
        raise SearchError("patient", "patient and subject name different patients")
    if patients:
        fields["patient"] = patients.pop()
    return SearchQuery(**fields)


def _name(raw: str, known: dict[str, str]) -> str:
    name, _, modifier = raw.partition(":")
    if name not in known and name not in ("_count", "_format"):
        raise SearchError(raw, "unknown search parameter")
    if modifier and not (name in ("patient", "subject") and modifier == "Patient"):
        raise SearchError(raw, "modifiers are not supported")
    return name


def _count(value: str) -> int:
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_COUNT:
        raise SearchError("_count", f"must be an integer from 1 to {MAX_COUNT}")
    return int(value)


def _id(name: str, value: str) -> str:
    if ID.fullmatch(value) is None:
        raise SearchError(name, "not a valid id")
    return value


def _patient(name: str, value: str) -> str:
    m = _PATIENT_REF.fullmatch(value)
    if m is None:
        raise SearchError(name, "must be Patient/<id> or <id>")
    return m["id"]


def _alternatives(name: str, value: str) -> list[str]:
    """Split on unescaped commas, keeping escapes (FHIR: \\, \\| \\$ \\\\) for the token split."""
    parts = _split(value, ",")
    if len(parts) > MAX_ALTERNATIVES or any(not p for p in parts):
        raise SearchError(name, f"needs 1 to {MAX_ALTERNATIVES} non-empty comma-separated values")
    return parts


def _token(name: str, value: str) -> Token:
    parts = _split(value, "|")
    if len(parts) == 1:
        return Token(None, _unescape(parts[0]))
    if len(parts) != 2 or (not parts[0] and not parts[1]):
        raise SearchError(name, "must be [system|]value, |value or system|")
    system, code = (_unescape(p) for p in parts)
    return Token(system, code or None)


def _split(value: str, sep: str) -> list[str]:
    parts, current, i = [], [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            current.append(value[i:i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def _date(name: str, value: str) -> DateRange:
    value = value.replace(" ", "+")  # an unencoded "+" of a zone arrives as a space
    prefix = value[:2] if value[:2].isalpha() else "eq"
    if prefix not in _ALL_PREFIXES:
        raise SearchError(name, f"unknown prefix {value[:2]!r}")
    if prefix not in PREFIXES:
        raise SearchError(name, f"prefix {prefix!r} is not supported (eq, ge, le, gt, lt)")
    moment = parse_search_date(value[2:] if value[:2].isalpha() else value)
    if moment is None:
        raise SearchError(name, "must be [prefix]YYYY[-MM[-DD[Thh:mm[:ss[.s]][zone]]]]")
    if prefix == "eq":
        return DateRange(moment.start, moment.end)
    if prefix == "ge":
        return DateRange(moment.start, None)
    if prefix == "gt":
        return DateRange(moment.end, None)
    if prefix == "le":
        return DateRange(None, moment.end)
    return DateRange(None, moment.start)


def _intersection(ranges: list[DateRange]) -> DateRange:
    starts = [r.start for r in ranges if r.start is not None]
    ends = [r.end for r in ranges if r.end is not None]
    return DateRange(max(starts) if starts else None, min(ends) if ends else None)
