"""HL7 v2 messages to the normalised clinical model (domain/clinical.py).

Alliance profile notes:
- FT1 segments in ADT^A03 carry the stay's charges (an alliance extension, not HL7 standard):
  FT1-7 charge item code (CE), FT1-10 quantity, FT1-11.1 extended amount in yuan (CP/MO).
- MRN is the PID-3 repetition typed "MR", else the first repetition not typed as a national
  or insurance identifier (a resident ID number is never used as the MRN).
- ADT^A08 with PV1-2 "N" (not applicable) and no PV1-19 is a demographics update: PatientRecord.
- ADT^A28/A31 (add/update person information) are demographics only: PatientRecord, any PV1 ignored.
- ADT^A40 (merge patient, one PID/MRG pair): PatientMerge of MRG-1's MRN into PID-3's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from data_exchange.domain.clinical import (
    Code,
    CostLine,
    Diagnosis,
    EncounterKind,
    EncounterRecord,
    Issue,
    Observation,
    OrderRecord,
    PatientIdentity,
    PatientMerge,
    PatientRecord,
    Procedure,
    Record,
    ResultCategory,
    ResultReport,
    Sex,
)
from data_exchange.hl7 import tables
from data_exchange.hl7.datatypes import (
    check_decimal,
    money_to_fen,
    parse_date,
    parse_decimal,
    parse_dtm,
    parse_int,
)
from data_exchange.hl7.errors import Hl7Error
from data_exchange.hl7.parser import Message, Segment

MAX_REPETITIONS = 100  # repetitions scanned per field (PID-3, PID-5, OBX-5); more are flagged
MAX_ID_LENGTH = 100    # identifiers and codes longer than this are rejected (102)

_ENCOUNTER_KINDS = {
    "A01": EncounterKind.ADMITTED,
    "A04": EncounterKind.REGISTERED,
    "A08": EncounterKind.UPDATED,
    "A03": EncounterKind.DISCHARGED,
}


class _Issues(list[Issue]):
    """The warnings collected while mapping one message."""

    def add(self, code: str, seg: Segment, field: int, message: str, **details: str) -> None:
        if seg.occurrence > 1:
            details["occurrence"] = str(seg.occurrence)
        self.append(Issue("warning", code, f"{seg.name}-{field}", message, details))


def _shown(value: str) -> str:
    return "".join(ch for ch in value[:20] if ch.isprintable())


def _missing(seg: Segment | None, name: str, field: int, what: str) -> Hl7Error:
    seq = seg.occurrence if seg is not None else 1
    return Hl7Error(101, f"{name}-{field} ({what}) missing", segment=name, segment_seq=seq,
                    field=field)


def _too_long(seg: Segment, field: int, what: str) -> Hl7Error:
    return Hl7Error(102, f"{seg.name}-{field} ({what}) longer than {MAX_ID_LENGTH} characters",
                    segment=seg.name, segment_seq=seg.occurrence, field=field)


def _bounded(seg: Segment, field: int, value: str | None, what: str) -> str | None:
    if value and len(value) > MAX_ID_LENGTH:
        raise _too_long(seg, field, what)
    return value


def _required(seg: Segment, field: int, what: str, component: int = 1) -> str:
    value = seg.get(field, component).strip()
    if not value:
        raise _missing(seg, seg.name, field, what)
    if len(value) > MAX_ID_LENGTH:
        raise _too_long(seg, field, what)
    return value


def _table_error(seg: Segment, field: int, what: str) -> Hl7Error:
    return Hl7Error(103, f"{seg.name}-{field} ({what}) not in its HL7 table", segment=seg.name,
                    segment_seq=seg.occurrence, field=field)


def _dtm(seg: Segment, field: int) -> datetime | None:
    return parse_dtm(seg.get(field, 1), segment=seg.name, field=field, segment_seq=seg.occurrence)


def _coded(seg: Segment, field: int, what: str, *, system_field: int | None = None,
           display_field: int | None = None) -> Code:
    parts = seg.components(field)
    code = parts[0].strip() if parts else ""
    if not code:
        raise _missing(seg, seg.name, field, what)
    if len(code) > MAX_ID_LENGTH:
        raise _too_long(seg, field, what)
    display = parts[1] if len(parts) > 1 else ""
    system = parts[2] if len(parts) > 2 else ""
    if not system and system_field:
        system = seg.get(system_field)
    if not display and display_field:
        display = seg.get(display_field)
    return Code(code, system, display)


def _reps(seg: Segment, field: int, issues: _Issues) -> range:
    n = seg.repetitions(field)
    if n > MAX_REPETITIONS:
        issues.add("too-many-repetitions", seg, field,
                   f"only the first {MAX_REPETITIONS} repetitions were read", count=str(n))
        n = MAX_REPETITIONS
    return range(1, n + 1)


def to_records(msg: Message) -> tuple[list[Record], list[Issue]]:
    """Map a parsed message to records plus warnings; raises Hl7Error for content errors."""
    issues = _Issues()
    facility = msg.sending_facility
    if not facility:
        raise Hl7Error(101, "sending facility missing", segment="MSH", field=4, reject=True)
    mtype, event = msg.message_type, msg.trigger_event
    if mtype == "ADT" and event == "A40":
        return [_merge(msg, facility, issues)], list(issues)
    if mtype == "ADT" and event in ("A28", "A31"):
        records: list[Record] = [PatientRecord(sending_facility=facility, patient=_patient(msg, issues))]
    elif mtype == "ADT" and event in _ENCOUNTER_KINDS:
        records = [_encounter(msg, facility, _ENCOUNTER_KINDS[event], issues)]
    elif mtype == "ORU" and event == "R01":
        records = list(_results(msg, facility, issues))
    elif (mtype, event) in (("ORM", "O01"), ("OML", "O21")):
        records = list(_orders(msg, facility, issues))
    elif mtype in ("ADT", "ORU", "ORM", "OML"):
        raise Hl7Error(201, f"unsupported event {_shown(event)!r}", segment="MSH", field=9,
                       component=2)
    else:
        raise Hl7Error(200, f"unsupported message type {_shown(mtype)!r}", segment="MSH",
                       field=9, component=1)
    return records, list(issues)


# --- patient -------------------------------------------------------------------------------

def _patient(msg: Message, issues: _Issues) -> PatientIdentity:
    pid = msg.segment("PID")
    if pid is None:
        raise Hl7Error(100, "required segment PID missing", segment="PID")
    mrn = national_id = insurance = fallback = None
    for rep in _reps(pid, 3, issues):
        ident = pid.get(3, 1, repetition=rep).strip()
        if not ident:
            continue
        kind = pid.get(3, 5, repetition=rep).strip().upper()
        if kind == "MR":
            mrn = mrn or ident
        elif kind in tables.NATIONAL_ID_TYPES:
            national_id = national_id or ident
        elif kind in tables.INSURANCE_ID_TYPES:
            insurance = insurance or ident
        else:
            fallback = fallback or ident
    mrn = _bounded(pid, 3, mrn or fallback, "medical record number")
    if not mrn:
        raise _missing(pid, "PID", 3, "medical record number")
    _bounded(pid, 3, national_id, "national ID")
    _bounded(pid, 3, insurance, "insurance number")
    national_id = national_id or _bounded(pid, 19, pid.get(19).strip(), "national ID") or None
    if national_id and not tables.valid_resident_id(national_id):
        issues.add("invalid-format", pid, 3 if pid.get(19).strip() != national_id else 19,
                   "national ID number fails the GB 11643 format or check digit")
    return PatientIdentity(
        mrn=mrn,
        national_id=national_id,
        insurance_number=insurance,
        name=_bounded(pid, 5, _name(pid, issues), "patient name"),
        birth_date=parse_date(pid.get(7, 1), segment="PID", field=7),
        sex=_sex(pid, issues),
        phone=_bounded(pid, 13, (pid.get(13, 1) or pid.get(13, 12)).strip(), "phone") or None,
    )


def _name(pid: Segment, issues: _Issues) -> str | None:
    chosen = 1
    for rep in _reps(pid, 5, issues):
        if pid.get(5, 7, repetition=rep).upper() == "L":
            chosen = rep
            break
    family = pid.get(5, 1, 1, chosen).strip()
    given = pid.get(5, 2, 1, chosen).strip()
    if family and given:
        return family + given if not (family + given).isascii() else f"{family} {given}"
    return family or given or None


def _sex(pid: Segment, issues: _Issues) -> Sex:
    value = pid.get(8).strip().upper()
    if not value:
        return Sex.UNKNOWN
    sex = tables.SEX_0001.get(value)
    if sex is not None:
        return sex
    sex = tables.SEX_GB_T_2261.get(value)
    if sex is not None:
        issues.add("unmapped-code", pid, 8, "sex coded with GB/T 2261.1 instead of HL7 table 0001",
                   value=value)
        return sex
    issues.add("unmapped-code", pid, 8, "sex code not in HL7 table 0001", value=_shown(value))
    return Sex.UNKNOWN


# --- ADT -----------------------------------------------------------------------------------

def _merge(msg: Message, facility: str, issues: _Issues) -> PatientMerge:
    """ADT^A40: the prior MRN is MRG-1's repetition typed MR, else its first."""
    patient = _patient(msg, issues)
    mrg = msg.segment("MRG")
    if mrg is None:
        raise Hl7Error(100, "required segment MRG missing", segment="MRG")
    prior = fallback = None
    for rep in _reps(mrg, 1, issues):
        ident = mrg.get(1, 1, repetition=rep).strip()
        if ident and mrg.get(1, 5, repetition=rep).strip().upper() == "MR":
            prior = prior or ident
        fallback = fallback or ident or None
    prior = _bounded(mrg, 1, prior or fallback, "prior medical record number")
    if not prior:
        raise _missing(mrg, "MRG", 1, "prior medical record number")
    return PatientMerge(sending_facility=facility, patient=patient, prior_mrn=prior)


