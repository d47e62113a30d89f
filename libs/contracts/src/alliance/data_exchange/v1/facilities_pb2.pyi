import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HospitalLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HOSPITAL_LEVEL_UNSPECIFIED: _ClassVar[HospitalLevel]
    HOSPITAL_LEVEL_PRIMARY: _ClassVar[HospitalLevel]
    HOSPITAL_LEVEL_SECONDARY: _ClassVar[HospitalLevel]
    HOSPITAL_LEVEL_TERTIARY: _ClassVar[HospitalLevel]
HOSPITAL_LEVEL_UNSPECIFIED: HospitalLevel
HOSPITAL_LEVEL_PRIMARY: HospitalLevel
HOSPITAL_LEVEL_SECONDARY: HospitalLevel
HOSPITAL_LEVEL_TERTIARY: HospitalLevel

class Hospital(_message.Message):
    __slots__ = ("hospital_id", "name", "level", "region_code", "specialties", "total_beds", "active", "version")
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    SPECIALTIES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BEDS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    hospital_id: str
    name: str
    level: HospitalLevel
    region_code: str
    specialties: _containers.RepeatedScalarFieldContainer[str]
    total_beds: int
    active: bool
    version: int
    def __init__(self, hospital_id: _Optional[str] = ..., name: _Optional[str] = ..., level: _Optional[_Union[HospitalLevel, str]] = ..., region_code: _Optional[str] = ..., specialties: _Optional[_Iterable[str]] = ..., total_beds: _Optional[int] = ..., active: _Optional[bool] = ..., version: _Optional[int] = ...) -> None: ...

class HospitalRegistered(_message.Message):
    __slots__ = ("hospital", "occurred_at")
    HOSPITAL_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    hospital: Hospital
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, hospital: _Optional[_Union[Hospital, _Mapping]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class HospitalUpdated(_message.Message):
    __slots__ = ("hospital", "occurred_at", "changed_fields")
    HOSPITAL_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    hospital: Hospital
    occurred_at: _timestamp_pb2.Timestamp
    changed_fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, hospital: _Optional[_Union[Hospital, _Mapping]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., changed_fields: _Optional[_Iterable[str]] = ...) -> None: ...

class GetHospitalRequest(_message.Message):
    __slots__ = ("hospital_id",)
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    hospital_id: str
    def __init__(self, hospital_id: _Optional[str] = ...) -> None: ...

class ListHospitalsRequest(_message.Message):
    __slots__ = ("level", "region_code")
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    level: HospitalLevel
    region_code: str
    def __init__(self, level: _Optional[_Union[HospitalLevel, str]] = ..., region_code: _Optional[str] = ...) -> None: ...

class ListHospitalsResponse(_message.Message):
    __slots__ = ("hospitals",)
    HOSPITALS_FIELD_NUMBER: _ClassVar[int]
    hospitals: _containers.RepeatedCompositeFieldContainer[Hospital]
    def __init__(self, hospitals: _Optional[_Iterable[_Union[Hospital, _Mapping]]] = ...) -> None: ...
