"""Published records received as HL7 v2 → FHIR R4 resources, so that FHIR readers see them too. Pure.

The inverse direction of mapping_results.py / mapping_encounter.py, in the alliance profile's shape:

* a ResultReport (ORU^R01, one OBR group) → one DiagnosticReport plus one Observation per OBX line,
  the report referencing its lines as `Observation/<id>`;
* the published EncounterRecords of one visit (ADT A01/A04/A08/A03 of one PV1-19) → one Encounter,
  with contained Conditions (ICD-10) and Procedures (ICD-9-CM-3) and cost-line extensions.

Codes carry both the alliance coding (as mapped) and the hospital's local coding (as sent), so a
search by either finds the resource. Subjects reference the Patient by server id (`Patient/<id>`, the
hospital's Patient of that MRN, see patient.py) and by the sending hospital's MRN (a logical reference,
as the profile requires) — no names or national IDs. Resource ids are derived from the record key,
so a resent or corrected message updates the same resources rather than adding new ones. Every
resource carries `meta.source` and a `meta.tag` saying it was received as HL7 v2.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from data_exchange.domain.clinical import (
    Code,
    EncounterKind,
    EncounterRecord,
    Observation,
    ResultCategory,
    ResultReport,
)
from data_exchange.domain.code_mapping import CodeKind
from data_exchange.hl7.tables import CODED_TYPES

from . import systems

ID_PREFIX = "hl7v2-"
ORIGIN = "hl7v2"

# HL7 table 0085 (result status) → Observation.status
OBSERVATION_STATUS = {"F": "final", "U": "final", "C": "corrected", "P": "preliminary", "R": "preliminary",
                      "S": "preliminary", "I": "registered", "O": "registered", "X": "cancelled",
                      "N": "cancelled", "W": "entered-in-error", "D": "entered-in-error"}
# HL7 table 0004 (patient class) → Encounter.class (v3-ActCode); others keep the v2 code
ENCOUNTER_CLASS = {v: k for k, v in systems.ENCOUNTER_CLASSES.items()}
# The visit's state is that of its most advanced event; A08 alone says nothing about where the stay is.
STAGE = {EncounterKind.DISCHARGED: 3, EncounterKind.ADMITTED: 2, EncounterKind.REGISTERED: 1,
         EncounterKind.UPDATED: 0}
ENCOUNTER_STATUS = {EncounterKind.DISCHARGED: "finished", EncounterKind.ADMITTED: "in-progress",
                    EncounterKind.REGISTERED: "arrived", EncounterKind.UPDATED: "unknown"}
_ALLIANCE_SYSTEMS = {CodeKind.ITEM: systems.ALLIANCE_ITEM, CodeKind.DEPARTMENT: systems.ALLIANCE_DEPARTMENT,
                     CodeKind.DIAGNOSIS: systems.ICD10, CodeKind.PROCEDURE: systems.ICD9CM,
                     CodeKind.CHARGE: systems.COST_CATEGORY}
_LOCAL_SYSTEMS = {CodeKind.ITEM: "items", CodeKind.DEPARTMENT: "departments", CodeKind.DIAGNOSIS: "diagnoses",
                  CodeKind.PROCEDURE: "procedures", CodeKind.CHARGE: "items"}
_NUMBER = re.compile(r"(<=|>=|<|>|=)?\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))", re.ASCII)


@dataclass(frozen=True)
class Derived:
    """One resource to store: its body (without meta), patient, search date and the record key it comes from."""

    resource: dict[str, Any]
    effective_at: datetime | None
    key: str                                   # the record (or visit) every resource of one source shares

    @property
    def resource_type(self) -> str:
        return self.resource["resourceType"]

    @property
    def id(self) -> str:
        return self.resource["id"]


def derived_id(key: str) -> str:
    """A stable FHIR id (`[A-Za-z0-9-.]{1,64}`) for a record key of any length and alphabet."""
    return ID_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:40]


def meta(hospital_id: str) -> dict[str, Any]:
    """meta.source and meta.tag of a resource derived from HL7 v2 (versionId and lastUpdated come on save)."""
    return {"source": f"{systems.HL7V2_SOURCE}/{hospital_id}",
            "tag": [{"system": systems.DATA_ORIGIN, "code": ORIGIN, "display": "received as HL7 v2"}]}


def visit_key(hospital_id: str, visit_number: str) -> str:
    return f"{hospital_id}/encounter/{visit_number}"


# --- codes and references ------------------------------------------------------------------

def concept(kind: CodeKind, local: Code, mapped: Code, hospital_id: str) -> dict[str, Any]:
    """A CodeableConcept with the alliance coding (when mapped) and the local one as sent."""
    codings = []
    is_mapped = mapped.system == kind.value
    if is_mapped:
        codings.append(_coding(_ALLIANCE_SYSTEMS[kind], mapped.code, mapped.display or local.display))
    standard = kind in (CodeKind.DIAGNOSIS, CodeKind.PROCEDURE)
    if not (is_mapped and standard and local.code.strip().upper() == mapped.code):
        codings.append(_coding(systems.local_system(hospital_id, _LOCAL_SYSTEMS[kind]), local.code, local.display))
    out: dict[str, Any] = {"coding": codings}
    text = mapped.display or local.display
    if text:
        out["text"] = text
    return out


def _coding(system: str, code: str, display: str) -> dict[str, str]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def subject(hospital_id: str, mrn: str, patient: str | None = None) -> dict[str, Any]:
    """The patient as the sending hospital knows them: the Patient's server id (when known, so a client can
    read it) and the MRN as a logical reference (no name, no national ID)."""
    out: dict[str, Any] = {"reference": f"Patient/{patient}"} if patient else {}
    return out | {"type": "Patient", "identifier": {"system": systems.mrn_system(hospital_id), "value": mrn}}


def _when(moment: datetime) -> str:
    return moment.isoformat()


# --- results -------------------------------------------------------------------------------

def result_resources(original: ResultReport, mapped: ResultReport, *, hospital_id: str,
                     record_key: str, patient: str | None = None) -> list[Derived]:
    """A DiagnosticReport and its Observations (one per line) for one published ResultReport."""
    sequences = [o.sequence for o in original.observations]
    unique = len(set(sequences)) == len(sequences)
    lines: list[Derived] = []
    for position, (o, m) in enumerate(zip(original.observations, mapped.observations, strict=True), 1):
        key = f"{record_key}/{o.sequence if unique else f'#{position}'}"
        lines.append(Derived(observation(original, mapped, o, m, hospital_id=hospital_id, key=key, patient=patient),
                             o.effective_at or original.observed_at, record_key))
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": derived_id(record_key),
        "identifier": [{"system": systems.filler_order_system(hospital_id), "value": original.report_id}],
        **_based_on(original, hospital_id),
        "status": report_status([o.status for o in original.observations]),
        "category": [{"coding": [_category_coding(original.category)]}],
        "code": concept(CodeKind.ITEM, original.service, mapped.service, hospital_id),
        "subject": subject(hospital_id, original.patient.mrn, patient),
        "effectiveDateTime": _when(original.observed_at),
        "result": [{"reference": f"Observation/{line.id}"} for line in lines],
    }
    return [Derived(report, original.observed_at, record_key), *lines]


def observation(report: ResultReport, mapped_report: ResultReport, o: Observation, m: Observation, *,
                hospital_id: str, key: str, patient: str | None = None) -> dict[str, Any]:
    """One result line as a standalone Observation."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": derived_id(key),
        "identifier": [{"system": systems.filler_order_system(hospital_id),
                        "value": f"{report.report_id}/{o.sequence}"}],
        **_based_on(report, hospital_id),
        "status": OBSERVATION_STATUS.get(o.status, "unknown"),
        "category": [{"coding": [{"system": systems.OBSERVATION_CATEGORY, "code": report.category.value}]}],
        "code": concept(CodeKind.ITEM, o.item, m.item, hospital_id),
        "subject": subject(hospital_id, report.patient.mrn, patient),
        "effectiveDateTime": _when(o.effective_at or report.observed_at),
        **observation_value(o),
    }
    if o.abnormal_flag:
        resource["interpretation"] = [{"coding": [{"system": systems.INTERPRETATION, "code": o.abnormal_flag}]}]
    if o.reference_range:
        resource["referenceRange"] = [{"text": o.reference_range}]
    if o.performing_lab:
        resource["performer"] = [{"type": "Organization", "identifier": {"value": o.performing_lab}}]
    return resource