def _encounter(msg: Message, facility: str, kind: EncounterKind,
               issues: _Issues) -> EncounterRecord | PatientRecord:
    patient = _patient(msg, issues)
    pv1 = msg.segment("PV1")
    if pv1 is None:
        raise Hl7Error(100, "required segment PV1 missing", segment="PV1")
    patient_class = _required(pv1, 2, "patient class").upper()
    if patient_class not in tables.PATIENT_CLASS_0004:
        raise _table_error(pv1, 2, "patient class")
    visit = _bounded(pv1, 19, pv1.get(19, 1).strip(), "visit number")
    if not visit and kind is EncounterKind.UPDATED and patient_class == "N":
        return PatientRecord(sending_facility=facility, patient=patient)
    if not visit:
        raise _missing(pv1, "PV1", 19, "visit number")
    if patient_class not in ("I", "O", "E"):
        issues.add("unmapped-code", pv1, 2, "patient class other than I, O or E",
                   value=patient_class)
    admitted, discharged = _dtm(pv1, 44), _dtm(pv1, 45)
    if kind is EncounterKind.DISCHARGED and discharged is None:
        raise _missing(pv1, "PV1", 45, "discharge date/time")
    if kind is EncounterKind.ADMITTED and admitted is None:
        issues.add("missing", pv1, 44, "admission without an admit date/time")
    if admitted and discharged and discharged < admitted:
        issues.add("inconsistent", pv1, 45, "discharge date/time before admit date/time")
    department_code = pv1.get(3, 1).strip()
    return EncounterRecord(
        sending_facility=facility,
        kind=kind,
        visit_number=visit,
        patient=patient,
        patient_class=patient_class,
        department=Code(department_code, display=pv1.get(3, 9)) if department_code else None,
        admitted_at=admitted,
        discharged_at=discharged,
        diagnoses=_diagnoses(msg, issues),
        procedures=tuple(_procedure(pr1) for pr1 in msg.all("PR1")),
        cost_lines=_cost_lines(msg, kind, issues),
    )


