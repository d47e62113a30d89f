"""FHIR resources (already validated) to records of the clinical model; never raises on odd input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from data_exchange.domain.clinical import Issue, OrderRecord, PatientRecord, Record

from .checker import join
from .mapping_context import Lookup, Mapping, first_value, instant_of, obj_of, text_of
from .mapping_encounter import encounter_record
from .mapping_results import diagnostic_report, observation_report

# ServiceRequest.status to HL7 ORC-1 (OrderRecord.control).
ORDER_CONTROL = {"active": "NW", "on-hold": "HD", "revoked": "CA", "entered-in-error": "CA",
                 "completed": "SC", "unknown": "SC"}


def to_records(resource: Any, *, sending_facility: str, contained_lookup: Lookup | None = None,
               path: str | None = None) -> tuple[list[Record], list[Issue]]:
    """Map one resource to records plus issues (records only when no issue is an error).

    `contained_lookup("Type/id" | "urn:uuid:…")` resolves references that are not `#contained`.
    """
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return [], [Issue("error", "structure", path or "", "expected a FHIR resource (JSON object)")]
    kind = resource["resourceType"]
    mapper = MAPPERS.get(kind)
    if mapper is None:
        return [], [Issue("error", "not-supported", join(path or kind, "resourceType"),
                          f"{kind[:40]!r} resources are not mapped")]
    try:
        m = Mapping(resource, sending_facility, contained_lookup, path or kind)
    except ValueError:
        return [], [Issue("error", "value", "", "the sending facility is not a valid hospital id")]
    records: list[Record] = list(mapper(m))
    if any(i.severity == "error" for i in m.issues):
        return [], m.issues
    return records, m.issues


def _patient(m: Mapping) -> list[PatientRecord]:
    identity = m.patient_identity(m.resource)
    if identity is None:
        m.error("required", join(m.path, "identifier"),
                f"needs an identifier with the sending hospital's MRN system ({m.mrn_system})")
        return []
    return [PatientRecord(sending_facility=m.facility, patient=identity)]


def _service_request(m: Mapping) -> list[OrderRecord]:
    r, path = m.resource, m.path
    patient = m.identity(r, path)
    placer = first_value(r)
    if placer is None:
        m.error("required", join(path, "identifier"), "needs an identifier (the placer order number)")
    item = m.code(obj_of(r, "code"))
    if item is None:
        m.error("required", join(path, "code"), "needs a coding with system and code")
    ordered_at = instant_of(r, "authoredOn")
    if ordered_at is None:
        m.error("required", join(path, "authoredOn"), "authoredOn is required")
    control = ORDER_CONTROL.get(text_of(r, "status") or "")
    if control is None:
        m.error("not-supported", join(path, "status"), "status must not be draft")
    if patient is None or placer is None or item is None or ordered_at is None or control is None:
        return []
    encounter = obj_of(r, "encounter")
    visit = text_of(obj_of(encounter, "identifier"), "value")
    visit = visit or first_value(m.resolve(text_of(encounter, "reference"), "Encounter"))
    return [OrderRecord(sending_facility=m.facility, placer_order_id=placer, patient=patient,
                        items=(item,), ordered_at=ordered_at, control=control, visit_number=visit)]


MAPPERS: dict[str, Callable[[Mapping], list]] = {
    "Patient": _patient,
    "Observation": observation_report,
    "DiagnosticReport": diagnostic_report,
    "Encounter": encounter_record,
    "ServiceRequest": _service_request,
}
