import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CodedValue(_message.Message):
    __slots__ = ("code", "system", "display", "local_code")
    CODE_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_FIELD_NUMBER: _ClassVar[int]
    LOCAL_CODE_FIELD_NUMBER: _ClassVar[int]
    code: str
    system: str
    display: str
    local_code: str
    def __init__(self, code: _Optional[str] = ..., system: _Optional[str] = ..., display: _Optional[str] = ..., local_code: _Optional[str] = ...) -> None: ...

class PatientLinked(_message.Message):
    __slots__ = ("patient_id", "hospital_id", "mrn", "decision", "score", "occurred_at")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    MRN_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    hospital_id: str
    mrn: str
    decision: str
    score: float
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, patient_id: _Optional[str] = ..., hospital_id: _Optional[str] = ..., mrn: _Optional[str] = ..., decision: _Optional[str] = ..., score: _Optional[float] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PatientsMerged(_message.Message):
    __slots__ = ("survivor_patient_id", "absorbed_patient_id", "by", "occurred_at")
    SURVIVOR_PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    ABSORBED_PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    BY_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    survivor_patient_id: str
    absorbed_patient_id: str
    by: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, survivor_patient_id: _Optional[str] = ..., absorbed_patient_id: _Optional[str] = ..., by: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PatientsUnmerged(_message.Message):
    __slots__ = ("survivor_patient_id", "restored_patient_id", "by", "occurred_at", "restored_mrns")
    SURVIVOR_PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    RESTORED_PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    BY_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    RESTORED_MRNS_FIELD_NUMBER: _ClassVar[int]
    survivor_patient_id: str
    restored_patient_id: str
    by: str
    occurred_at: _timestamp_pb2.Timestamp
    restored_mrns: _containers.RepeatedCompositeFieldContainer[HospitalMrn]
    def __init__(self, survivor_patient_id: _Optional[str] = ..., restored_patient_id: _Optional[str] = ..., by: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., restored_mrns: _Optional[_Iterable[_Union[HospitalMrn, _Mapping]]] = ...) -> None: ...

class PatientAccessRevoked(_message.Message):
    __slots__ = ("referral_id", "hospital_id", "patient_id", "by", "occurred_at")
    REFERRAL_ID_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    BY_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    referral_id: str
    hospital_id: str
    patient_id: str
    by: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, referral_id: _Optional[str] = ..., hospital_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., by: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ResultRecorded(_message.Message):
    __slots__ = ("result_id", "patient_id", "hospital_id", "lab_id", "category", "item", "value", "value_type", "unit", "reference_range", "abnormal_flag", "status", "effective_at", "report_ref", "source", "mrn")
    RESULT_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    LAB_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    VALUE_TYPE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_RANGE_FIELD_NUMBER: _ClassVar[int]
    ABNORMAL_FLAG_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_AT_FIELD_NUMBER: _ClassVar[int]
    REPORT_REF_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    MRN_FIELD_NUMBER: _ClassVar[int]
    result_id: str
    patient_id: str
    hospital_id: str
    lab_id: str
    category: str
    item: CodedValue
    value: str
    value_type: str
    unit: str
    reference_range: str
    abnormal_flag: str
    status: str
    effective_at: _timestamp_pb2.Timestamp
    report_ref: str
    source: str
    mrn: str
    def __init__(self, result_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., hospital_id: _Optional[str] = ..., lab_id: _Optional[str] = ..., category: _Optional[str] = ..., item: _Optional[_Union[CodedValue, _Mapping]] = ..., value: _Optional[str] = ..., value_type: _Optional[str] = ..., unit: _Optional[str] = ..., reference_range: _Optional[str] = ..., abnormal_flag: _Optional[str] = ..., status: _Optional[str] = ..., effective_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., report_ref: _Optional[str] = ..., source: _Optional[str] = ..., mrn: _Optional[str] = ...) -> None: ...

