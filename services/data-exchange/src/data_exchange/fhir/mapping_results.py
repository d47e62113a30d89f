"""Observation and DiagnosticReport (with its Observations) to ResultReport."""

from __future__ import annotations

from datetime import datetime

from data_exchange.domain.clinical import Observation, ResultCategory, ResultReport

from . import systems
from .checker import as_decimal, join
from .mapping_context import Mapping, first_value, instant_of, list_of, obj_of, text_of

# Observation.status to HL7 table 0085 (Observation.status of the clinical model).
RESULT_STATUS = {"registered": "I", "preliminary": "P", "final": "F", "amended": "C", "corrected": "C",
                 "cancelled": "X", "entered-in-error": "W", "unknown": "R"}


def observation_report(m: Mapping) -> list[ResultReport]:
    """A standalone Observation as a one-line ResultReport."""
    r, path = m.resource, m.path
    patient = m.identity(r, path)
    report_id = first_value(r) or text_of(r, "id")
    if report_id is None:
        m.error("required", join(path, "identifier"), "needs an identifier (or id) to serve as report id")
    line = observation_line(m, r, path, 1, None)
    if patient is None or report_id is None or line is None or line.effective_at is None:
        if line is not None and line.effective_at is None:
            m.error("required", join(path, "effectiveDateTime"), "effectiveDateTime is required")
        return []
    return [ResultReport(
        sending_facility=m.facility, report_id=report_id, category=_category(r), service=line.item,
        patient=patient, observed_at=line.effective_at, observations=(line,),
        placer_order_id=_placer(m, r),
    )]


def diagnostic_report(m: Mapping) -> list[ResultReport]:
    """A DiagnosticReport and its result Observations (contained or looked up) as a ResultReport."""
    r, path = m.resource, m.path
    patient = m.identity(r, path)
    report_id = first_value(r)
    if report_id is None:
        m.error("required", join(path, "identifier"), "needs an identifier with a value")
    service = m.code(obj_of(r, "code"))
    if service is None:
        m.error("required", join(path, "code"), "needs a coding with system and code")
    observed_at = instant_of(r, "effectiveDateTime")
    if observed_at is None:
        m.error("required", join(path, "effectiveDateTime"), "effectiveDateTime is required")
    lines: list[Observation] = []
    for i, ref in enumerate(list_of(r, "result")):
        where = f"{join(path, 'result')}[{i}]"
        target = m.resolve(text_of(ref, "reference"), "Observation")
        if target is None:
            m.error("required", where, "the result cannot be resolved to an Observation")
            continue
        other = m.identity(target, where, quiet=True) if "subject" in target else None
        if patient is not None and other is not None and other.mrn != patient.mrn:
            m.error("invariant", where, "the Observation is about another patient than the report")
        line = observation_line(m, target, where, len(lines) + 1, observed_at)
        if line is not None:
            lines.append(line)
    if not lines:
        m.error("required", join(path, "result"), "a report needs at least one resolvable Observation")
    if patient is None or report_id is None or service is None or observed_at is None or not lines:
        return []
    return [ResultReport(
        sending_facility=m.facility, report_id=report_id, category=_category(r), service=service,
        patient=patient, observed_at=observed_at, observations=tuple(lines), placer_order_id=_placer(m, r),
    )]


def observation_line(m: Mapping, r: dict, path: str, sequence: int,
                     default_at: datetime | None) -> Observation | None:
    """One Observation resource as a result line; None (with an issue) without a coded code."""
    item = m.code(obj_of(r, "code"))
    if item is None:
        m.error("required", join(path, "code"), "needs a coding with system and code")
        return None
    value, value_type, unit = _value(r)
    return Observation(
        sequence=sequence, item=item, value=value, value_type=value_type, unit=unit,
        reference_range=_range(r), abnormal_flag=_flag(r),
        status=RESULT_STATUS.get(text_of(r, "status") or "", "R"),
        effective_at=instant_of(r, "effectiveDateTime") or default_at,
        performing_lab=_lab(r),
    )


def _value(r: dict) -> tuple[str, str, str | None]:
    quantity = obj_of(r, "valueQuantity")
    number = as_decimal(quantity.get("value"))
    if number is not None:
        comparator = text_of(quantity, "comparator")
        unit = text_of(quantity, "unit") or text_of(quantity, "code")
        text = _number(quantity.get("value"))
        return (comparator + text, "SN", unit) if comparator else (text, "NM", unit)
    text = text_of(r, "valueString")
    if text is not None:
        return text, "ST", None
    concept = obj_of(r, "valueCodeableConcept")
    codings = [c for c in list_of(concept, "coding") if text_of(c, "code") is not None]
    if codings or text_of(concept, "text"):
        return (text_of(codings[0], "code") if codings else text_of(concept, "text")) or "", "CWE", None
    return "", "ST", None


def _number(value: object) -> str:
    number = as_decimal(value)
    if number is None:
        return ""
    if isinstance(value, int) or abs(number.adjusted()) > 30:
        return str(number)
    return format(number, "f")


def _range(r: dict) -> str | None:
    ranges = list_of(r, "referenceRange")
    first = ranges[0] if ranges and isinstance(ranges[0], dict) else {}
    text = text_of(first, "text")
    if text is not None:
        return text
    low = _number(obj_of(first, "low").get("value"))
    high = _number(obj_of(first, "high").get("value"))
    if low and high:
        return f"{low}-{high}"
    if low:
        return f">={low}"
    return f"<={high}" if high else None


def _flag(r: dict) -> str | None:
    codings = [c for concept in list_of(r, "interpretation") for c in list_of(concept, "coding")
               if text_of(c, "code") is not None]
    chosen = next((c for c in codings if text_of(c, "system") == systems.INTERPRETATION), None)
    chosen = chosen or (codings[0] if codings else None)
    return text_of(chosen, "code") if chosen is not None else None


def _lab(r: dict) -> str | None:
    for ref in list_of(r, "performer"):
        text = text_of(ref, "reference") or ""
        if text.startswith("Organization/") or text_of(ref, "type") == "Organization":
            return text_of(obj_of(ref, "identifier"), "value") or text_of(ref, "display")
    return None


def _category(r: dict) -> ResultCategory:
    codes = {text_of(c, "code") for concept in list_of(r, "category") for c in list_of(concept, "coding")}
    return ResultCategory.IMAGING if codes & systems.IMAGING_CATEGORY_CODES else ResultCategory.LABORATORY


def _placer(m: Mapping, r: dict) -> str | None:
    for ref in list_of(r, "basedOn"):
        value = text_of(obj_of(ref, "identifier"), "value")
        request = m.resolve(text_of(ref, "reference"), "ServiceRequest")
        value = value or first_value(request)
        if value is not None:
            return value
    return None

