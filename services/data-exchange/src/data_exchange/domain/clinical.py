"""The one internal model HL7 v2 and FHIR R4 input are normalised into. Pure data, no I/O.

Codes here are as the sender sent them (`local`); mapping to alliance codes happens afterwards
(service layer, per-hospital code maps), and an unmapped code is kept, flagged, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"
    OTHER = "other"
    UNKNOWN = "unknown"


class ResultCategory(StrEnum):
    LABORATORY = "laboratory"
    IMAGING = "imaging"


class EncounterKind(StrEnum):
    ADMITTED = "admitted"        # ADT^A01 / Encounter in-progress (inpatient)
    REGISTERED = "registered"    # ADT^A04 / outpatient or emergency visit
    UPDATED = "updated"          # ADT^A08
    DISCHARGED = "discharged"    # ADT^A03 / Encounter finished


class CostCategory(StrEnum):
    DRUGS = "drugs"
    CONSUMABLES = "consumables"
    EXAMINATIONS = "examinations"
    LABORATORY = "laboratory"
    TREATMENT = "treatment"
    BED = "bed"
    OTHER = "other"


@dataclass(frozen=True)
class Code:
    """A coded value as sent: code, the sender's coding system name, display text."""

    code: str
    system: str = ""
    display: str = ""


@dataclass(frozen=True)
class PatientIdentity:
    """Who the data is about, as the sending hospital knows them. Clear identifiers live only in memory."""

    mrn: str                                 # the sending hospital's medical record number (PID-3 / identifier)
    national_id: str | None = None           # resident ID number; hashed + masked before storage
    insurance_number: str | None = None
    name: str | None = None
    birth_date: date | None = None
    sex: Sex = Sex.UNKNOWN
    phone: str | None = None


@dataclass(frozen=True)
class Observation:
    """One result line (OBX / Observation)."""

    sequence: int
    item: Code                               # local item code (OBX-3 / Observation.code)
    value: str
    value_type: str = "ST"                   # HL7 data type: NM, ST, CE/CWE, TX, ...
    unit: str | None = None
    reference_range: str | None = None
    abnormal_flag: str | None = None         # HL7 table 0078: N, H, L, HH, LL, A, ...
    status: str = "F"                        # HL7 table 0085: F final, C corrected, P preliminary, ...
    effective_at: datetime | None = None
    performing_lab: str | None = None        # OBX-23 / performer, when not the sending facility


@dataclass(frozen=True)
class ResultReport:
    """A lab or imaging report (ORU^R01 / DiagnosticReport with its Observations)."""

    sending_facility: str                    # MSH-4 / the hospital the message came from
    report_id: str                           # filler order number (OBR-3) or DiagnosticReport.identifier
    category: ResultCategory
    service: Code                            # OBR-4 / DiagnosticReport.code
    patient: PatientIdentity
    observed_at: datetime
    observations: tuple[Observation, ...]
    placer_order_id: str | None = None       # OBR-2


@dataclass(frozen=True)
class Diagnosis:
    code: Code                               # ICD-10 (as sent)
    principal: bool = False


@dataclass(frozen=True)
class Procedure:
    code: Code                               # ICD-9-CM-3 (as sent)
    performed_at: datetime | None = None


@dataclass(frozen=True)
class CostLine:
    """One charge of a stay; `item` is the local charge code, mapped to a CostCategory later."""

    item: Code
    amount_fen: int                          # integer fen, never float
    quantity: int = 1


@dataclass(frozen=True)
class EncounterRecord:
    """A visit or stay (ADT A01/A04/A08/A03 / Encounter)."""

    sending_facility: str
    kind: EncounterKind
    visit_number: str                        # PV1-19 / Encounter.identifier
    patient: PatientIdentity
    patient_class: str                       # I inpatient, O outpatient, E emergency
    department: Code | None = None           # PV1-3.1 / Encounter.serviceType (local department code)
    admitted_at: datetime | None = None
    discharged_at: datetime | None = None
    diagnoses: tuple[Diagnosis, ...] = ()
    procedures: tuple[Procedure, ...] = ()
    cost_lines: tuple[CostLine, ...] = ()


@dataclass(frozen=True)
class OrderRecord:
    """An order for tests or imaging (ORM^O01 / OML^O21 / ServiceRequest)."""

    sending_facility: str
    placer_order_id: str                     # ORC-2 / ServiceRequest.identifier
    patient: PatientIdentity
    items: tuple[Code, ...]                  # OBR-4 per ordered item
    ordered_at: datetime
    control: str = "NW"                      # ORC-1: NW new, CA cancel, ...
    visit_number: str | None = None


@dataclass(frozen=True)
class PatientRecord:
    """Demographics only (ADT without a visit, or a FHIR Patient)."""

    sending_facility: str
    patient: PatientIdentity


Record = ResultReport | EncounterRecord | OrderRecord | PatientRecord


@dataclass(frozen=True)
class PatientMerge:
    """ADT^A40: the sending hospital merged its MRN `prior_mrn` (MRG-1) into the patient's MRN (PID-3).

    Not a Record: it changes the patient index, not clinical data, and is never stored as a record.
    """

    sending_facility: str
    patient: PatientIdentity
    prior_mrn: str


@dataclass(frozen=True)
class Issue:
    """A data-quality or mapping finding: `error` rejects the input, `warning` keeps it, flagged."""

    severity: str                            # "error" | "warning"
    code: str                                # machine code, e.g. "required", "unmapped-code", "los-over-30-days"
    location: str                            # HL7 "PID-3" / FHIR "Patient.identifier[0]"
    message: str
    details: dict[str, str] = field(default_factory=dict)