def _diagnoses(msg: Message, issues: _Issues) -> tuple[Diagnosis, ...]:
    rows: list[tuple[Code, str, str]] = []
    for dg1 in msg.all("DG1"):
        code = _coded(dg1, 3, "diagnosis code", system_field=2, display_field=4)
        dtype = dg1.get(6).strip().upper()
        if dtype and dtype not in tables.DIAGNOSIS_TYPE_0052:
            issues.add("unmapped-code", dg1, 6, "diagnosis type not in HL7 table 0052",
                       value=_shown(dtype))
        priority = dg1.get(15).strip()
        if priority and not (priority.isascii() and priority.isdigit()):
            issues.add("unmapped-code", dg1, 15, "diagnosis priority is not a number",
                       value=_shown(priority))
        rows.append((code, dtype, priority))
    principal = [i for i, (_, _, priority) in enumerate(rows) if priority == "1"]
    if len(principal) > 1:
        issues.add("inconsistent", msg.all("DG1")[principal[1]], 15,
                   "more than one principal diagnosis; the first is kept")
    if not principal:
        principal = [i for i, (_, dtype, _) in enumerate(rows) if dtype == "F"][:1]
    chosen = principal[0] if principal else -1
    return tuple(Diagnosis(code, principal=i == chosen) for i, (code, _, _) in enumerate(rows))


