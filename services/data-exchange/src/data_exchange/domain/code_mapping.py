"""Local codes → alliance codes. An unmapped code is reported and held, never guessed. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum

from .clinical import (
    Code,
    CostCategory,
    CostLine,
    Diagnosis,
    EncounterRecord,
    OrderRecord,
    PatientRecord,
    Procedure,
    Record,
    ResultReport,
)


class CodeKind(StrEnum):
    ITEM = "item"                  # lab / imaging items and ordered services → alliance item codes
    DEPARTMENT = "department"      # local department → alliance department code
    DIAGNOSIS = "diagnosis"        # local diagnosis code → ICD-10
    PROCEDURE = "procedure"        # local procedure code → ICD-9-CM-3
    CHARGE = "charge"              # local charge item → cost category (drugs, consumables, ...)


# Codes already sent in the alliance's standard systems pass through when well-formed;
# everything else needs an explicit per-hospital map entry.
_STANDARD = {
    CodeKind.DIAGNOSIS: ({"icd-10", "icd10", "i10", "icd-10-cn", "http://hl7.org/fhir/sid/icd-10",
                          "http://hl7.org/fhir/sid/icd-10-cn"},
                         re.compile(r"^[A-Z]\d{2}(\.[0-9A-Z]{1,4})?$")),
    CodeKind.PROCEDURE: ({"icd-9-cm-3", "icd9cm3", "i9c", "icd-9-cm", "http://hl7.org/fhir/sid/icd-9-cm"},
                         re.compile(r"^\d{2}(\.\d{1,3})?$")),
}
ALLIANCE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class InvalidMapping(ValueError):
    """A map entry that cannot be right (bad code shape, unknown cost category)."""


@dataclass(frozen=True)
class MapEntry:
    kind: CodeKind
    local_code: str
    alliance_code: str
    display: str = ""

    def validated(self) -> MapEntry:
        if not self.local_code.strip() or len(self.local_code) > 64:
            raise InvalidMapping("local_code must be 1-64 characters")
        if any(ord(c) < 32 for c in self.local_code + self.display):
            raise InvalidMapping("codes and displays must not contain control characters")
        if not ALLIANCE_CODE.match(self.alliance_code):
            raise InvalidMapping("alliance_code must be 1-64 characters of letters, digits, '.', '_' or '-'")
        if self.kind is CodeKind.CHARGE and self.alliance_code not in set(CostCategory):
            raise InvalidMapping(f"a charge maps to a cost category: one of {', '.join(CostCategory)}")
        standard = _STANDARD.get(self.kind)
        if standard and not standard[1].match(self.alliance_code):
            raise InvalidMapping(f"{self.alliance_code!r} is not a well-formed {self.kind.value} code")
        return replace(self, local_code=self.local_code.strip())


@dataclass(frozen=True)
class Unmapped:
    kind: CodeKind
    code: Code


Lookup = Callable[[CodeKind, str], Code | None]


def standard_code(kind: CodeKind, code: Code) -> Code | None:
    """A code already in the standard system the kind requires, else None."""
    standard = _STANDARD.get(kind)
    if standard and code.system.strip().lower() in standard[0] and standard[1].match(code.code.strip().upper()):
        return Code(code.code.strip().upper(), kind.value, code.display)
    return None


def local_codes(record: Record) -> Iterator[tuple[CodeKind, Code]]:
    """Every local code a record carries, with the kind of map that translates it."""
    match record:
        case ResultReport():
            yield CodeKind.ITEM, record.service
            for o in record.observations:
                yield CodeKind.ITEM, o.item
        case EncounterRecord():
            if record.department is not None:
                yield CodeKind.DEPARTMENT, record.department
            for d in record.diagnoses:
                yield CodeKind.DIAGNOSIS, d.code
            for p in record.procedures:
                yield CodeKind.PROCEDURE, p.code
            for c in record.cost_lines:
                yield CodeKind.CHARGE, c.item
        case OrderRecord():
            for item in record.items:
                yield CodeKind.ITEM, item
        case PatientRecord():
            return


def map_record(record: Record, lookup: Lookup) -> tuple[Record, list[Unmapped]]:
    """The record with alliance codes in place of local ones, plus what could not be mapped.

    Unmapped codes stay exactly as sent, so the record can be mapped again once a map entry exists.
    """
    unmapped: list[Unmapped] = []

    def m(kind: CodeKind, code: Code) -> Code:
        found = standard_code(kind, code) or lookup(kind, code.code)
        if found is None:
            unmapped.append(Unmapped(kind, code))
            return code
        return Code(found.code, found.system or kind.value, found.display or code.display)

    match record:
        case ResultReport():
            mapped: Record = replace(
                record, service=m(CodeKind.ITEM, record.service),
                observations=tuple(replace(o, item=m(CodeKind.ITEM, o.item)) for o in record.observations))
        case EncounterRecord():
            mapped = replace(
                record,
                department=m(CodeKind.DEPARTMENT, record.department) if record.department else None,
                diagnoses=tuple(Diagnosis(m(CodeKind.DIAGNOSIS, d.code), d.principal) for d in record.diagnoses),
                procedures=tuple(Procedure(m(CodeKind.PROCEDURE, p.code), p.performed_at) for p in record.procedures),
                cost_lines=tuple(CostLine(m(CodeKind.CHARGE, c.item), c.amount_fen, c.quantity)
                                 for c in record.cost_lines))
        case OrderRecord():
            mapped = replace(record, items=tuple(m(CodeKind.ITEM, i) for i in record.items))
        case _:
            mapped = record
    return mapped, _unique(unmapped)


def _unique(items: list[Unmapped]) -> list[Unmapped]:
    seen: dict[tuple[CodeKind, str], Unmapped] = {}
    for u in items:
        seen.setdefault((u.kind, u.code.code), u)
    return list(seen.values())

