"""Naming systems, code systems and extension URLs of the alliance FHIR profile.

National resident ID: the alliance uses `urn:oid:2.16.156.10011.1.1` as the system of the
resident identity card number (居民身份证号, 18 characters, GB 11643 check digit). Note that the
national EMR shared-document standard (WS/T 500) lists 2.16.156.10011.1.3 as "患者身份证号标识"
and 2.16.156.10011.1.1 as the document serial number; `...1.3` is therefore accepted on input as
an alias (`NATIONAL_ID_SYSTEMS`) and everything we emit uses `NATIONAL_ID`.
"""

from __future__ import annotations

import re

ALLIANCE = "https://alliance.example/fhir"

# Identifier systems (NamingSystem)
NATIONAL_ID = "urn:oid:2.16.156.10011.1.1"
NATIONAL_ID_WS_T_500 = "urn:oid:2.16.156.10011.1.3"
NATIONAL_ID_SYSTEMS = frozenset({NATIONAL_ID, NATIONAL_ID_WS_T_500})
INSURANCE = f"{ALLIANCE}/sid/insurance"
ALLIANCE_PATIENT = f"{ALLIANCE}/sid/alliance-patient"   # the alliance patient id (AP-…) on every Patient
MRN_PREFIX = f"{ALLIANCE}/sid/mrn/"

# Code systems
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10_CN = "http://hl7.org/fhir/sid/icd-10-cn"
ICD10_SYSTEMS = frozenset({ICD10, ICD10_CN})
ICD9CM = "http://hl7.org/fhir/sid/icd-9-cm"
LOINC = "http://loinc.org"
LOCAL_PREFIX = f"{ALLIANCE}/CodeSystem/local/"
COST_CATEGORY = f"{ALLIANCE}/CodeSystem/cost-category"  # codes: values of clinical.CostCategory
ENCOUNTER_CLASS = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
DIAGNOSTIC_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"
DIAGNOSIS_ROLE = "http://terminology.hl7.org/CodeSystem/diagnosis-role"
DATA_ABSENT_REASON = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
CURRENCY = "urn:iso:std:iso:4217"

# Alliance code systems of mapped codes (the targets of the per-hospital code maps)
ALLIANCE_ITEM = f"{ALLIANCE}/CodeSystem/item"
ALLIANCE_DEPARTMENT = f"{ALLIANCE}/CodeSystem/department"
PATIENT_CLASS_V2 = "http://terminology.hl7.org/CodeSystem/v2-0004"

# Extensions of the alliance profile
COST_LINE = f"{ALLIANCE}/StructureDefinition/cost-line"

# Resources the server derives from HL7 v2 input carry this meta.tag (and meta.source HL7V2_SOURCE/<hospital>)
DATA_ORIGIN = f"{ALLIANCE}/CodeSystem/data-origin"
HL7V2_SOURCE = f"{ALLIANCE}/source/hl7v2"

# Encounter.class (v3-ActCode) to the HL7 v2 patient class of EncounterRecord.patient_class
ENCOUNTER_CLASSES = {"IMP": "I", "AMB": "O", "EMER": "E"}
OBSERVATION_CATEGORIES = frozenset({"laboratory", "imaging"})
DIAGNOSIS_ROLES = frozenset({"AD", "DD", "CC", "CM", "pre-op", "post-op", "billing"})
# DiagnosticReport.category codes meaning imaging: v2-0074 imaging sections, observation-category
# `imaging` and the LOINC part "Radiology".
IMAGING_CATEGORY_CODES = frozenset({
    "RAD", "CT", "NMR", "NMS", "RUS", "RX", "OUS", "VUS", "XRC", "CUS", "imaging", "LP29684-5",
})

_HOSPITAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", re.ASCII)


def _hospital(hospital_id: str) -> str:
    if not isinstance(hospital_id, str) or _HOSPITAL.fullmatch(hospital_id) is None:
        raise ValueError("hospital id must be 1-64 of A-Z a-z 0-9 . _ - starting alphanumeric")
    return hospital_id


def mrn_system(hospital_id: str) -> str:
    """The identifier system of one hospital's medical record numbers."""
    return MRN_PREFIX + _hospital(hospital_id)


def hospital_of_mrn_system(system: str) -> str | None:
    """The hospital id of an MRN system URL, or None when `system` is not one."""
    return _suffix(system, MRN_PREFIX, "")


def filler_order_system(hospital_id: str) -> str:
    """The identifier system of one hospital's report (filler order) numbers, OBR-3."""
    return f"{ALLIANCE}/sid/filler-order/{_hospital(hospital_id)}"


def placer_order_system(hospital_id: str) -> str:
    """The identifier system of one hospital's order (placer order) numbers, ORC-2 / OBR-2."""
    return f"{ALLIANCE}/sid/placer-order/{_hospital(hospital_id)}"


def visit_system(hospital_id: str) -> str:
    """The identifier system of one hospital's visit numbers, PV1-19."""
    return f"{ALLIANCE}/sid/visit/{_hospital(hospital_id)}"


def local_system(hospital_id: str, what: str) -> str:
    """The code system of one hospital's local codes of a kind: items, departments, diagnoses, procedures."""
    return f"{LOCAL_PREFIX}{_hospital(hospital_id)}/{what}"


def local_items_system(hospital_id: str) -> str:
    """The code system of one hospital's local item (test, charge) codes."""
    return f"{LOCAL_PREFIX}{_hospital(hospital_id)}/items"


def hospital_of_local_items_system(system: str) -> str | None:
    """The hospital id of a local item code system URL, or None when `system` is not one."""
    return _suffix(system, LOCAL_PREFIX, "/items")


def _suffix(system: object, prefix: str, tail: str) -> str | None:
    if not isinstance(system, str) or not system.startswith(prefix) or not system.endswith(tail):
        return None
    middle = system[len(prefix):len(system) - len(tail)]
    return middle if _HOSPITAL.fullmatch(middle) else None
