"""Unified regional material codes (一物一码): one item, one code. Pure domain, no I/O.

Decisions documented here are part of the contract:

* A unified code is exactly 16 ASCII digits: 6-digit category, 6-digit feature (specification) and
  4-digit enterprise (manufacturer). Category ``000000`` and enterprise ``0000`` are invalid.
* The national medical-insurance consumables code (医保耗材编码) is checked structurally only:
  27 characters, ``C`` followed by 26 digits. Its segments are not looked up.
* A UDI-DI of 8, 12, 13 or 14 digits is a GS1 GTIN and its mod-10 check digit is verified; any
  other UDI-DI (HIBCC, ICCBBA) is 1-25 characters of ``A-Z0-9`` and is not check-digit verified.
  GTINs are compared as 14 digits, so ``6901234567892`` and ``06901234567892`` are the same DI.
* CSV files are UTF-8 (a BOM is tolerated), CRLF or LF. Rows are numbered by file line, the header
  being line 1; blank lines are skipped. Cells are stripped of surrounding space. Header columns may
  come in any order, but every column must be present and no other column may be.
* An item's base unit is stored in canonical form (``支`` becomes ``each``) and must be a unit of
  use (count, mass, volume or length), never a pack unit such as ``box``.
* Conflicts: items are the same when they share a UDI-DI, an insurance code, or the normalised
  (name, specification, manufacturer) fingerprint (NFKC, casefold, whitespace collapsed); one
  unified code carrying two different UDI-DIs names two different items.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from typing import Literal

from .errors import DomainError
from .prices import NormalisationError, canonical_unit, is_pack_unit

MAX_TEXT = 200
GTIN_LENGTHS = (8, 12, 13, 14)
ITEM_COLUMNS = ("unified_code", "name", "specification", "manufacturer", "base_unit",
                "insurance_code", "udi_di")
MAPPING_COLUMNS = ("local_code", "unified_code", "local_name", "udi_di")
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


class CodeError(DomainError):
    """A code or catalog value is invalid; names the offending field."""

    slug = "invalid-code"


def _is_digits(s: str) -> bool:
    """True when s is non-empty and only ASCII digits (str.isdigit also accepts '²')."""
    return s.isascii() and s.isdigit()


@dataclass(frozen=True, slots=True)
class UnifiedCode:
    """A parsed 16-digit unified regional material code."""

    value: str
    category: str
    feature: str
    enterprise: str


def parse_unified_code(s: str) -> UnifiedCode:
    """Split a 16-digit unified code into category, feature and enterprise parts."""
    field = "unified_code"
    if not isinstance(s, str):
        raise CodeError(field, "must be a string of 16 digits")
    if len(s) != 16 or not _is_digits(s):
        raise CodeError(field, f"must be exactly 16 digits (6 category + 6 feature + "
                               f"4 enterprise), got {s!r}")
    category, feature, enterprise = s[:6], s[6:12], s[12:]
    if category == "000000":
        raise CodeError(field, "category part (digits 1-6) must not be 000000")
    if enterprise == "0000":
        raise CodeError(field, "enterprise part (digits 13-16) must not be 0000")
    return UnifiedCode(s, category, feature, enterprise)


def validate_insurance_code(s: str) -> str:
    """Structural check of a national insurance consumables code: 'C' and 26 digits (27 chars)."""
    field = "insurance_code"
    if not isinstance(s, str) or len(s) != 27:
        raise CodeError(field, f"must be 27 characters ('C' followed by 26 digits), got {s!r}")
    if s[0] != "C":
        raise CodeError(field, "must start with 'C'")
    if not _is_digits(s[1:]):
        raise CodeError(field, "characters 2-27 must be digits")
    return s


def gs1_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for the digits before it."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def validate_udi_di(s: str) -> str:
    """A UDI-DI: a check-digit-verified GS1 GTIN, or 1-25 of A-Z0-9 for other issuing agencies."""
    field = "udi_di"
    if not isinstance(s, str) or not s:
        raise CodeError(field, "must not be empty")
    if _is_digits(s) and len(s) in GTIN_LENGTHS:
        expected = gs1_check_digit(s[:-1])
        if int(s[-1]) != expected:
            raise CodeError(field, f"GS1 GTIN-{len(s)} check digit is {s[-1]}, expected {expected}")
        return s
    if len(s) > 25 or not set(s) <= _ALNUM:
        raise CodeError(field, "must be a GS1 GTIN (8, 12, 13 or 14 digits) or 1-25 characters "
                               "of A-Z and 0-9")
    return s


def udi_key(udi_di: str) -> str:
    """Comparison key of a UDI-DI: GTINs widened to 14 digits, others as they are."""
    if _is_digits(udi_di) and len(udi_di) in GTIN_LENGTHS:
        return udi_di.zfill(14)
    return udi_di


def fingerprint(name: str, specification: str, manufacturer: str) -> tuple[str, str, str]:
    """NFKC (full-width to half-width), casefolded, whitespace-collapsed (name, spec, maker)."""
    def norm(value: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", value).casefold().split())

    return norm(name), norm(specification), norm(manufacturer)


@dataclass(frozen=True, slots=True)
class Item:
    """One catalog item under its unified code."""

    code: str
    name: str
    specification: str
    manufacturer: str
    base_unit: str
    insurance_code: str | None = None
    udi_di: str | None = None


@dataclass(frozen=True, slots=True)
class LocalMapping:
    """A hospital's local material code mapped to a unified code."""

    hospital_id: str
    local_code: str
    unified_code: str
    local_name: str = ""
    udi_di: str | None = None