def observation_value(o: Observation) -> dict[str, Any]:
    """value[x]: numbers (NM, SN with a comparator) as valueQuantity, coded as text, else valueString."""
    value = o.value.strip()
    if not value:
        return {"dataAbsentReason": {"coding": [{"system": systems.DATA_ABSENT_REASON, "code": "unknown"}]}}
    if o.value_type in ("NM", "SN"):
        m = _NUMBER.fullmatch(value)
        number = _decimal(m[2]) if m else None
        if m is not None and number is not None:
            quantity: dict[str, Any] = {"value": number}
            if m[1] and m[1] != "=":
                quantity["comparator"] = m[1]
            if o.unit:
                quantity["unit"] = o.unit
            return {"valueQuantity": quantity}
    if o.value_type in CODED_TYPES:
        return {"valueCodeableConcept": {"text": o.value}}
    return {"valueString": o.value}


def _decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def report_status(line_statuses: Sequence[str]) -> str:
    """DiagnosticReport.status from the HL7 statuses of its lines."""
    statuses = {OBSERVATION_STATUS.get(s, "unknown") for s in line_statuses}
    if not statuses:
        return "unknown"
    if statuses == {"entered-in-error"}:
        return "entered-in-error"
    live = statuses - {"cancelled", "entered-in-error"}
    if not live:
        return "cancelled"
    if live == {"registered"}:
        return "registered"
    if live & {"preliminary", "registered", "unknown"}:
        return "partial" if live & {"final", "corrected"} else "preliminary"
    return "corrected" if "corrected" in live else "final"


