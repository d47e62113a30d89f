"""Profile rules of Patient, Observation, DiagnosticReport, ServiceRequest and contained Condition/Procedure."""

from __future__ import annotations

import re

from . import systems
from .checker import MAX_TEXT, Checker, join, shown
from .elements import (
    Context,
    codings,
    concepts,
    identifiers,
    reference,
    references,
    subject,
)

GENDERS = ("male", "female", "other", "unknown")
OBSERVATION_STATUS = ("registered", "preliminary", "final", "amended", "corrected", "cancelled",
                      "entered-in-error", "unknown")
REPORT_STATUS = ("registered", "partial", "preliminary", "final", "amended", "corrected", "appended",
                 "cancelled", "entered-in-error", "unknown")
REQUEST_STATUS = ("draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown")
REQUEST_INTENT = ("proposal", "plan", "directive", "order", "original-order", "reflex-order",
                  "filler-order", "instance-order", "option")
ORDER_INTENTS = ("order", "original-order", "reflex-order", "filler-order", "instance-order")
OBSERVATION_CATEGORY_CODES = ("social-history", "vital-signs", "imaging", "laboratory", "procedure",
                              "survey", "exam", "therapy", "activity")
VALUE_TYPES = ("valueQuantity", "valueString", "valueCodeableConcept")
COMPARATORS = ("<", "<=", ">=", ">")
ICD10_CODE = re.compile(r"[A-Z][0-9]{2}(\.[0-9A-Za-z]{1,10})?", re.ASCII)
ICD9CM_CODE = re.compile(r"[0-9]{2}(\.[0-9A-Za-z]{1,10})?", re.ASCII)
_REQUESTS = ("CarePlan", "DeviceRequest", "ImmunizationRecommendation", "MedicationRequest",
             "NutritionOrder", "ServiceRequest")
_PERFORMERS = ("Practitioner", "PractitionerRole", "Organization", "CareTeam", "Patient", "RelatedPerson")


def patient(c: Checker, r: dict, path: str, ctx: Context) -> None:
    """Patient: identifiers with values, one an MRN of a hospital (at most one per hospital)."""
    pairs = identifiers(c, r, "identifier", path, required=True)
    mrns: dict[str, str] = {}
    for system, value in pairs:
        hospital = systems.hospital_of_mrn_system(system) if system else None
        if hospital is None or value is None:
            continue
        if mrns.setdefault(hospital, value) != value:
            c.error("invariant", join(path, "identifier"), "at most one MRN per hospital")
    if isinstance(r.get("identifier"), list) and r["identifier"] and not mrns:
        c.error("required", join(path, "identifier"),
                f"needs an MRN identifier (system {systems.MRN_PREFIX}<hospital id>)")
    c.code(r, "gender", path, GENDERS)
    c.date(r, "birthDate", path)
    if c.boolean(r, "active", path) is False:
        c.error("not-supported", join(path, "active"), "inactive Patient records are not accepted")
    if r.get("link") is not None:
        c.error("not-supported", join(path, "link"), "Patient links (merges) are not supported")
    for name_path, name in c.objects(r, "name", path):
        c.string(name, "text", name_path, max_len=256)
        c.string(name, "family", name_path, max_len=256)
        for given_path, given in c.array(name, "given", name_path):
            if not isinstance(given, str) or len(given) > 256:
                c.error("structure", given_path, "expected a string of at most 256 characters")
    for tel_path, tel in c.objects(r, "telecom", path):
        c.code(tel, "system", tel_path, ("phone", "fax", "email", "pager", "url", "sms", "other"))
        c.string(tel, "value", tel_path, max_len=256)
        c.code(tel, "use", tel_path, ("home", "work", "temp", "old", "mobile"))


def observation(c: Checker, r: dict, path: str, ctx: Context, *, within_report: bool = False) -> None:
    """Observation: status, coded code, subject, effectiveDateTime, one value[x] or dataAbsentReason.

    Observations contained in a DiagnosticReport may leave subject and effectiveDateTime to the report.
    """
    c.code(r, "status", path, OBSERVATION_STATUS, required=True)
    for system, code in concepts(c, r, "category", path):
        if system == systems.OBSERVATION_CATEGORY and code not in OBSERVATION_CATEGORY_CODES:
            c.error("code-invalid", join(path, "category"), f"unknown observation category {shown(code)}")
    codings(c, r, "code", path, required=True, need_coding=True)
    subject(c, r, path, ctx, required=not within_report)
    _effective(c, r, path, required=not within_report)
    c.instant(r, "issued", path)
    identifiers(c, r, "identifier", path)
    references(c, r, "basedOn", path, _REQUESTS, ctx)
    references(c, r, "performer", path, _PERFORMERS, ctx)
    concepts(c, r, "interpretation", path)
    for range_path, item in c.objects(r, "referenceRange", path):
        for bound in ("low", "high"):
            quantity = c.obj(item, bound, range_path)
            if quantity is not None:
                c.decimal(quantity, "value", join(range_path, bound))
                c.string(quantity, "unit", join(range_path, bound))
        c.string(item, "text", range_path)
    if r.get("component") is not None:
        c.error("not-supported", join(path, "component"), "component observations are not supported")
    _value(c, r, path)


