"""Encounter (with contained diagnoses, procedures and cost-line extensions) to EncounterRecord."""

from __future__ import annotations

from decimal import Decimal

from data_exchange.domain.clinical import (
    Code,
    CostLine,
    Diagnosis,
    EncounterKind,
    EncounterRecord,
    Procedure,
)

from . import systems
from .checker import as_decimal, join
from .mapping_context import Mapping, first_value, instant_of, list_of, obj_of, text_of

# The order in which a rank-1 diagnosis of a `use` becomes the principal one.
PRINCIPAL_USES = ("DD", "AD", "")


def encounter_record(m: Mapping) -> list[EncounterRecord]:
    """An Encounter as an EncounterRecord."""
    r, path = m.resource, m.path
    patient = m.identity(r, path)
    kind = _kind(m, r, path)
    visit = first_value(r)
    if visit is None:
        m.error("required", join(path, "identifier"), "needs an identifier (the visit number)")
    patient_class = systems.ENCOUNTER_CLASSES.get(text_of(obj_of(r, "class"), "code") or "")
    if patient_class is None:
        m.error("required", join(path, "class"), "class must be IMP, AMB or EMER")
    period = obj_of(r, "period")
    diagnoses, procedures = _diagnoses(m, r, path)
    cost_lines = _cost_lines(m, r, path)
    if patient is None or kind is None or visit is None or patient_class is None:
        return []
    return [EncounterRecord(
        sending_facility=m.facility, kind=kind, visit_number=visit, patient=patient,
        patient_class=patient_class, department=m.code(obj_of(r, "serviceType")),
        admitted_at=instant_of(period, "start"), discharged_at=instant_of(period, "end"),
        diagnoses=diagnoses, procedures=procedures, cost_lines=cost_lines,
    )]


def _kind(m: Mapping, r: dict, path: str) -> EncounterKind | None:
    status = text_of(r, "status")
    inpatient = text_of(obj_of(r, "class"), "code") == "IMP"
    if status == "finished":
        return EncounterKind.DISCHARGED
    if status == "in-progress":
        return EncounterKind.ADMITTED if inpatient else EncounterKind.REGISTERED
    if status in ("arrived", "triaged"):
        return EncounterKind.REGISTERED
    if status == "onleave":
        return EncounterKind.UPDATED
    m.error("not-supported", join(path, "status"), "status must be arrived, triaged, in-progress, "
                                                   "onleave or finished")
    return None


def _diagnoses(m: Mapping, r: dict, path: str) -> tuple[tuple[Diagnosis, ...], tuple[Procedure, ...]]:
    found: list[tuple[str, bool, Diagnosis]] = []
    procedures: list[Procedure] = []
    for i, item in enumerate(list_of(r, "diagnosis")):
        where = f"{join(path, 'diagnosis')}[{i}].condition"
        reference = text_of(obj_of(item, "condition"), "reference")
        condition = m.resolve(reference, "Condition") if reference and reference.startswith("#") else None
        procedure = m.resolve(reference, "Procedure") if reference and reference.startswith("#") else None
        if condition is not None:
            code = m.code(obj_of(condition, "code"), systems.ICD10_SYSTEMS)
            if code is None:
                m.error("code-invalid", where, "the Condition needs an ICD-10 coding")
                continue
            rank = item.get("rank")
            first = isinstance(rank, int) and not isinstance(rank, bool) and rank == 1
            found.append((_use(item), first, Diagnosis(code=code)))
        elif procedure is not None:
            code = m.code(obj_of(procedure, "code"), frozenset({systems.ICD9CM}))
            if code is None:
                m.error("code-invalid", where, "the Procedure needs an ICD-9-CM coding")
                continue
            procedures.append(Procedure(code=code, performed_at=instant_of(procedure, "performedDateTime")))
        else:
            m.error("required", where, "must reference a contained Condition or Procedure")
    return _with_principal(found), tuple(procedures)


def _use(item: dict) -> str:
    for coding in list_of(obj_of(item, "use"), "coding"):
        if text_of(coding, "system") == systems.DIAGNOSIS_ROLE:
            return text_of(coding, "code") or ""
    return ""


def _with_principal(found: list[tuple[str, bool, Diagnosis]]) -> tuple[Diagnosis, ...]:
    """Mark one principal: the rank-1 discharge diagnosis, else admission, else one without use."""
    principal = None
    for use in PRINCIPAL_USES:
        principal = next((i for i, (u, first, _) in enumerate(found) if first and u == use), None)
        if principal is not None:
            break
    return tuple(Diagnosis(code=d.code, principal=i == principal) for i, (_, _, d) in enumerate(found))


def _cost_lines(m: Mapping, r: dict, path: str) -> tuple[CostLine, ...]:
    lines: list[CostLine] = []
    for i, ext in enumerate(list_of(r, "extension")):
        if text_of(ext, "url") != systems.COST_LINE:
            continue
        where = f"{join(path, 'extension')}[{i}]"
        parts = {text_of(p, "url"): p for p in list_of(ext, "extension") if isinstance(p, dict)}
        coding = obj_of(parts.get("item"), "valueCoding")
        code, system = text_of(coding, "code"), text_of(coding, "system")
        fen = _fen(obj_of(parts.get("amount"), "valueMoney"))
        quantity = obj_of(parts, "quantity").get("valueInteger", 1)
        if code is None or system is None or fen is None:
            m.error("required", where, "a cost line needs an item coding and an amount in CNY with at most 2 decimals")
            continue
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            m.error("value", f"{where}.extension", "quantity must be a positive integer")
            continue
        item = Code(code=code, system=system, display=text_of(coding, "display") or "")
        lines.append(CostLine(item=item, amount_fen=fen, quantity=quantity))
    return tuple(lines)


def _fen(money: dict) -> int | None:
    value = as_decimal(money.get("value"))
    if value is None or text_of(money, "currency") != "CNY" or value < 0 or value >= Decimal(10) ** 10:
        return None
    fen = value * 100
    return int(fen) if fen == fen.to_integral_value() else None