@dataclass(frozen=True, slots=True)
class RowError:
    """A problem with one line of an imported file (the header is line 1)."""

    row: int
    field: str
    message: str


def _read_rows(text: str, columns: tuple[str, ...]) -> tuple[list[tuple[int, dict[str, str]]],
                                                                list[RowError]]:
    """Parse CSV text into (line, {column: stripped cell}) rows, checking the header."""
    if not isinstance(text, str):
        raise TypeError("text must be str")
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    rows: list[tuple[int, dict[str, str]]] = []
    errors: list[RowError] = []
    header: list[str] | None = None
    last_line = 0
    try:
        for cells in reader:
            line, last_line = last_line + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = [c.strip().casefold() for c in cells]
                errors.extend(_header_errors(header, columns))
                if errors:
                    return [], errors
                continue
            if len(cells) != len(header):
                errors.append(RowError(line, "row", f"expected {len(header)} columns, "
                                                    f"got {len(cells)}"))
                continue
            rows.append((line, {h: c.strip() for h, c in zip(header, cells, strict=True)}))
    except csv.Error as exc:
        errors.append(RowError(last_line + 1, "row", f"malformed CSV: {exc}"))
    if header is None:
        return [], [RowError(1, "header", f"file is empty; expected header {','.join(columns)}")]
    return rows, errors


def _header_errors(header: list[str], columns: tuple[str, ...]) -> list[RowError]:
    """Missing, unknown and repeated header columns."""
    errors = []
    missing = [c for c in columns if c not in header]
    unknown = sorted({h for h in header if h not in columns})
    repeated = sorted({h for h in header if header.count(h) > 1})
    if missing:
        errors.append(RowError(1, "header", f"missing column(s): {', '.join(missing)}"))
    if unknown:
        errors.append(RowError(1, "header", f"unknown column(s): {', '.join(unknown)}"))
    if repeated:
        errors.append(RowError(1, "header", f"repeated column(s): {', '.join(repeated)}"))
    return errors


def _text(row: dict[str, str], column: str, line: int, errors: list[RowError],
          required: bool = True) -> str:
    """A free-text cell: required unless told, at most MAX_TEXT characters."""
    value = row[column]
    if required and not value:
        errors.append(RowError(line, column, "is required"))
    elif len(value) > MAX_TEXT:
        errors.append(RowError(line, column, f"is longer than {MAX_TEXT} characters"))
    return value


def _checked(check: Callable[[str], str], value: str, line: int, errors: list[RowError]) -> str | None:
    """Run a CodeError-raising check, turning the error into a RowError."""
    try:
        return check(value)
    except CodeError as exc:
        errors.append(RowError(line, exc.field, exc.message))
        return None


def base_unit_of_use(raw: str) -> str:
    """The canonical base unit of an item; refuses unknown and pack units."""
    try:
        unit = canonical_unit(raw, "base_unit")
    except NormalisationError as exc:
        raise CodeError("base_unit", exc.message) from None
    if is_pack_unit(unit):
        raise CodeError("base_unit", f"{raw!r} is a pack unit; the base unit must be a unit of use "
                                     f"(each, ml, g, ...)")
    return unit


def parse_item_csv(text: str) -> tuple[list[Item], list[RowError]]:
    """Parse a catalog file; valid rows become items, every problem becomes a RowError."""
    rows, errors = _read_rows(text, ITEM_COLUMNS)
    items: list[Item] = []
    first_line: dict[str, int] = {}
    for line, row in rows:
        row_errors: list[RowError] = []
        code = _checked(lambda v: parse_unified_code(v).value, row["unified_code"], line,
                        row_errors)
        name = _text(row, "name", line, row_errors)
        specification = _text(row, "specification", line, row_errors)
        manufacturer = _text(row, "manufacturer", line, row_errors)
        base_unit = _checked(base_unit_of_use, row["base_unit"], line, row_errors)
        insurance = row["insurance_code"] or None
        if insurance is not None:
            insurance = _checked(validate_insurance_code, insurance, line, row_errors)
        udi = row["udi_di"] or None
        if udi is not None:
            udi = _checked(validate_udi_di, udi, line, row_errors)
        if code is not None:
            if code in first_line:
                row_errors.append(RowError(line, "unified_code",
                                           f"duplicate of line {first_line[code]}"))
            else:
                first_line[code] = line
        if row_errors:
            errors.extend(row_errors)
            continue
        assert code is not None and base_unit is not None
        items.append(Item(code, name, specification, manufacturer, base_unit, insurance, udi))
    return items, sorted(errors, key=lambda e: e.row)


