"""The Patient resource of one hospital's patient, and what other hospitals may see of it. Pure.

There is one Patient per hospital + MRN: the first door the MRN came through (an HL7 v2 PID, or a FHIR
Patient) names it, and later input through either door updates that same resource. An HL7 PID refreshes
what it carries (MRN, national ID, insurance number, name, birth date, sex, phone) and leaves the rest as
it was, so a sparse PID (an ORU's) never erases demographics an ADT sent. Every Patient carries the
alliance patient id (`AP-…`) as an identifier with system `systems.ALLIANCE_PATIENT`, kept current by
merges; a Patient whose MRN was merged into another MRN of the same hospital is inactive and links to the
survivor (`link.type` replaced-by; the survivor lists it as replaces).

A hospital sees another hospital's resources only through a care relationship, and then without that
hospital's MRNs (`redacted`): they are dropped from identifiers and from patient references.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from data_exchange.domain.clinical import Sex

from . import systems

MR_TYPE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}
_SERVER_LINKS = frozenset({"replaced-by", "replaces"})


@dataclass(frozen=True)
class Demographics:
    """What one message says about the patient, identifiers already protected (national ID and phone masked)."""

    mrn: str
    national_id_masked: str | None = None
    insurance_number: str | None = None
    name: str | None = None
    birth_date: date | None = None
    sex: Sex = Sex.UNKNOWN
    phone_masked: str | None = None


def patient_key(hospital_id: str, mrn: str) -> str:
    """The key of the Patient the server derives for a hospital's MRN (its id is derived from it)."""
    return f"{hospital_id}/patient/{mrn}"


def mrn_token(hospital_id: str, mrn: str) -> str:
    """The stored identifier token by which the Patient of (hospital, MRN) is found."""
    return f"{systems.mrn_system(hospital_id)}|{mrn}"


def _identifiers(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in body.get("identifier") or [] if isinstance(i, dict)]


def _put(identifiers: list[dict[str, Any]], systems_replaced: Iterable[str], new: dict[str, Any]) -> None:
    """Replace the identifiers of `systems_replaced` by `new`, where the first of them was (else append)."""
    replaced = frozenset(systems_replaced)
    positions = [n for n, i in enumerate(identifiers) if i.get("system") in replaced]
    at = positions[0] if positions else len(identifiers)
    for n in reversed(positions):
        del identifiers[n]
    identifiers.insert(min(at, len(identifiers)), new)


def from_demographics(previous: dict[str, Any] | None, facts: Demographics, *, hospital_id: str,
                      resource_id: str, alliance_id: str) -> dict[str, Any]:
    """The Patient (without meta) after a message: what it carries replaces, what it leaves out is kept."""
    body = {k: copy.deepcopy(v) for k, v in (previous or {}).items() if k != "meta"}
    body["resourceType"], body["id"] = "Patient", resource_id
    identifiers = _identifiers(body)
    mrn_system = systems.mrn_system(hospital_id)
    mrn = next((i for i in identifiers if i.get("system") == mrn_system and i.get("value") == facts.mrn), None)
    if mrn is None:
        identifiers.insert(0, {"use": "usual", "type": MR_TYPE, "system": mrn_system, "value": facts.mrn})
    if facts.national_id_masked:
        _put(identifiers, systems.NATIONAL_ID_SYSTEMS, {"system": systems.NATIONAL_ID,
                                                        "value": facts.national_id_masked})
    if facts.insurance_number:
        _put(identifiers, [systems.INSURANCE], {"system": systems.INSURANCE, "value": facts.insurance_number})
    body["identifier"] = identifiers
    body = with_alliance_id(body, alliance_id)
    body.setdefault("active", True)
    if facts.name:
        body["name"] = [{"text": facts.name}]
    if facts.sex is not Sex.UNKNOWN or "gender" not in body:
        body["gender"] = facts.sex.value
    if facts.birth_date is not None:
        body["birthDate"] = facts.birth_date.isoformat()
    if facts.phone_masked:
        others = [t for t in body.get("telecom") or [] if not (isinstance(t, dict) and t.get("system") == "phone")]
        body["telecom"] = [{"system": "phone", "value": facts.phone_masked}, *others]
    return body


