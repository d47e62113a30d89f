import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReferralRef(_message.Message):
    __slots__ = ("referral_id", "patient_id", "origin_hospital", "direction", "diagnosis_code", "severity", "urgency", "rule_id", "rule_version", "linked_from")
    REFERRAL_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_HOSPITAL_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSIS_CODE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    URGENCY_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_VERSION_FIELD_NUMBER: _ClassVar[int]
    LINKED_FROM_FIELD_NUMBER: _ClassVar[int]
    referral_id: str
    patient_id: str
    origin_hospital: str
    direction: str
    diagnosis_code: str
    severity: str
    urgency: str
    rule_id: str
    rule_version: int
    linked_from: str
    def __init__(self, referral_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., origin_hospital: _Optional[str] = ..., direction: _Optional[str] = ..., diagnosis_code: _Optional[str] = ..., severity: _Optional[str] = ..., urgency: _Optional[str] = ..., rule_id: _Optional[str] = ..., rule_version: _Optional[int] = ..., linked_from: _Optional[str] = ...) -> None: ...

class ReferralRequested(_message.Message):
    __slots__ = ("referral", "deadline", "occurred_at")
    REFERRAL_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    referral: ReferralRef
    deadline: _timestamp_pb2.Timestamp
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, referral: _Optional[_Union[ReferralRef, _Mapping]] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReferralOffered(_message.Message):
    __slots__ = ("referral", "hospital_ids", "occurred_at")
    REFERRAL_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_IDS_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    referral: ReferralRef
    hospital_ids: _containers.RepeatedScalarFieldContainer[str]
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, referral: _Optional[_Union[ReferralRef, _Mapping]] = ..., hospital_ids: _Optional[_Iterable[str]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReferralAccepted(_message.Message):
    __slots__ = ("referral", "receiving_hospital", "occurred_at")
    REFERRAL_FIELD_NUMBER: _ClassVar[int]
    RECEIVING_HOSPITAL_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    referral: ReferralRef
    receiving_hospital: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, referral: _Optional[_Union[ReferralRef, _Mapping]] = ..., receiving_hospital: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReferralRejected(_message.Message):
    __slots__ = ("referral", "hospital_id", "reason", "all_rejected", "occurred_at")
    REFERRAL_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ALL_REJECTED_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    referral: ReferralRef
    hospital_id: str
    reason: str
    all_rejected: bool
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, referral: _Optional[_Union[ReferralRef, _Mapping]] = ..., hospital_id: _Optional[str] = ..., reason: _Optional[str] = ..., all_rejected: _Optional[bool] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReferralTransferred(_message.Message):
    __slots__ = ("referral", "receiving_hospital", "occurred_at")
    REFERRAL_FIELD_NUMBER: _ClassVar[int]
    RECEIVING_HOSPITAL_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    referral: ReferralRef
    receiving_hospital: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, referral: _Optional[_Union[ReferralRef, _Mapping]] = ..., receiving_hospital: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReferralArrived(_message.Message):
    __slots__ = ("referral", "receiving_hospital", "occurred_at")
    REFERRAL_FIELD_NUMBER: _ClassVar[int]
    RECEIVING_HOSPITAL_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    referral: ReferralRef
    receiving_hospital: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, referral: _Optional[_Union[ReferralRef, _Mapping]] = ..., receiving_hospital: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReferralCompleted(_message.Message):
    __slots__ = ("referral", "receiving_hospital", "requested_at", "accepted_at", "arrived_at", "occurred_at")
    REFERRAL_FIELD_NUMBER: _ClassVar[int]
    RECEIVING_HOSPITAL_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_AT_FIELD_NUMBER: _ClassVar[int]
    ARRIVED_AT_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    referral: ReferralRef
    receiving_hospital: str
    requested_at: _timestamp_pb2.Timestamp
    accepted_at: _timestamp_pb2.Timestamp
    arrived_at: _timestamp_pb2.Timestamp
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, referral: _Optional[_Union[ReferralRef, _Mapping]] = ..., receiving_hospital: _Optional[str] = ..., requested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., accepted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., arrived_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReferralCancelled(_message.Message):
    __slots__ = ("referral", "by", "reason", "occurred_at")
    REFERRAL_FIELD_NUMBER: _ClassVar[int]
    BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    referral: ReferralRef
    by: str
    reason: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, referral: _Optional[_Union[ReferralRef, _Mapping]] = ..., by: _Optional[str] = ..., reason: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReferralExpired(_message.Message):
    __slots__ = ("referral", "occurred_at")
    REFERRAL_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    referral: ReferralRef
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, referral: _Optional[_Union[ReferralRef, _Mapping]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReferralEscalated(_message.Message):
    __slots__ = ("referral", "deadline", "occurred_at")
    REFERRAL_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    referral: ReferralRef
    deadline: _timestamp_pb2.Timestamp
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, referral: _Optional[_Union[ReferralRef, _Mapping]] = ..., deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BedsUpdated(_message.Message):
    __slots__ = ("hospital_id", "specialty", "available", "total", "reported_at")
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    SPECIALTY_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    REPORTED_AT_FIELD_NUMBER: _ClassVar[int]
    hospital_id: str
    specialty: str
    available: int
    total: int
    reported_at: _timestamp_pb2.Timestamp
    def __init__(self, hospital_id: _Optional[str] = ..., specialty: _Optional[str] = ..., available: _Optional[int] = ..., total: _Optional[int] = ..., reported_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
