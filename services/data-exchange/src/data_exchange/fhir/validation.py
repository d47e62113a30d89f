"""Lean validation of FHIR R4 JSON against the alliance profile; returns issues, never raises.

The alliance profile (what `validate` enforces; unknown elements are ignored):

* All resources: a JSON object whose `resourceType` is Patient, Encounter, Observation,
  DiagnosticReport, ServiceRequest or Bundle; `id` matches `[A-Za-z0-9\\-.]{1,64}`; no
  `modifierExtension` or `implicitRules` anywhere (`not-supported`); contained resources have an id,
  no nested `contained`, and are referenced from their container (dom-3); elements we read have the
  right JSON types (`structure`), FHIR date/dateTime/instant formats on real calendar days (`value`),
  strings within limits (`too-long`). `null` counts as absent.
* References: `Type/id`, `#contained-id`, or `urn:uuid:` resolving to an entry of the same
  transaction Bundle; a subject may instead be a logical `identifier` with a hospital MRN system.
* Patient: every identifier has a value, at least one with the MRN system
  `https://alliance.example/fhir/sid/mrn/<hospital id>` (one per hospital); resident IDs (system
  `urn:oid:2.16.156.10011.1.1`) are 18 characters with a valid birth date and check digit; gender in
  male|female|other|unknown; `active: false` and `link` are not supported.
* Observation: status, code.coding with system+code, subject, effectiveDateTime (at least a full
  date), exactly one of valueQuantity (decimal value) | valueString | valueCodeableConcept, or a
  dataAbsentReason (obs-6). Contained in a DiagnosticReport, subject and effectiveDateTime default
  to the report's. `component` is not supported.
* DiagnosticReport: status, code, subject, effectiveDateTime, identifier, and `result` references to
  Observations (contained `#id`, `Observation/id` or bundle `urn:uuid:`).
* Encounter: status (arrived|triaged|in-progress|onleave|finished), class `v3-ActCode` IMP|AMB|EMER,
  subject, identifier (the visit number), period.start; `finished` needs period.end ≥ period.start.
  `diagnosis[].condition` references a *contained* Condition (ICD-10 / ICD-10-CN coded) or Procedure
  (ICD-9-CM-3 coded, optional performedDateTime); `diagnosis[].use` from diagnosis-role (AD admission,
  DD discharge, ...); `rank` 1 marks the principal diagnosis (one per use).
  Cost lines are the complex extension `https://alliance.example/fhir/StructureDefinition/cost-line`
  with sub-extensions `item` (valueCoding, the local charge code), `amount` (valueMoney: currency
  CNY, value ≥ 0 with at most 2 decimals: the line total) and optional `quantity` (valueInteger ≥ 1).
* ServiceRequest: status (not draft), an order intent, code, subject, identifier, authoredOn.
* Bundle: type transaction (batch and others `not-supported`), entries with `resource`,
  `request.method` POST (url = type) or PUT (url = type/id matching resource.id), unique fullUrls.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from data_exchange.domain.clinical import Issue

from . import profiles
from .checker import ENVELOPE, MAX_URI, Checker, join, json_type, shown
from .elements import RELATIVE, UUID_URN, Context
from .encounter_profile import encounter

RESOURCE_TYPES = ("Patient", "Encounter", "Observation", "DiagnosticReport", "ServiceRequest")
BUNDLE_TYPES = ("document", "message", "transaction", "transaction-response", "batch", "batch-response",
                "history", "searchset", "collection")
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH")
MAX_DEPTH = 32
MAX_NODES = 200_000
_SURROGATE = re.compile("[\ud800-\udfff]")

Profile = Callable[[Checker, dict, str, Context], None]
PROFILES: dict[str, Profile] = {
    "Patient": profiles.patient,
    "Observation": profiles.observation,
    "DiagnosticReport": profiles.diagnostic_report,
    "Encounter": encounter,
    "ServiceRequest": profiles.service_request,
}
CONTAINED_PROFILES: dict[str, Profile] = {
    "Patient": profiles.patient,
    "Observation": lambda c, r, path, ctx: profiles.observation(c, r, path, ctx, within_report=True),
    "Condition": profiles.condition,
    "Procedure": profiles.procedure,
}


def validate(resource: Any, *, expected_type: str | None = None) -> list[Issue]:
    """Every profile violation of one decoded JSON resource; `expected_type` is the endpoint's type."""
    c = Checker()
    if not isinstance(resource, dict):
        c.add("error", "structure", "", f"expected a JSON object, got {json_type(resource)}", ENVELOPE)
        return c.result()
    kind = resource.get("resourceType")
    if not envelope(c, kind, expected_type):
        return c.result()
    if kind == "Bundle":
        bundle(c, resource, resources=True)
    else:
        resource_issues(c, resource, kind, None)
    return _unique(c.result())