def with_alliance_id(resource: dict[str, Any], alliance_id: str) -> dict[str, Any]:
    """A copy of a Patient whose alliance identifier is `alliance_id` (a client-sent one is replaced)."""
    body = copy.deepcopy(resource)
    identifiers = _identifiers(body)
    _put(identifiers, [systems.ALLIANCE_PATIENT], {"use": "secondary", "system": systems.ALLIANCE_PATIENT,
                                                   "value": alliance_id})
    if identifiers[0].get("system") == systems.ALLIANCE_PATIENT and len(identifiers) > 1:
        identifiers.append(identifiers.pop(0))    # the hospital's own identifier stays first
    body["identifier"] = identifiers
    return body


def with_links(resource: dict[str, Any], *, replaced_by: str | None, replaces: Iterable[str]) -> dict[str, Any]:
    """A copy of a Patient with the server's merge links: inactive and replaced-by a survivor, or replacing others.

    Arguments are Patient ids of the same hospital. Links of other types are kept; `active` changes only
    when the Patient becomes, or stops being, replaced.
    """
    body = copy.deepcopy(resource)
    links = [link for link in body.get("link") or [] if isinstance(link, dict)]
    was_replaced = any(link.get("type") == "replaced-by" for link in links)
    kept = [link for link in links if link.get("type") not in _SERVER_LINKS]
    ours = [{"other": {"reference": f"Patient/{replaced_by}"}, "type": "replaced-by"}] if replaced_by else []
    ours += [{"other": {"reference": f"Patient/{rid}"}, "type": "replaces"} for rid in sorted(set(replaces))]
    if kept or ours:
        body["link"] = kept + ours
    else:
        body.pop("link", None)
    if replaced_by is not None:
        body["active"] = False
    elif was_replaced:
        body["active"] = True
    return body


def tokens_of(body: dict[str, Any], previous_tokens: Iterable[str], national_token: str | None) -> list[str]:
    """The identifier tokens of a protected Patient: national ID by its hash (new, else the previous one)."""
    national = [national_token] if national_token else [
        t for t in previous_tokens if t.startswith(f"{systems.NATIONAL_ID}|#")][:1]
    out: list[str] = []
    for ident in _identifiers(body):
        value, system = ident.get("value"), ident.get("system") or ""
        if not isinstance(value, str):
            continue
        if system in systems.NATIONAL_ID_SYSTEMS:
            out += national
            national = []
        else:
            out.append(f"{system}|{value}")
    return out


# --- what another hospital sees --------------------------------------------------------------

def _foreign_mrn(system: object, viewer: str) -> bool:
    owner = systems.hospital_of_mrn_system(system) if isinstance(system, str) else None
    return owner is not None and owner != viewer


def redacted(resource: dict[str, Any], viewer: str | None, alliance_id: str | None = None) -> dict[str, Any]:
    """The resource as hospital `viewer` may see it: no other hospital's MRN. `viewer` None (an administrator)
    sees everything. A patient reference by another hospital's MRN becomes one by the alliance id (if known)."""
    if viewer is None:
        return resource

    def walk(node: Any, resource: bool) -> Any:
        if isinstance(node, list):
            return [walk(item, resource) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "identifier" and resource and isinstance(value, list):
                out[key] = [walk(i, False) for i in value
                            if not (isinstance(i, dict) and _foreign_mrn(i.get("system"), viewer))]
            elif key == "identifier" and isinstance(value, dict) and _foreign_mrn(value.get("system"), viewer):
                if alliance_id:
                    out[key] = {"system": systems.ALLIANCE_PATIENT, "value": alliance_id}
            else:
                out[key] = walk(value, key == "contained")
        return out

    body = walk(resource, True)
    if not body.get("identifier"):
        body.pop("identifier", None)
    return body


def foreign_mrn_system(system: str | None, viewer: str | None) -> bool:
    """True when a search names another hospital's MRN system (a hospital cannot search by those)."""
    return viewer is not None and _foreign_mrn(system, viewer)


def matches_visible_identifier(resource: dict[str, Any], value: str, viewer: str | None) -> bool:
    """Whether an identifier the viewer may see has `value` (a system-less `identifier=` search)."""
    return any(i.get("value") == value and not (viewer is not None and _foreign_mrn(i.get("system"), viewer))
               for i in _identifiers(resource))
