"""Shared state of one mapping: sending facility, reference resolution, patient identity, codes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from data_exchange.domain.clinical import Code, Issue, PatientIdentity, Sex

from . import systems
from .checker import join
from .datetimes import parse_date, parse_datetime

Lookup = Callable[[str], dict | None]
_SEXES = {s.value: s for s in Sex}


def text_of(parent: Any, key: str) -> str | None:
    """A non-blank string element, else None."""
    value = parent.get(key) if isinstance(parent, dict) else None
    return value if isinstance(value, str) and value.strip() else None


def obj_of(parent: Any, key: str) -> dict:
    """An object element, else {}."""
    value = parent.get(key) if isinstance(parent, dict) else None
    return value if isinstance(value, dict) else {}


def list_of(parent: Any, key: str) -> list:
    """An array element, else []."""
    value = parent.get(key) if isinstance(parent, dict) else None
    return value if isinstance(value, list) else []


def first_value(resource: Any, key: str = "identifier", system: str | None = None) -> str | None:
    """The first identifier value (of `system` when given)."""
    for item in list_of(resource, key):
        if system is None or text_of(item, "system") == system:
            value = text_of(item, "value")
            if value is not None:
                return value
    return None


def instant_of(parent: Any, key: str) -> datetime | None:
    """The start of a dateTime element as an aware datetime (a bare date is 00:00 China time)."""
    moment = parse_datetime(text_of(parent, key))
    return moment.start if moment is not None else None


class Mapping:
    """One resource being mapped: resolves references, reads identities and codes, collects issues."""

    def __init__(self, resource: dict, facility: str, lookup: Lookup | None, path: str) -> None:
        """Raises ValueError when `facility` is not a valid hospital id."""
        self.resource = resource
        self.facility = facility
        self.lookup = lookup
        self.path = path
        self.issues: list[Issue] = []
        self.mrn_system = systems.mrn_system(facility)
        self.items_system = systems.local_items_system(facility)
        self.contained: dict[str, dict] = {}
        for item in list_of(resource, "contained"):
            ident = text_of(item, "id")
            if ident is not None:
                self.contained.setdefault(ident, item)

    def error(self, code: str, location: str, message: str) -> None:
        """Record an error."""
        self.issues.append(Issue("error", code, location, message))

    def resolve(self, reference: str | None, kind: str) -> dict | None:
        """The `kind` resource a reference points to: contained (#id), else through the lookup."""
        if reference is None:
            return None
        if reference.startswith("#"):
            found: Any = self.contained.get(reference[1:])
        elif self.lookup is not None:
            found = self.lookup(reference)
        else:
            found = None
        return found if isinstance(found, dict) and found.get("resourceType") == kind else None

    def identity(self, owner: dict, path: str, *, quiet: bool = False) -> PatientIdentity | None:
        """The patient of `owner.subject`: a resolvable Patient, else a logical MRN identifier."""
        where = join(path, "subject")
        ref = obj_of(owner, "subject")
        patient = self.resolve(text_of(ref, "reference"), "Patient")
        if patient is not None:
            found = self.patient_identity(patient)
            if found is not None:
                return found
        ident = obj_of(ref, "identifier")
        system, value = text_of(ident, "system"), text_of(ident, "value")
        if system == self.mrn_system and value is not None:
            return PatientIdentity(mrn=value)
        if not quiet:
            if system is not None and value is not None:
                self.error("value", join(where, "identifier.system"),
                           f"the subject identifier must be an MRN of the sending hospital ({self.mrn_system})")
            else:
                self.error("required", where, "the subject cannot be resolved to a Patient with an MRN of "
                                              f"the sending hospital ({self.mrn_system})")
        return None

    def patient_identity(self, patient: dict) -> PatientIdentity | None:
        """The identity of a Patient resource; None without an MRN of the sending hospital."""
        mrn = first_value(patient, system=self.mrn_system)
        if mrn is None:
            return None
        national = next((v for s in systems.NATIONAL_ID_SYSTEMS
                         if (v := first_value(patient, system=s)) is not None), None)
        return PatientIdentity(
            mrn=mrn,
            national_id=national,
            insurance_number=first_value(patient, system=systems.INSURANCE),
            name=name_of(patient),
            birth_date=_birth_date(patient),
            sex=_SEXES.get(text_of(patient, "gender") or "", Sex.UNKNOWN),
            phone=_phone(patient),
        )

    def code(self, concept: Any, prefer: frozenset[str] | None = None) -> Code | None:
        """The coding of a CodeableConcept: of `prefer` systems, else the hospital's local one, else the first."""
        pairs = [c for c in list_of(concept, "coding")
                 if text_of(c, "system") is not None and text_of(c, "code") is not None]
        if not pairs:
            return None
        if prefer is not None:
            chosen = next((c for c in pairs if c["system"] in prefer), None)
        else:
            chosen = next((c for c in pairs if c["system"] == self.items_system), pairs[0])
        if chosen is None:
            return None
        display = text_of(chosen, "display") or text_of(concept, "text") or ""
        return Code(code=chosen["code"], system=chosen["system"], display=display)


def name_of(patient: Any) -> str | None:
    """name[0].text, else family + given (no space between Chinese characters)."""
    names = list_of(patient, "name")
    first = names[0] if names and isinstance(names[0], dict) else {}
    text = text_of(first, "text")
    if text is not None:
        return text.strip()
    family = (text_of(first, "family") or "").strip()
    given = [g.strip() for g in list_of(first, "given") if isinstance(g, str) and g.strip()]
    parts = [p for p in (family, *given) if p]
    if not parts:
        return None
    joined = "".join(parts)
    return joined if not any("a" <= ch.lower() <= "z" for ch in joined) else " ".join(parts)


def _birth_date(patient: dict) -> date | None:
    moment = parse_date(text_of(patient, "birthDate"))
    return moment.day if moment is not None and moment.precision == "day" else None


def _phone(patient: dict) -> str | None:
    phones = [t for t in list_of(patient, "telecom")
              if text_of(t, "system") == "phone" and text_of(t, "value") is not None]
    mobile = [t for t in phones if text_of(t, "use") == "mobile"]
    chosen = (mobile or phones or [None])[0]
    return text_of(chosen, "value") if chosen is not None else None