def _category_coding(category: ResultCategory) -> dict[str, str]:
    if category is ResultCategory.IMAGING:
        return {"system": systems.DIAGNOSTIC_SERVICE, "code": "RAD", "display": "Radiology"}
    return {"system": systems.DIAGNOSTIC_SERVICE, "code": "LAB", "display": "Laboratory"}


def _based_on(report: ResultReport, hospital_id: str) -> dict[str, Any]:
    if not report.placer_order_id:
        return {}
    return {"basedOn": [{"type": "ServiceRequest", "identifier": {
        "system": systems.placer_order_system(hospital_id), "value": report.placer_order_id}}]}


# --- encounters ----------------------------------------------------------------------------

def visit_encounter(stages: Sequence[tuple[EncounterRecord, EncounterRecord]], *, hospital_id: str,
                    patient: str | None = None) -> Derived:
    """One Encounter from the published records (as sent, as mapped) of one visit.

    The most advanced event (discharge > admission > registration > update) gives the status and,
    where it has them, every detail; details it lacks come from the next most advanced event.
    """
    if not stages:
        raise ValueError("a visit needs at least one record")
    ordered = sorted(stages, key=lambda pair: STAGE[pair[0].kind], reverse=True)
    head, _ = ordered[0]
    visit = head.visit_number
    status = ENCOUNTER_STATUS[head.kind]

    def first(pick):
        return next((found for pair in ordered if (found := pick(*pair))), None)

    admitted = first(lambda o, m: o.admitted_at)
    discharged = head.discharged_at if head.kind is EncounterKind.DISCHARGED else None
    department = first(lambda o, m: (o.department, m.department) if o.department and m.department else None)
    diagnoses = first(lambda o, m: list(zip(o.diagnoses, m.diagnoses, strict=True)))
    procedures = first(lambda o, m: list(zip(o.procedures, m.procedures, strict=True)))
    costs = first(lambda o, m: list(zip(o.cost_lines, m.cost_lines, strict=True)))

    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": derived_id(visit_key(hospital_id, visit)),
        "identifier": [{"system": systems.visit_system(hospital_id), "value": visit}],
        "status": status,
        "class": _encounter_class(head.patient_class),
        "subject": subject(hospital_id, head.patient.mrn, patient),
    }
    if department:
        resource["serviceType"] = concept(CodeKind.DEPARTMENT, *department, hospital_id)
    period = {k: _when(v) for k, v in (("start", admitted), ("end", discharged)) if v is not None}
    if period:
        resource["period"] = period
    contained, items = _diagnoses(diagnoses or [], procedures or [], head.kind, hospital_id,
                                  resource["subject"])
    if contained:
        resource["contained"] = contained
        resource["diagnosis"] = items
    if costs:
        resource["extension"] = [cost_line(o, m, hospital_id) for o, m in costs]
    return Derived(resource, admitted or discharged, visit_key(hospital_id, visit))


