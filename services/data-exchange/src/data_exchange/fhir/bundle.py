"""Transaction Bundles: entries, intra-bundle reference resolution and mapping of a whole bundle."""

from __future__ import annotations

from collections.abc import Mapping as MappingType
from dataclasses import dataclass
from typing import Any

from data_exchange.domain.clinical import Issue, Record

from .checker import ENVELOPE, Checker, json_type
from .elements import RELATIVE
from .mapping import to_records
from .mapping_context import Lookup, list_of, text_of
from .validation import bundle as check_bundle
from .validation import envelope


class BundleError(Exception):
    """The Bundle is not a processable transaction; `issues` says why."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(f"{i.location}: {i.message}" for i in issues[:3]))
        self.issues = issues


@dataclass(frozen=True)
class Entry:
    """One transaction entry: a POST (create) or PUT (update/create with a client id) of a resource."""

    index: int                     # position in Bundle.entry
    full_url: str | None           # e.g. urn:uuid:…; what other entries reference
    resource: dict
    method: str                    # POST | PUT
    url: str                       # POST: the type; PUT: Type/id
    resource_type: str
    resource_id: str | None        # the id of a PUT url; None for POST (the server assigns one)
    if_none_exist: str | None = None

    @property
    def path(self) -> str:
        """The FHIRPath of the entry's resource."""
        return f"Bundle.entry[{self.index}].resource"


@dataclass(frozen=True)
class MappedEntry:
    """An entry with the records it maps to; report members are mapped with their report instead."""

    entry: Entry
    records: tuple[Record, ...]
    part_of: int | None = None     # index of the DiagnosticReport entry this Observation belongs to


def parse_transaction(bundle: Any) -> list[Entry]:
    """The entries of a transaction Bundle, in order; raises BundleError when it is not one.

    Only the Bundle level is checked here; `validation.validate(bundle)` checks the resources too.
    """
    c = Checker()
    if not isinstance(bundle, dict):
        c.add("error", "structure", "", f"expected a JSON object, got {json_type(bundle)}", ENVELOPE)
        raise BundleError(c.result())
    if envelope(c, bundle.get("resourceType"), "Bundle"):
        check_bundle(c, bundle, resources=False)
    if c.has_errors():
        raise BundleError([i for i in c.result() if i.severity == "error"])
    entries: list[Entry] = []
    for index, item in enumerate(bundle["entry"]):
        request, resource = item["request"], item["resource"]
        method, url = request["method"], request["url"]
        match = RELATIVE.fullmatch(url) if method == "PUT" else None
        entries.append(Entry(
            index=index, full_url=text_of(item, "fullUrl"), resource=resource, method=method, url=url,
            resource_type=resource["resourceType"], resource_id=match["id"] if match else None,
            if_none_exist=text_of(request, "ifNoneExist"),
        ))
    return entries


def entry_lookup(entries: list[Entry], fallback: Lookup | None = None) -> Lookup:
    """Resolve references by fullUrl (urn:uuid:…, absolute URL) or Type/id among the entries, then `fallback`."""
    index: dict[str, dict] = {}
    for e in entries:
        keys = [e.full_url] if e.full_url else []
        if e.full_url and e.full_url.startswith(("http://", "https://")):
            keys.append("/".join(e.full_url.rsplit("/", 2)[-2:]))
        if e.resource_id:
            keys.append(f"{e.resource_type}/{e.resource_id}")
        for key in keys:
            index.setdefault(key, e.resource)

    def lookup(reference: str) -> dict | None:
        found = index.get(reference)
        if found is None and fallback is not None:
            found = fallback(reference)
        return found

    return lookup


def transaction_records(entries: list[Entry], *, sending_facility: str,
                        fallback: Lookup | None = None) -> tuple[list[MappedEntry], list[Issue]]:
    """Map every entry; Observations that are results of a DiagnosticReport entry map with that report."""
    lookup = entry_lookup(entries, fallback)
    by_resource = {id(e.resource): e for e in entries}
    part_of: dict[int, int] = {}
    for e in entries:
        if e.resource_type == "DiagnosticReport":
            for ref in list_of(e.resource, "result"):
                target = lookup(text_of(ref, "reference") or "")
                member = by_resource.get(id(target)) if target is not None else None
                if member is not None and member.resource_type == "Observation":
                    part_of.setdefault(member.index, e.index)
    mapped: list[MappedEntry] = []
    issues: list[Issue] = []
    for e in entries:
        if e.index in part_of:
            mapped.append(MappedEntry(e, (), part_of[e.index]))
            continue
        records, found = to_records(e.resource, sending_facility=sending_facility, contained_lookup=lookup,
                                    path=e.path)
        mapped.append(MappedEntry(e, tuple(records)))
        issues += found
    return mapped, issues


def rewrite_references(resource: Any, ids: MappingType[str, str]) -> Any:
    """A copy of `resource` whose `reference` strings found in `ids` are replaced (urn:uuid → Type/id)."""
    if isinstance(resource, list):
        return [rewrite_references(item, ids) for item in resource]
    if not isinstance(resource, dict):
        return resource
    out: dict = {}
    for key, value in resource.items():
        if key == "reference" and isinstance(value, str):
            out[key] = ids.get(value, value)
        else:
            out[key] = rewrite_references(value, ids)
    return out