def _effective(c: Checker, r: dict, path: str, *, required: bool) -> None:
    if r.get("effectiveDateTime") is None:
        for other in ("effectivePeriod", "effectiveInstant", "effectiveTiming"):
            if r.get(other) is not None:
                c.error("not-supported", join(path, other), "the profile uses effectiveDateTime")
                return
    c.datetime(r, "effectiveDateTime", path, required=required, to_the_day=True)


def _value(c: Checker, r: dict, path: str) -> None:
    keys = [k for k in r if isinstance(k, str) and len(k) > 5 and k.startswith("value") and k[5].isupper()
            and r[k] is not None]
    for key in keys:
        if key not in VALUE_TYPES:
            c.error("not-supported", join(path, key), "value[x] must be valueQuantity, valueString "
                                                      "or valueCodeableConcept")
    if len(keys) > 1:
        c.error("structure", join(path, "value[x]"), "at most one value[x]")
    absent = c.obj(r, "dataAbsentReason", path)
    if absent is not None:
        codings(c, r, "dataAbsentReason", path)
    if keys and absent is not None:
        c.error("invariant", join(path, "dataAbsentReason"),
                "dataAbsentReason only when there is no value[x] (obs-6)")
    if not keys and absent is None:
        c.error("required", join(path, "value[x]"), "needs a value[x] or a dataAbsentReason")
    quantity = c.obj(r, "valueQuantity", path)
    if quantity is not None:
        where = join(path, "valueQuantity")
        c.decimal(quantity, "value", where, required=True)
        c.code(quantity, "comparator", where, COMPARATORS)
        c.string(quantity, "unit", where, max_len=256)
        c.uri(quantity, "system", where)
        c.code(quantity, "code", where)
    c.string(r, "valueString", path, max_len=MAX_TEXT)
    concept = c.obj(r, "valueCodeableConcept", path)
    if concept is not None:
        pairs = codings(c, r, "valueCodeableConcept", path)
        if not pairs and not isinstance(concept.get("text"), str):
            c.error("required", join(path, "valueCodeableConcept"), "needs a coding or text")


def diagnostic_report(c: Checker, r: dict, path: str, ctx: Context) -> None:
    """DiagnosticReport: status, code, subject, effectiveDateTime, identifier, result references."""
    c.code(r, "status", path, REPORT_STATUS, required=True)
    concepts(c, r, "category", path)
    codings(c, r, "code", path, required=True, need_coding=True)
    subject(c, r, path, ctx)
    _effective(c, r, path, required=True)
    c.instant(r, "issued", path)
    identifiers(c, r, "identifier", path, required=True)
    references(c, r, "result", path, ("Observation",), ctx, required=True, allow_identifier=False)
    references(c, r, "basedOn", path, ("CarePlan", "ImmunizationRecommendation", "MedicationRequest",
                                        "NutritionOrder", "ServiceRequest"), ctx)
    references(c, r, "performer", path, _PERFORMERS, ctx)
    c.string(r, "conclusion", path, max_len=MAX_TEXT)


def service_request(c: Checker, r: dict, path: str, ctx: Context) -> None:
    """ServiceRequest: status, an order intent, code, subject, identifier, authoredOn."""
    status = c.code(r, "status", path, REQUEST_STATUS, required=True)
    if status == "draft":
        c.error("not-supported", join(path, "status"), "draft requests are not orders yet")
    intent = c.code(r, "intent", path, REQUEST_INTENT, required=True)
    if intent is not None and intent not in ORDER_INTENTS:
        c.error("not-supported", join(path, "intent"), "only order intents are accepted")
    if c.boolean(r, "doNotPerform", path):
        c.error("not-supported", join(path, "doNotPerform"), "doNotPerform requests are not supported")
    codings(c, r, "code", path, required=True, need_coding=True)
    subject(c, r, path, ctx)
    identifiers(c, r, "identifier", path, required=True)
    c.datetime(r, "authoredOn", path, required=True, to_the_day=True)
    reference(c, r, "encounter", path, ("Encounter",), ctx)
    requisition = c.obj(r, "requisition", path)
    if requisition is not None:
        c.string(requisition, "value", join(path, "requisition"))
    c.code(r, "priority", path, ("routine", "urgent", "asap", "stat"))


def condition(c: Checker, r: dict, path: str, ctx: Context) -> None:
    """Contained Condition (an Encounter diagnosis): an ICD-10 coded code."""
    _coded(c, r, path, systems.ICD10_SYSTEMS, ICD10_CODE, "ICD-10")


def procedure(c: Checker, r: dict, path: str, ctx: Context) -> None:
    """Contained Procedure (an Encounter procedure): an ICD-9-CM-3 coded code, performedDateTime."""
    _coded(c, r, path, frozenset({systems.ICD9CM}), ICD9CM_CODE, "ICD-9-CM-3")
    c.datetime(r, "performedDateTime", path)


def _coded(c: Checker, r: dict, path: str, accepted: frozenset[str], shape: re.Pattern[str],
           name: str) -> None:
    pairs = codings(c, r, "code", path, required=True, need_coding=True)
    matching = [code for system, code in pairs if system in accepted]
    if pairs and not matching:
        c.error("code-invalid", join(path, "code.coding"), f"needs a {name} coding ({', '.join(sorted(accepted))})")
    for code in matching:
        if shape.fullmatch(code) is None:
            c.warning("code-invalid", join(path, "code.coding"), f"{shown(code)} does not look like {name}")