def envelope(c: Checker, kind: object, expected_type: str | None) -> bool:
    """Check resourceType against the supported and the expected type; False when unusable."""
    if not isinstance(kind, str):
        c.add("error", "structure", "resourceType", "resourceType is missing or not a string", ENVELOPE)
        return False
    if kind not in RESOURCE_TYPES and kind != "Bundle":
        c.add("error", "not-supported", "resourceType", f"resource type {shown(kind)} is not supported",
              ENVELOPE)
        return False
    if expected_type is not None and kind != expected_type:
        c.add("error", "structure", "resourceType", f"expected a {expected_type}, got {kind}", ENVELOPE)
        return False
    return True


def resource_issues(c: Checker, r: dict, kind: str, bundle_urls: dict[str, str] | None,
                    path: str | None = None) -> None:
    """Check one resource (and its contained ones) with its profile."""
    path = path or kind
    refs = walk(c, r, path)
    ctx = Context(bundle=bundle_urls)
    c.id(r, "id", path)
    c.code(r, "language", path)
    contained = _contained(c, r, path, ctx)
    PROFILES[kind](c, r, path, ctx)
    for item_path, item in contained:
        check = CONTAINED_PROFILES.get(item["resourceType"])
        if check is not None:
            check(c, item, item_path, ctx)
    targets = {text for _, text in refs}
    for item_path, item in contained:
        if "#" + item["id"] not in targets:
            c.error("invariant", item_path, "a contained resource must be referenced from its container (dom-3)")
    for ref_path, text in refs:
        if text.startswith("urn:uuid:") and (bundle_urls is None or text not in bundle_urls):
            c.error("invariant", ref_path, "urn:uuid reference does not resolve to an entry of the Bundle")


def _contained(c: Checker, r: dict, path: str, ctx: Context) -> list[tuple[str, dict]]:
    usable: list[tuple[str, dict]] = []
    for item_path, item in c.objects(r, "contained", path):
        kind = item.get("resourceType")
        if not isinstance(kind, str) or RELATIVE.fullmatch(f"{kind}/x") is None:
            c.error("structure", join(item_path, "resourceType"), "resourceType is missing or not a type name")
            continue
        ident = c.id(item, "id", item_path, required=True)
        if item.get("contained") is not None:
            c.error("invariant", join(item_path, "contained"), "contained resources do not contain (dom-2)")
        if ident is None:
            continue
        if ident in ctx.contained:
            c.error("invariant", join(item_path, "id"), "contained ids must be unique")
            continue
        ctx.contained[ident] = item
        usable.append((item_path, item))
    return usable


def walk(c: Checker, value: Any, path: str) -> list[tuple[str, str]]:
    """Flag modifier elements, invalid Unicode, excess depth and size; return every (path, reference) string."""
    refs: list[tuple[str, str]] = []
    stack: list[tuple[str, Any, int]] = [(path, value, 0)]
    seen: set[int] = set()
    nodes = 0
    while stack:
        where, node, depth = stack.pop()
        if isinstance(node, str) and _SURROGATE.search(node):
            c.error("value", where, "not valid Unicode (lone surrogate)")
        if not isinstance(node, dict | list) or id(node) in seen:
            continue
        seen.add(id(node))
        nodes += len(node)
        if nodes > MAX_NODES:
            c.error("too-long", path, f"more than {MAX_NODES} elements")
            return refs
        if depth >= MAX_DEPTH:
            c.error("structure", where, f"nested deeper than {MAX_DEPTH} levels")
            continue
        if isinstance(node, list):
            stack.extend((f"{where}[{i}]", child, depth + 1) for i, child in enumerate(node))
            continue
        for key, child in node.items():
            if not isinstance(key, str) or _SURROGATE.search(key):
                c.error("structure", where, "object keys must be valid strings")
                continue
            child_path = join(where, key)
            if key in ("modifierExtension", "implicitRules") and child is not None:
                c.error("not-supported", child_path, f"{key} is not supported")
            elif key == "reference" and isinstance(child, str) and len(child) <= MAX_URI:
                refs.append((child_path, child))
                stack.append((child_path, child, depth + 1))
            else:
                stack.append((child_path, child, depth + 1))
    return refs


