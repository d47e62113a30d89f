import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RecognitionDecided(_message.Message):
    __slots__ = ("decision_id", "patient_id", "requesting_hospital", "item_code", "outcome", "result_id", "issuing_hospital", "saving_fen", "price_missing", "decline_reason", "occurred_at")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTING_HOSPITAL_FIELD_NUMBER: _ClassVar[int]
    ITEM_CODE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    RESULT_ID_FIELD_NUMBER: _ClassVar[int]
    ISSUING_HOSPITAL_FIELD_NUMBER: _ClassVar[int]
    SAVING_FEN_FIELD_NUMBER: _ClassVar[int]
    PRICE_MISSING_FIELD_NUMBER: _ClassVar[int]
    DECLINE_REASON_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    patient_id: str
    requesting_hospital: str
    item_code: str
    outcome: str
    result_id: str
    issuing_hospital: str
    saving_fen: int
    price_missing: bool
    decline_reason: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, decision_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., requesting_hospital: _Optional[str] = ..., item_code: _Optional[str] = ..., outcome: _Optional[str] = ..., result_id: _Optional[str] = ..., issuing_hospital: _Optional[str] = ..., saving_fen: _Optional[int] = ..., price_missing: _Optional[bool] = ..., decline_reason: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class QcEligibilityChanged(_message.Message):
    __slots__ = ("lab_id", "item_code", "status", "effective_from", "reference", "occurred_at")
    LAB_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_CODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    lab_id: str
    item_code: str
    status: str
    effective_from: _timestamp_pb2.Timestamp
    reference: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, lab_id: _Optional[str] = ..., item_code: _Optional[str] = ..., status: _Optional[str] = ..., effective_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reference: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CheckRecognitionRequest(_message.Message):
    __slots__ = ("patient_id", "item_codes", "at", "inpatient_after_surgery", "mrn")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_CODES_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    INPATIENT_AFTER_SURGERY_FIELD_NUMBER: _ClassVar[int]
    MRN_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    item_codes: _containers.RepeatedScalarFieldContainer[str]
    at: _timestamp_pb2.Timestamp
    inpatient_after_surgery: bool
    mrn: str
    def __init__(self, patient_id: _Optional[str] = ..., item_codes: _Optional[_Iterable[str]] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., inpatient_after_surgery: _Optional[bool] = ..., mrn: _Optional[str] = ...) -> None: ...

class RecognisedResult(_message.Message):
    __slots__ = ("result_id", "hospital_id", "lab_id", "value", "unit", "effective_at", "report_ref")
    RESULT_ID_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    LAB_ID_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_AT_FIELD_NUMBER: _ClassVar[int]
    REPORT_REF_FIELD_NUMBER: _ClassVar[int]
    result_id: str
    hospital_id: str
    lab_id: str
    value: str
    unit: str
    effective_at: _timestamp_pb2.Timestamp
    report_ref: str
    def __init__(self, result_id: _Optional[str] = ..., hospital_id: _Optional[str] = ..., lab_id: _Optional[str] = ..., value: _Optional[str] = ..., unit: _Optional[str] = ..., effective_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., report_ref: _Optional[str] = ...) -> None: ...

class ItemDecision(_message.Message):
    __slots__ = ("item_code", "recognised", "reason", "explanation")
    ITEM_CODE_FIELD_NUMBER: _ClassVar[int]
    RECOGNISED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    item_code: str
    recognised: _containers.RepeatedCompositeFieldContainer[RecognisedResult]
    reason: str
    explanation: str
    def __init__(self, item_code: _Optional[str] = ..., recognised: _Optional[_Iterable[_Union[RecognisedResult, _Mapping]]] = ..., reason: _Optional[str] = ..., explanation: _Optional[str] = ...) -> None: ...

class CheckRecognitionResponse(_message.Message):
    __slots__ = ("check_id", "items")
    CHECK_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    check_id: str
    items: _containers.RepeatedCompositeFieldContainer[ItemDecision]
    def __init__(self, check_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[ItemDecision, _Mapping]]] = ...) -> None: ...

class ListRecognisableRequest(_message.Message):
    __slots__ = ("patient_id", "at", "mrn")
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    MRN_FIELD_NUMBER: _ClassVar[int]
    patient_id: str
    at: _timestamp_pb2.Timestamp
    mrn: str
    def __init__(self, patient_id: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., mrn: _Optional[str] = ...) -> None: ...