def _procedure(pr1: Segment) -> Procedure:
    code = _coded(pr1, 3, "procedure code", system_field=2, display_field=4)
    return Procedure(code=code, performed_at=_dtm(pr1, 5))


def _cost_lines(msg: Message, kind: EncounterKind, issues: _Issues) -> tuple[CostLine, ...]:
    ft1s = msg.all("FT1")
    if not ft1s:
        return ()
    if kind is not EncounterKind.DISCHARGED:
        issues.add("ignored", ft1s[0], 7, "FT1 charges are read only in ADT^A03",
                   count=str(len(ft1s)))
        return ()
    return tuple(_cost_line(ft1, issues) for ft1 in ft1s)


def _cost_line(ft1: Segment, issues: _Issues) -> CostLine:
    item = _coded(ft1, 7, "charge item code", display_field=8)
    seq = ft1.occurrence
    amount = ft1.get(11, 1, 1).strip()
    if not amount:
        raise _missing(ft1, "FT1", 11, "extended amount")
    currency = ft1.get(11, 1, 2).strip().upper()
    if currency and currency not in tables.CURRENCIES:
        raise Hl7Error(103, "FT1-11 currency is not CNY", segment="FT1", segment_seq=seq,
                       field=11, component=1)
    fen = money_to_fen(amount, segment="FT1", field=11, component=1, segment_seq=seq)
    quantity = parse_decimal(ft1.get(10, 1), segment="FT1", field=10, segment_seq=seq)
    whole = 1
    if quantity is not None:
        if quantity == quantity.to_integral_value() and quantity.adjusted() < 18:
            whole = int(quantity)
        else:
            issues.add("not-whole-quantity", ft1, 10,
                       "quantity is not a whole number; recorded as 1, amount kept",
                       quantity=str(quantity)[:20])
    return CostLine(item=item, amount_fen=fen, quantity=whole)


# --- ORU -----------------------------------------------------------------------------------

def _groups(msg: Message, head: str, member: str) -> list[tuple[Segment, list[Segment]]]:
    groups: list[tuple[Segment, list[Segment]]] = []
    for seg in msg.segments:
        if seg.name == head:
            groups.append((seg, []))
        elif seg.name == member:
            if not groups:
                raise Hl7Error(100, f"{member} before any {head}", segment=member,
                               segment_seq=seg.occurrence)
            groups[-1][1].append(seg)
    if not groups:
        raise Hl7Error(100, f"required segment {head} missing", segment=head)
    return groups


def _results(msg: Message, facility: str, issues: _Issues) -> list[ResultReport]:
    patient = _patient(msg, issues)
    reports = []
    for obr, obxs in _groups(msg, "OBR", "OBX"):
        if not obxs:
            raise Hl7Error(100, "OBR without any OBX", segment="OBR", segment_seq=obr.occurrence)
        report_id = _required(obr, 3, "filler order number")
        service = _coded(obr, 4, "universal service identifier")
        observed = _dtm(obr, 7)
        if observed is None:
            raise _missing(obr, "OBR", 7, "observation date/time")
        section = obr.get(24).strip().upper()
        reports.append(ResultReport(
            sending_facility=facility,
            report_id=report_id,
            category=(ResultCategory.IMAGING if section in tables.IMAGING_SECTIONS
                      else ResultCategory.LABORATORY),
            service=service,
            patient=patient,
            observed_at=observed,
            observations=tuple(_observation(obx, i, issues) for i, obx in enumerate(obxs, 1)),
            placer_order_id=_bounded(obr, 2, obr.get(2, 1).strip(), "placer order number") or None,
        ))
    return reports