def bundle(c: Checker, b: dict, *, resources: bool) -> None:
    """Check a transaction Bundle; with `resources`, each entry's resource against its profile too."""
    c.id(b, "id", "Bundle")
    shell = {**b, "entry": [{k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e
                            for e in b["entry"]]} if isinstance(b.get("entry"), list) else b
    walk(c, shell, "Bundle")
    kind = c.code(b, "type", "Bundle", BUNDLE_TYPES, required=True)
    if kind is not None and kind != "transaction":
        c.error("not-supported", "Bundle.type", f"only transaction Bundles are supported, not {kind}")
    entries = c.objects(b, "entry", "Bundle", required=True)
    urls: dict[str, str] = {}
    for entry_path, entry in entries:
        full_url = _full_url(c, entry, entry_path)
        if full_url is None:
            continue
        if full_url in urls:
            c.error("invariant", join(entry_path, "fullUrl"), "fullUrl must be unique in a Bundle (bdl-7)")
        resource = entry.get("resource")
        kind_of = resource.get("resourceType") if isinstance(resource, dict) else None
        urls[full_url] = kind_of if isinstance(kind_of, str) else ""
    for entry_path, entry in entries:
        resource = _entry(c, entry, entry_path)
        if resource is not None and resources:
            resource_issues(c, resource, resource["resourceType"], urls, join(entry_path, "resource"))


def _full_url(c: Checker, entry: dict, path: str) -> str | None:
    url = c.uri(entry, "fullUrl", path)
    if url is None:
        return None
    if not (UUID_URN.fullmatch(url) or url.startswith(("urn:oid:", "http://", "https://"))):
        c.error("value", join(path, "fullUrl"), "fullUrl must be urn:uuid:, urn:oid: or an absolute URL")
        return None
    return url


def _entry(c: Checker, entry: dict, path: str) -> dict | None:
    """Check an entry's request and resource type; the resource when it can be profiled."""
    request = c.obj(entry, "request", path, required=True)
    method = url = None
    if request is not None:
        where = join(path, "request")
        method = c.code(request, "method", where, HTTP_METHODS, required=True)
        if method is not None and method not in ("POST", "PUT"):
            c.error("not-supported", join(where, "method"), f"{method} entries are not supported (POST, PUT)")
            method = None
        url = c.string(request, "url", where, required=True, max_len=MAX_URI)
        c.string(request, "ifNoneExist", where, max_len=MAX_URI)
    resource = c.obj(entry, "resource", path, required=True)
    if resource is None:
        return None
    kind = resource.get("resourceType")
    if not isinstance(kind, str) or kind not in RESOURCE_TYPES:
        c.error("not-supported", join(path, "resource.resourceType"),
                f"resource type {shown(kind)} is not supported in a transaction")
        return None
    if method is not None and url is not None:
        _request_url(c, method, url, kind, resource.get("id"), join(path, "request.url"))
    return resource


def _request_url(c: Checker, method: str, url: str, kind: str, ident: object, where: str) -> None:
    if "?" in url:
        c.error("not-supported", where, "conditional create/update URLs are not supported")
    elif method == "POST" and url != kind:
        c.error("invariant", where, f"a POST entry's url must be {kind!r}")
    elif method == "PUT":
        m = RELATIVE.fullmatch(url)
        if m is None or m["type"] != kind:
            c.error("invariant", where, f"a PUT entry's url must be {kind}/<id>")
        elif m["id"] != ident:
            c.error("invariant", where, "a PUT entry's url id must equal resource.id")


def _unique(issues: list[Issue]) -> list[Issue]:
    seen: set[tuple[str, str, str]] = set()
    out: list[Issue] = []
    for issue in issues:
        key = (issue.severity, issue.code, issue.location)
        if key not in seen:
            seen.add(key)
            out.append(issue)
    return out