class CostLine(_message.Message):
    __slots__ = ("category", "item", "amount_fen", "quantity")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    category: str
    item: CodedValue
    amount_fen: int
    quantity: int
    def __init__(self, category: _Optional[str] = ..., item: _Optional[_Union[CodedValue, _Mapping]] = ..., amount_fen: _Optional[int] = ..., quantity: _Optional[int] = ...) -> None: ...

class Diagnosis(_message.Message):
    __slots__ = ("code", "principal")
    CODE_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    code: CodedValue
    principal: bool
    def __init__(self, code: _Optional[_Union[CodedValue, _Mapping]] = ..., principal: _Optional[bool] = ...) -> None: ...

class Procedure(_message.Message):
    __slots__ = ("code", "performed_at")
    CODE_FIELD_NUMBER: _ClassVar[int]
    PERFORMED_AT_FIELD_NUMBER: _ClassVar[int]
    code: CodedValue
    performed_at: _timestamp_pb2.Timestamp
    def __init__(self, code: _Optional[_Union[CodedValue, _Mapping]] = ..., performed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EncounterAdmitted(_message.Message):
    __slots__ = ("encounter_id", "patient_id", "hospital_id", "patient_class", "department", "admitted_at")
    ENCOUNTER_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_CLASS_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    ADMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    encounter_id: str
    patient_id: str
    hospital_id: str
    patient_class: str
    department: CodedValue
    admitted_at: _timestamp_pb2.Timestamp
    def __init__(self, encounter_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., hospital_id: _Optional[str] = ..., patient_class: _Optional[str] = ..., department: _Optional[_Union[CodedValue, _Mapping]] = ..., admitted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EncounterUpdated(_message.Message):
    __slots__ = ("encounter_id", "patient_id", "hospital_id", "patient_class", "department", "admitted_at", "diagnoses", "procedures", "cost_lines", "total_cost_fen", "as_of")
    ENCOUNTER_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_CLASS_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    ADMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSES_FIELD_NUMBER: _ClassVar[int]
    PROCEDURES_FIELD_NUMBER: _ClassVar[int]
    COST_LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COST_FEN_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    encounter_id: str
    patient_id: str
    hospital_id: str
    patient_class: str
    department: CodedValue
    admitted_at: _timestamp_pb2.Timestamp
    diagnoses: _containers.RepeatedCompositeFieldContainer[Diagnosis]
    procedures: _containers.RepeatedCompositeFieldContainer[Procedure]
    cost_lines: _containers.RepeatedCompositeFieldContainer[CostLine]
    total_cost_fen: int
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, encounter_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., hospital_id: _Optional[str] = ..., patient_class: _Optional[str] = ..., department: _Optional[_Union[CodedValue, _Mapping]] = ..., admitted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., diagnoses: _Optional[_Iterable[_Union[Diagnosis, _Mapping]]] = ..., procedures: _Optional[_Iterable[_Union[Procedure, _Mapping]]] = ..., cost_lines: _Optional[_Iterable[_Union[CostLine, _Mapping]]] = ..., total_cost_fen: _Optional[int] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EncounterDischarged(_message.Message):
    __slots__ = ("encounter_id", "patient_id", "hospital_id", "patient_class", "department", "admitted_at", "discharged_at", "length_of_stay_days", "diagnoses", "procedures", "cost_lines", "total_cost_fen")
    ENCOUNTER_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_CLASS_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    ADMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    DISCHARGED_AT_FIELD_NUMBER: _ClassVar[int]
    LENGTH_OF_STAY_DAYS_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSES_FIELD_NUMBER: _ClassVar[int]
    PROCEDURES_FIELD_NUMBER: _ClassVar[int]
    COST_LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COST_FEN_FIELD_NUMBER: _ClassVar[int]
    encounter_id: str
    patient_id: str
    hospital_id: str
    patient_class: str
    department: CodedValue
    admitted_at: _timestamp_pb2.Timestamp
    discharged_at: _timestamp_pb2.Timestamp
    length_of_stay_days: int
    diagnoses: _containers.RepeatedCompositeFieldContainer[Diagnosis]
    procedures: _containers.RepeatedCompositeFieldContainer[Procedure]
    cost_lines: _containers.RepeatedCompositeFieldContainer[CostLine]
    total_cost_fen: int
    def __init__(self, encounter_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., hospital_id: _Optional[str] = ..., patient_class: _Optional[str] = ..., department: _Optional[_Union[CodedValue, _Mapping]] = ..., admitted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., discharged_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., length_of_stay_days: _Optional[int] = ..., diagnoses: _Optional[_Iterable[_Union[Diagnosis, _Mapping]]] = ..., procedures: _Optional[_Iterable[_Union[Procedure, _Mapping]]] = ..., cost_lines: _Optional[_Iterable[_Union[CostLine, _Mapping]]] = ..., total_cost_fen: _Optional[int] = ...) -> None: ...

class OrderPlaced(_message.Message):
    __slots__ = ("order_id", "patient_id", "hospital_id", "items", "control", "ordered_at")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    CONTROL_FIELD_NUMBER: _ClassVar[int]
    ORDERED_AT_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    patient_id: str
    hospital_id: str
    items: _containers.RepeatedCompositeFieldContainer[CodedValue]
    control: str
    ordered_at: _timestamp_pb2.Timestamp
    def __init__(self, order_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., hospital_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[CodedValue, _Mapping]]] = ..., control: _Optional[str] = ..., ordered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ResolvePatientRequest(_message.Message):
    __slots__ = ("patient_id", "mrn")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    MRN_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    mrn: HospitalMrn
    def __init__(self, patient_id: _Optional[str] = ..., mrn: _Optional[_Union[HospitalMrn, _Mapping]] = ...) -> None: ...

class HospitalMrn(_message.Message):
    __slots__ = ("hospital_id", "mrn")
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    MRN_FIELD_NUMBER: _ClassVar[int]
    hospital_id: str
    mrn: str
    def __init__(self, hospital_id: _Optional[str] = ..., mrn: _Optional[str] = ...) -> None: ...

class ResolvePatientResponse(_message.Message):
    __slots__ = ("patient_id", "mrns")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    MRNS_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    mrns: _containers.RepeatedCompositeFieldContainer[HospitalMrn]
    def __init__(self, patient_id: _Optional[str] = ..., mrns: _Optional[_Iterable[_Union[HospitalMrn, _Mapping]]] = ...) -> None: ...

class GetPatientSummaryRequest(_message.Message):
    __slots__ = ("patient_id", "purpose", "mrn")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    MRN_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    purpose: str
    mrn: HospitalMrn
    def __init__(self, patient_id: _Optional[str] = ..., purpose: _Optional[str] = ..., mrn: _Optional[_Union[HospitalMrn, _Mapping]] = ...) -> None: ...

class PatientSummary(_message.Message):
    __slots__ = ("patient_id", "name", "sex", "birth_date", "national_id_masked", "mrns", "recent_encounters")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SEX_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    NATIONAL_ID_MASKED_FIELD_NUMBER: _ClassVar[int]
    MRNS_FIELD_NUMBER: _ClassVar[int]
    RECENT_ENCOUNTERS_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    name: str
    sex: str
    birth_date: str
    national_id_masked: str
    mrns: _containers.RepeatedCompositeFieldContainer[HospitalMrn]
    recent_encounters: _containers.RepeatedCompositeFieldContainer[EncounterDischarged]
    def __init__(self, patient_id: _Optional[str] = ..., name: _Optional[str] = ..., sex: _Optional[str] = ..., birth_date: _Optional[str] = ..., national_id_masked: _Optional[str] = ..., mrns: _Optional[_Iterable[_Union[HospitalMrn, _Mapping]]] = ..., recent_encounters: _Optional[_Iterable[_Union[EncounterDischarged, _Mapping]]] = ...) -> None: ...