def _observation(obx: Segment, position: int, issues: _Issues) -> Observation:
    set_id, value_type, unit, ref_range, flag, status, observed = obx.values(1, 2, 6, 7, 8, 11, 14)
    sequence = parse_int(set_id, segment="OBX", field=1, segment_seq=obx.occurrence)
    value_type = value_type.strip().upper()
    if value_type and value_type not in tables.VALUE_TYPES_0125:
        issues.add("unmapped-code", obx, 2, "value type not in HL7 table 0125; read as text",
                   value=_shown(value_type))
    item = _coded(obx, 3, "observation identifier")
    status = status.strip().upper()
    if not status:
        raise _missing(obx, "OBX", 11, "result status")
    if status not in tables.RESULT_STATUS_0085:
        raise _table_error(obx, 11, "result status")
    flag = flag.strip()
    if flag and flag not in tables.ABNORMAL_FLAGS_0078:
        issues.add("unmapped-code", obx, 8, "abnormal flag not in HL7 table 0078",
                   value=_shown(flag))
    return Observation(
        sequence=sequence if sequence is not None else position,
        item=item,
        value=_value(obx, value_type, issues),
        value_type=value_type or "ST",
        unit=(unit or obx.get(6, 2)).strip() or None,
        reference_range=ref_range.strip() or None,
        abnormal_flag=flag or None,
        status=status,
        effective_at=parse_dtm(observed, segment="OBX", field=14, segment_seq=obx.occurrence),
        performing_lab=(obx.get(23, 10) or obx.get(23, 1)).strip() or None,
    )


def _value(obx: Segment, value_type: str, issues: _Issues) -> str:
    count = obx.repetitions(5)
    if not count:
        return ""
    if not value_type:
        raise _missing(obx, "OBX", 2, "value type, required when OBX-5 is valued")
    if count == 1:
        return _one_value(obx, value_type, 1)
    return "\n".join(_one_value(obx, value_type, rep) for rep in _reps(obx, 5, issues))


def _one_value(obx: Segment, value_type: str, rep: int) -> str:
    seq = obx.occurrence
    if value_type == "NM":
        value = obx.text(5, rep).strip()
        check_decimal(value, segment="OBX", field=5, segment_seq=seq)
        return value
    if value_type in tables.CODED_TYPES:
        return " ".join(p for p in (obx.get(5, 1, 1, rep), obx.get(5, 2, 1, rep)) if p)
    if value_type == "SN":
        parts = [obx.get(5, c, 1, rep).strip() for c in (1, 2, 3, 4)]
        for component in (2, 4):
            check_decimal(parts[component - 1], segment="OBX", field=5, component=component,
                          segment_seq=seq)
        return "".join(parts)
    if value_type in ("DT", "TS", "DTM"):
        value = obx.get(5, 1, 1, rep).strip()
        parse_dtm(value, segment="OBX", field=5, segment_seq=seq)
        return value
    return obx.text(5, rep)


def _orders(msg: Message, facility: str, issues: _Issues) -> list[OrderRecord]:
    patient = _patient(msg, issues)
    pv1 = msg.segment("PV1")
    visit = None
    if pv1 is not None:
        visit = _bounded(pv1, 19, pv1.get(19, 1).strip(), "visit number") or None
    orders = []
    for orc, obrs in _groups(msg, "ORC", "OBR"):
        if not obrs:
            raise Hl7Error(100, "ORC without an OBR", segment="ORC", segment_seq=orc.occurrence)
        control = _required(orc, 1, "order control").upper()
        if control not in tables.ORDER_CONTROL_0119:
            raise _table_error(orc, 1, "order control")
        placer = (_bounded(orc, 2, orc.get(2, 1).strip(), "placer order number")
                  or _bounded(obrs[0], 2, obrs[0].get(2, 1).strip(), "placer order number"))
        if not placer:
            raise _missing(orc, "ORC", 2, "placer order number")
        ordered = _dtm(orc, 9) or _dtm(obrs[0], 6)
        if ordered is None:
            raise _missing(orc, "ORC", 9, "transaction date/time")
        orders.append(OrderRecord(
            sending_facility=facility,
            placer_order_id=placer,
            patient=patient,
            items=tuple(_coded(obr, 4, "universal service identifier") for obr in obrs),
            ordered_at=ordered,
            control=control,
            visit_number=visit,
        ))
    return orders


# --- warnings for the ACK ------------------------------------------------------------------

_ISSUE_CODES = {"unmapped-code": 103, "missing": 101, "invalid-format": 102,
                "not-whole-quantity": 102}


def issues_as_warnings(issues: Sequence[Issue]) -> list[Hl7Error]:
    """Warnings from to_records as severity-W Hl7Errors, for the ERR segments of an AA."""
    out = []
    for issue in issues:
        segment, _, field = issue.location.partition("-")
        out.append(Hl7Error(
            _ISSUE_CODES.get(issue.code, 0), issue.message, segment=segment or None,
            segment_seq=int(issue.details.get("occurrence", "1")),
            field=int(field) if field.isdigit() else None, severity="W",
        ))
    return out
