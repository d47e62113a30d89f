"""Checks of the FHIR datatypes our profile reads: Coding, CodeableConcept, Identifier, Reference."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from . import systems
from .checker import MAX_IDENTIFIER, MAX_URI, Checker, join

UUID_URN = re.compile(r"urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
                      re.ASCII)
RELATIVE = re.compile(r"(?P<type>[A-Z][A-Za-z]{1,63})/(?P<id>[A-Za-z0-9\-.]{1,64})", re.ASCII)
NATIONAL_ID = re.compile(r"[1-9]\d{5}(18|19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}[\dX]", re.ASCII)
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@dataclass
class Context:
    """What references of one resource can resolve to: its contained resources and bundle entries."""

    contained: dict[str, dict] = field(default_factory=dict)   # id -> contained resource
    bundle: dict[str, str] | None = None                       # fullUrl -> resourceType


def national_id_ok(value: str) -> bool:
    """Whether `value` is an 18-character resident ID with a real birth date and GB 11643 check digit."""
    if NATIONAL_ID.fullmatch(value) is None:
        return False
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == value[17]


def coding(c: Checker, value: dict, path: str) -> tuple[str | None, str | None]:
    """A Coding's (system, code)."""
    system = c.uri(value, "system", path)
    code = c.code(value, "code", path)
    c.string(value, "display", path)
    c.string(value, "version", path)
    c.boolean(value, "userSelected", path)
    return system, code


def codings(c: Checker, parent: dict, key: str, path: str, *, required: bool = False,
            need_coding: bool = False) -> list[tuple[str, str]]:
    """A CodeableConcept's (system, code) pairs; `need_coding` demands one with both."""
    concept = c.obj(parent, key, path, required=required)
    if concept is None:
        return []
    where = join(path, key)
    c.string(concept, "text", where)
    pairs: list[tuple[str, str]] = []
    for item_path, item in c.objects(concept, "coding", where):
        system, code = coding(c, item, item_path)
        if system is not None and code is not None:
            pairs.append((system, code))
    if need_coding and not pairs:
        c.error("required", join(where, "coding"), "needs a coding with system and code")
    return pairs


def concepts(c: Checker, parent: dict, key: str, path: str) -> list[tuple[str, str]]:
    """The (system, code) pairs of an array of CodeableConcepts."""
    pairs: list[tuple[str, str]] = []
    for item_path, item in c.objects(parent, key, path):
        c.string(item, "text", item_path)
        for coding_path, value in c.objects(item, "coding", item_path):
            system, code = coding(c, value, coding_path)
            if system is not None and code is not None:
                pairs.append((system, code))
    return pairs


def identifier(c: Checker, value: dict, path: str, *, need_system: bool = False,
               need_value: bool = True) -> tuple[str | None, str | None]:
    """An Identifier's (system, value); resident IDs must be well-formed."""
    system = c.uri(value, "system", path, required=need_system)
    text = c.string(value, "value", path, required=need_value, max_len=MAX_IDENTIFIER)
    c.code(value, "use", path, ("usual", "official", "temp", "secondary", "old"))
    c.obj(value, "type", path)
    if system in systems.NATIONAL_ID_SYSTEMS and text is not None and not national_id_ok(text):
        c.error("value", join(path, "value"),
                "not a valid resident ID number (18 characters, birth date, check digit)")
    return system, text


def identifiers(c: Checker, parent: dict, key: str, path: str, *, required: bool = False,
                need_system: bool = False) -> list[tuple[str | None, str | None]]:
    """The (system, value) pairs of an Identifier array; `required` demands one with a value."""
    pairs = [identifier(c, item, item_path, need_system=need_system)
             for item_path, item in c.objects(parent, key, path, required=required)]
    return pairs


def reference(c: Checker, parent: dict, key: str, path: str, targets: tuple[str, ...], ctx: Context, *,
              required: bool = False, allow_identifier: bool = True, need_system: bool = False) -> dict | None:
    """A Reference element to one of `targets`."""
    ref = c.obj(parent, key, path, required=required)
    if ref is not None:
        reference_value(c, ref, join(path, key), targets, ctx, allow_identifier=allow_identifier,
                        need_system=need_system)
    return ref


def references(c: Checker, parent: dict, key: str, path: str, targets: tuple[str, ...], ctx: Context, *,
               required: bool = False, allow_identifier: bool = True) -> list[tuple[str, dict]]:
    """An array of References to `targets` as (item path, reference) pairs."""
    items = c.objects(parent, key, path, required=required)
    for where, ref in items:
        reference_value(c, ref, where, targets, ctx, allow_identifier=allow_identifier)
    return items


def reference_value(c: Checker, ref: dict, where: str, targets: tuple[str, ...], ctx: Context, *,
                    allow_identifier: bool = True, need_system: bool = False) -> None:
    """A Reference by `Type/id`, `#contained`, `urn:uuid:` (in bundles) or a logical identifier."""
    text = c.string(ref, "reference", where, max_len=MAX_URI)
    c.string(ref, "display", where)
    c.uri(ref, "type", where)
    ident = c.obj(ref, "identifier", where)
    if ident is not None:
        if allow_identifier:
            identifier(c, ident, join(where, "identifier"), need_system=need_system)
        else:
            c.error("not-supported", join(where, "identifier"), "a logical reference is not supported here")
    if text is None and ident is None and "reference" not in ref:
        c.error("required", where, "needs a reference or an identifier")
    if text is not None:
        _reference_text(c, text, join(where, "reference"), targets, ctx)


def _reference_text(c: Checker, text: str, where: str, targets: tuple[str, ...], ctx: Context) -> None:
    wanted = " or ".join(targets)
    if text.startswith("#"):
        target = ctx.contained.get(text[1:])
        if target is None:
            c.error("invariant", where, "does not resolve to a contained resource")
        elif target.get("resourceType") not in targets:
            c.error("invariant", where, f"must refer to a contained {wanted}")
        return
    if text.startswith("urn:uuid:"):
        if UUID_URN.fullmatch(text) is None:
            c.error("value", where, "not a valid urn:uuid")
        elif ctx.bundle is None:
            c.error("invariant", where, "urn:uuid references resolve only inside a transaction Bundle")
        elif text not in ctx.bundle:
            c.error("invariant", where, "does not resolve to an entry of the Bundle")
        elif ctx.bundle[text] not in targets:
            c.error("invariant", where, f"must refer to a {wanted} entry")
        return
    m = RELATIVE.fullmatch(text)
    if m is None:
        c.error("value", where, f"must be {wanted}/<id>, #<contained id> or urn:uuid:<uuid>")
    elif m["type"] not in targets:
        c.error("value", where, f"must refer to a {wanted}")


def subject(c: Checker, parent: dict, path: str, ctx: Context, *, required: bool = True) -> None:
    """A subject Reference to a Patient; a logical one must carry a hospital MRN."""
    ref = reference(c, parent, "subject", path, ("Patient",), ctx, required=required, need_system=True)
    ident = ref.get("identifier") if ref is not None else None
    if isinstance(ident, dict):
        system = ident.get("system")
        if isinstance(system, str) and systems.hospital_of_mrn_system(system) is None:
            c.error("value", join(path, "subject.identifier.system"),
                    f"must be a hospital MRN system ({systems.MRN_PREFIX}<hospital id>)")