def parse_mapping_csv(
    text: str, hospital_id: str, known_codes: Container[str]
) -> tuple[list[LocalMapping], list[RowError]]:
    """Parse one hospital's local-code mapping file against the known unified codes."""
    if not isinstance(hospital_id, str) or not hospital_id.strip():
        raise CodeError("hospital_id", "is required")
    rows, errors = _read_rows(text, MAPPING_COLUMNS)
    mappings: list[LocalMapping] = []
    first_line: dict[str, int] = {}
    for line, row in rows:
        row_errors: list[RowError] = []
        local_code = _text(row, "local_code", line, row_errors)
        code = _checked(lambda v: parse_unified_code(v).value, row["unified_code"], line,
                        row_errors)
        if code is not None and code not in known_codes:
            row_errors.append(RowError(line, "unified_code", f"{code} is not in the catalog"))
        local_name = _text(row, "local_name", line, row_errors, required=False)
        udi = row["udi_di"] or None
        if udi is not None:
            udi = _checked(validate_udi_di, udi, line, row_errors)
        if local_code:
            if local_code in first_line:
                row_errors.append(RowError(line, "local_code",
                                           f"duplicate of line {first_line[local_code]}"))
            else:
                first_line[local_code] = line
        if row_errors:
            errors.extend(row_errors)
            continue
        assert code is not None
        mappings.append(LocalMapping(hospital_id, local_code, code, local_name, udi))
    return mappings, sorted(errors, key=lambda e: e.row)


@dataclass(frozen=True, slots=True)
class Conflict:
    """Evidence that the one-item-one-code rule is broken."""

    kind: Literal["same_item_different_codes", "same_code_different_items"]
    unified_codes: tuple[str, ...]
    hospitals: tuple[str, ...]
    evidence: str


def _names(values: Iterable[str]) -> str:
    """'a, b and c' style list."""
    values = list(values)
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} and {values[-1]}"


def find_conflicts(items: Iterable[Item], mappings: Iterable[LocalMapping]) -> list[Conflict]:
    """Every breach of one-item-one-code, in a deterministic order."""
    items, mappings = list(items), list(mappings)
    conflicts: list[Conflict] = []

    # Same item, different codes: one UDI-DI (catalog or local) under several unified codes.
    by_udi: dict[str, set[str]] = defaultdict(set)
    udi_hospitals: dict[str, set[str]] = defaultdict(set)
    udi_shown: dict[str, str] = {}
    for item in items:
        if item.udi_di:
            by_udi[udi_key(item.udi_di)].add(item.code)
            udi_shown.setdefault(udi_key(item.udi_di), item.udi_di)
    for m in mappings:
        if m.udi_di:
            by_udi[udi_key(m.udi_di)].add(m.unified_code)
            udi_hospitals[udi_key(m.udi_di)].add(m.hospital_id)
            udi_shown.setdefault(udi_key(m.udi_di), m.udi_di)
    for key, codes in by_udi.items():
        if len(codes) > 1:
            hospitals = tuple(sorted(udi_hospitals[key]))
            where = f" (mapped by {_names(hospitals)})" if hospitals else ""
            conflicts.append(Conflict(
                "same_item_different_codes", tuple(sorted(codes)), hospitals,
                f"UDI-DI {udi_shown[key]} is carried by {len(codes)} unified codes{where}"))

    by_insurance: dict[str, set[str]] = defaultdict(set)
    by_print: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for item in items:
        if item.insurance_code:
            by_insurance[item.insurance_code].add(item.code)
        by_print[fingerprint(item.name, item.specification, item.manufacturer)].add(item.code)
    for insurance, codes in by_insurance.items():
        if len(codes) > 1:
            conflicts.append(Conflict(
                "same_item_different_codes", tuple(sorted(codes)), (),
                f"insurance code {insurance} is carried by {len(codes)} unified codes"))
    for (name, spec, maker), codes in by_print.items():
        if len(codes) > 1:
            conflicts.append(Conflict(
                "same_item_different_codes", tuple(sorted(codes)), (),
                f"{len(codes)} unified codes share name, specification and manufacturer "
                f"'{name} / {spec} / {maker}'"))

    # Same code, different items: one unified code carrying several UDI-DIs.
    udis: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    code_hospitals: dict[str, set[str]] = defaultdict(set)
    for item in items:
        if item.udi_di:
            udis[item.code][udi_key(item.udi_di)].add("catalog")
    for m in mappings:
        if m.udi_di:
            udis[m.unified_code][udi_key(m.udi_di)].add(m.hospital_id)
            code_hospitals[m.unified_code].add(m.hospital_id)
    for code, sources in udis.items():
        if len(sources) > 1:
            hospitals = tuple(sorted(code_hospitals[code]))
            seen = "; ".join(f"{udi_shown[k]} ({_names(sorted(s))})"
                             for k, s in sorted(sources.items()))
            conflicts.append(Conflict(
                "same_code_different_items", (code,), hospitals,
                f"unified code {code} carries {len(sources)} UDI-DIs: {seen}"))

    order = {"same_item_different_codes": 0, "same_code_different_items": 1}
    return sorted(conflicts, key=lambda c: (order[c.kind], c.unified_codes, c.evidence))
