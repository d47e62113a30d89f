"""Typed, never-raising readers of FHIR JSON elements that record an Issue per violation."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from data_exchange.domain.clinical import Issue

from .datetimes import Moment, parse_date, parse_datetime, parse_instant

MAX_STRING = 4_096           # any string element we read, unless a larger limit is given
MAX_TEXT = 1_048_576         # narrative-like strings (valueString): the FHIR 1 MB limit
MAX_URI = 1_024
MAX_IDENTIFIER = 128
MAX_ITEMS = 1_000            # elements of one array we read
MAX_ISSUES = 200
ENVELOPE = {"level": "envelope"}  # Issue.details marking a 400-class (not a profile) error

ID = re.compile(r"[A-Za-z0-9\-.]{1,64}", re.ASCII)
_DAY_PRECISIONS = frozenset({"day", "minute", "second", "fraction"})


def shown(value: object, limit: int = 40) -> str:
    """A short, safe rendering of a received value for messages (never identifiers)."""
    if isinstance(value, str):
        return repr(value if len(value) <= limit else value[:limit] + "…")
    if value is None or isinstance(value, bool | int | float | Decimal):
        text = repr(value)
        return text if len(text) <= limit else text[:limit] + "…"
    return f"a JSON {json_type(value)}"


def json_type(value: object) -> str:
    """The JSON type name of a Python value decoded from JSON."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    return "null" if value is None else type(value).__name__


def join(path: str, key: str) -> str:
    """A FHIRPath child expression."""
    return f"{path}.{key}" if path else key