def _encounter_class(patient_class: str) -> dict[str, str]:
    code = ENCOUNTER_CLASS.get(patient_class)
    if code is not None:
        return {"system": systems.ENCOUNTER_CLASS, "code": code}
    return {"system": systems.PATIENT_CLASS_V2, "code": patient_class}


def _diagnoses(diagnoses: list, procedures: list, kind: EncounterKind, hospital_id: str,
               patient: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    use = "DD" if kind is EncounterKind.DISCHARGED else "AD"
    contained: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    for i, (o, m) in enumerate(diagnoses, 1):
        ident = f"dx{i}"
        contained.append({"resourceType": "Condition", "id": ident, "subject": patient,
                          "code": concept(CodeKind.DIAGNOSIS, o.code, m.code, hospital_id)})
        item: dict[str, Any] = {"condition": {"reference": f"#{ident}"},
                                "use": {"coding": [{"system": systems.DIAGNOSIS_ROLE, "code": use}]}}
        if o.principal:
            item["rank"] = 1
        items.append(item)
    for i, (o, m) in enumerate(procedures, 1):
        ident = f"pr{i}"
        procedure: dict[str, Any] = {"resourceType": "Procedure", "id": ident, "status": "completed",
                                     "subject": patient,
                                     "code": concept(CodeKind.PROCEDURE, o.code, m.code, hospital_id)}
        if o.performed_at is not None:
            procedure["performedDateTime"] = _when(o.performed_at)
        contained.append(procedure)
        items.append({"condition": {"reference": f"#{ident}"}})
    return contained, items


def cost_line(o, m, hospital_id: str) -> dict[str, Any]:
    """The cost-line extension: the local charge item, its cost category (when mapped), the line total in CNY."""
    parts: list[dict[str, Any]] = [
        {"url": "item", "valueCoding": _coding(systems.local_items_system(hospital_id), o.item.code,
                                               o.item.display)},
        {"url": "amount", "valueMoney": {"value": fen_to_yuan(o.amount_fen), "currency": "CNY"}},
        {"url": "quantity", "valueInteger": o.quantity},
    ]
    if m.item.system == CodeKind.CHARGE.value:
        parts.append({"url": "category", "valueCoding": {"system": systems.COST_CATEGORY, "code": m.item.code}})
    return {"url": systems.COST_LINE, "extension": parts}


def fen_to_yuan(fen: int) -> Decimal:
    """Integer fen as an exact decimal amount of yuan with 2 decimals (FHIR Money.value)."""
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))