class Checker:
    """Collects issues while reading elements; every reader returns None on a violation."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []
        self._dropped = 0

    # -- recording --------------------------------------------------------------------------
    def add(self, severity: str, code: str, location: str, message: str,
            details: dict[str, str] | None = None) -> None:
        """Record one issue (beyond MAX_ISSUES only counted)."""
        if len(self.issues) >= MAX_ISSUES:
            self._dropped += 1
            return
        self.issues.append(Issue(severity, code, location, message, dict(details or {})))

    def error(self, code: str, location: str, message: str) -> None:
        """Record an error."""
        self.add("error", code, location, message)

    def warning(self, code: str, location: str, message: str) -> None:
        """Record a warning."""
        self.add("warning", code, location, message)

    def result(self) -> list[Issue]:
        """The issues, with a final one saying how many were left out."""
        if self._dropped:
            return [*self.issues, Issue("error", "too-long", "",
                                        f"{self._dropped} further issues were not listed")]
        return list(self.issues)

    def has_errors(self) -> bool:
        """Whether any error was recorded."""
        return self._dropped > 0 or any(i.severity == "error" for i in self.issues)

    # -- structure --------------------------------------------------------------------------
    def _present(self, parent: dict, key: str, path: str, required: bool) -> Any:
        value = parent.get(key)
        if value is None and required:
            self.error("required", join(path, key), f"{key} is required")
        return value

    def obj(self, parent: dict, key: str, path: str, *, required: bool = False) -> dict | None:
        """A JSON object element."""
        value = self._present(parent, key, path, required)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.error("structure", join(path, key), f"expected a JSON object, got {json_type(value)}")
            return None
        return value

    def array(self, parent: dict, key: str, path: str, *, required: bool = False) -> list[tuple[str, Any]]:
        """A JSON array element as (item path, item) pairs; a missing or empty required array is an error."""
        value = self._present(parent, key, path, required)
        if value is None:
            return []
        where = join(path, key)
        if not isinstance(value, list):
            self.error("structure", where, f"expected a JSON array, got {json_type(value)}")
            return []
        if not value and required:
            self.error("required", where, f"{key} needs at least one element")
        if len(value) > MAX_ITEMS:
            self.error("too-long", where, f"more than {MAX_ITEMS} elements")
            value = value[:MAX_ITEMS]
        return [(f"{where}[{i}]", item) for i, item in enumerate(value)]

    def objects(self, parent: dict, key: str, path: str, *, required: bool = False) -> list[tuple[str, dict]]:
        """A JSON array of objects as (item path, item) pairs, skipping (and flagging) non-objects."""
        out: list[tuple[str, dict]] = []
        for where, item in self.array(parent, key, path, required=required):
            if isinstance(item, dict):
                out.append((where, item))
            else:
                self.error("structure", where, f"expected a JSON object, got {json_type(item)}")
        return out

    # -- primitives -------------------------------------------------------------------------
    def string(self, parent: dict, key: str, path: str, *, required: bool = False,
               max_len: int = MAX_STRING) -> str | None:
        """A non-blank string element of at most `max_len` characters."""
        value = self._present(parent, key, path, required)
        if value is None:
            return None
        where = join(path, key)
        if not isinstance(value, str):
            self.error("structure", where, f"expected a string, got {json_type(value)}")
            return None
        if len(value) > max_len:
            self.error("too-long", where, f"longer than {max_len} characters")
            return None
        if not value.strip():
            self.error("value", where, "must not be blank")
            return None
        return value

    def uri(self, parent: dict, key: str, path: str, *, required: bool = False) -> str | None:
        """A uri element without whitespace."""
        value = self.string(parent, key, path, required=required, max_len=MAX_URI)
        if value is not None and any(ch.isspace() for ch in value):
            self.error("value", join(path, key), "a uri must not contain whitespace")
            return None
        return value

    def code(self, parent: dict, key: str, path: str, allowed: Iterable[str] | None = None, *,
             required: bool = False, issue: str = "code-invalid") -> str | None:
        """A code element, optionally from a fixed value set (`issue` when outside it)."""
        value = self.string(parent, key, path, required=required, max_len=256)
        if value is None:
            return None
        if value != value.strip() or "  " in value:
            self.error("value", join(path, key), "a code has no leading, trailing or double spaces")
            return None
        if allowed is not None:
            allowed = tuple(allowed)
            if value not in allowed:
                self.error(issue, join(path, key),
                           f"{shown(value)} is not one of {', '.join(allowed)}")
                return None
        return value

    def boolean(self, parent: dict, key: str, path: str, *, required: bool = False) -> bool | None:
        """A boolean element."""
        value = self._present(parent, key, path, required)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.error("structure", join(path, key), f"expected a boolean, got {json_type(value)}")
            return None
        return value

    def decimal(self, parent: dict, key: str, path: str, *, required: bool = False) -> Decimal | None:
        """A finite JSON number (int, float or Decimal; never a boolean) as a Decimal."""
        value = self._present(parent, key, path, required)
        if value is None:
            return None
        number = as_decimal(value)
        if number is None:
            where = join(path, key)
            if isinstance(value, float | Decimal):
                self.error("value", where, "must be a finite number")
            else:
                self.error("structure", where, f"expected a number, got {json_type(value)}")
        return number

    def integer(self, parent: dict, key: str, path: str, *, required: bool = False,
                minimum: int | None = None) -> int | None:
        """A JSON integer (no fraction, no boolean), at least `minimum` when given."""
        value = self._present(parent, key, path, required)
        if value is None:
            return None
        where = join(path, key)
        if isinstance(value, bool) or not isinstance(value, int):
            self.error("structure", where, f"expected an integer, got {json_type(value)}")
            return None
        if abs(value) > 2_147_483_647:
            self.error("value", where, "outside the 32-bit integer range")
            return None
        if minimum is not None and value < minimum:
            self.error("value", where, f"must be at least {minimum}")
            return None
        return value

    def id(self, parent: dict, key: str, path: str, *, required: bool = False) -> str | None:
        """A FHIR id: [A-Za-z0-9\\-.]{1,64}."""
        value = self._present(parent, key, path, required)
        if value is None:
            return None
        where = join(path, key)
        if not isinstance(value, str):
            self.error("structure", where, f"expected a string, got {json_type(value)}")
            return None
        if len(value) > 64:
            self.error("too-long", where, "an id has at most 64 characters")
            return None
        if ID.fullmatch(value) is None:
            self.error("value", where, "an id has only A-Z a-z 0-9 - .")
            return None
        return value

    # -- dates ------------------------------------------------------------------------------
    def date(self, parent: dict, key: str, path: str, *, required: bool = False) -> Moment | None:
        """A FHIR date element."""
        return self._temporal(parent, key, path, required, parse_date, "date (YYYY[-MM[-DD]])")

    def datetime(self, parent: dict, key: str, path: str, *, required: bool = False,
                 to_the_day: bool = False) -> Moment | None:
        """A FHIR dateTime element; `to_the_day` demands at least a full date."""
        moment = self._temporal(parent, key, path, required, parse_datetime,
                                "dateTime (YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+zz:zz)")
        if moment is not None and to_the_day and moment.precision not in _DAY_PRECISIONS:
            self.error("value", join(path, key), "needs at least a full date (YYYY-MM-DD)")
            return None
        return moment

    def instant(self, parent: dict, key: str, path: str, *, required: bool = False) -> Moment | None:
        """A FHIR instant element."""
        return self._temporal(parent, key, path, required, parse_instant,
                              "instant (YYYY-MM-DDThh:mm:ss[.sss]+zz:zz)")

    def _temporal(self, parent: dict, key: str, path: str, required: bool,
                  parse: Callable[[object], Moment | None], what: str) -> Moment | None:
        value = self._present(parent, key, path, required)
        if value is None:
            return None
        where = join(path, key)
        if not isinstance(value, str):
            self.error("structure", where, f"expected a string, got {json_type(value)}")
            return None
        moment = parse(value)
        if moment is None:
            self.error("value", where, f"{shown(value)} is not a valid FHIR {what}")
        return moment


def as_decimal(value: object) -> Decimal | None:
    """A finite JSON number as a Decimal (floats by their shortest repr), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        try:
            return value if value.is_finite() else None
        except InvalidOperation:
            return None
    return None
