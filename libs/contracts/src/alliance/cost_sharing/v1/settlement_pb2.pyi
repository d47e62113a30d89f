import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Leg(_message.Message):
    __slots__ = ("account", "debit_fen", "credit_fen")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    DEBIT_FEN_FIELD_NUMBER: _ClassVar[int]
    CREDIT_FEN_FIELD_NUMBER: _ClassVar[int]
    account: str
    debit_fen: int
    credit_fen: int
    def __init__(self, account: _Optional[str] = ..., debit_fen: _Optional[int] = ..., credit_fen: _Optional[int] = ...) -> None: ...

class SettlementEntryPosted(_message.Message):
    __slots__ = ("seq", "entry_id", "kind", "reference", "period", "legs", "memo", "occurred_at", "posted_at", "reverses", "prev_hash", "hash")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    LEGS_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    POSTED_AT_FIELD_NUMBER: _ClassVar[int]
    REVERSES_FIELD_NUMBER: _ClassVar[int]
    PREV_HASH_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    seq: int
    entry_id: str
    kind: str
    reference: str
    period: str
    legs: _containers.RepeatedCompositeFieldContainer[Leg]
    memo: str
    occurred_at: _timestamp_pb2.Timestamp
    posted_at: _timestamp_pb2.Timestamp
    reverses: str
    prev_hash: str
    hash: str
    def __init__(self, seq: _Optional[int] = ..., entry_id: _Optional[str] = ..., kind: _Optional[str] = ..., reference: _Optional[str] = ..., period: _Optional[str] = ..., legs: _Optional[_Iterable[_Union[Leg, _Mapping]]] = ..., memo: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., posted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reverses: _Optional[str] = ..., prev_hash: _Optional[str] = ..., hash: _Optional[str] = ...) -> None: ...

class SettlementStatementIssued(_message.Message):
    __slots__ = ("statement_id", "hospital_id", "account", "period", "opening_fen", "debits_fen", "credits_fen", "closing_fen", "entries", "through_seq", "head_hash", "occurred_at")
    STATEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    OPENING_FEN_FIELD_NUMBER: _ClassVar[int]
    DEBITS_FEN_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FEN_FIELD_NUMBER: _ClassVar[int]
    CLOSING_FEN_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    THROUGH_SEQ_FIELD_NUMBER: _ClassVar[int]
    HEAD_HASH_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    statement_id: str
    hospital_id: str
    account: str
    period: str
    opening_fen: int
    debits_fen: int
    credits_fen: int
    closing_fen: int
    entries: int
    through_seq: int
    head_hash: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, statement_id: _Optional[str] = ..., hospital_id: _Optional[str] = ..., account: _Optional[str] = ..., period: _Optional[str] = ..., opening_fen: _Optional[int] = ..., debits_fen: _Optional[int] = ..., credits_fen: _Optional[int] = ..., closing_fen: _Optional[int] = ..., entries: _Optional[int] = ..., through_seq: _Optional[int] = ..., head_hash: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LedgerCheckpointSigned(_message.Message):
    __slots__ = ("seq", "head_hash", "entries", "signed_at", "key_id", "signature", "public_key_pem")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    HEAD_HASH_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    SIGNED_AT_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_PEM_FIELD_NUMBER: _ClassVar[int]
    seq: int
    head_hash: str
    entries: int
    signed_at: _timestamp_pb2.Timestamp
    key_id: str
    signature: str
    public_key_pem: str
    def __init__(self, seq: _Optional[int] = ..., head_hash: _Optional[str] = ..., entries: _Optional[int] = ..., signed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., key_id: _Optional[str] = ..., signature: _Optional[str] = ..., public_key_pem: _Optional[str] = ...) -> None: ...

class Transfer(_message.Message):
    __slots__ = ("payer", "payee", "amount_fen")
    PAYER_FIELD_NUMBER: _ClassVar[int]
    PAYEE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    payer: str
    payee: str
    amount_fen: int
    def __init__(self, payer: _Optional[str] = ..., payee: _Optional[str] = ..., amount_fen: _Optional[int] = ...) -> None: ...

class NettingComputed(_message.Message):
    __slots__ = ("period", "transfers", "gross_fen", "net_fen", "through_seq", "occurred_at")
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    TRANSFERS_FIELD_NUMBER: _ClassVar[int]
    GROSS_FEN_FIELD_NUMBER: _ClassVar[int]
    NET_FEN_FIELD_NUMBER: _ClassVar[int]
    THROUGH_SEQ_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    period: str
    transfers: _containers.RepeatedCompositeFieldContainer[Transfer]
    gross_fen: int
    net_fen: int
    through_seq: int
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, period: _Optional[str] = ..., transfers: _Optional[_Iterable[_Union[Transfer, _Mapping]]] = ..., gross_fen: _Optional[int] = ..., net_fen: _Optional[int] = ..., through_seq: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class WarningRaised(_message.Message):
    __slots__ = ("warning_id", "hospital_id", "period", "indicator", "level", "value", "threshold", "message", "answer_due", "occurred_at")
    WARNING_ID_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    INDICATOR_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ANSWER_DUE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    warning_id: str
    hospital_id: str
    period: str
    indicator: str
    level: str
    value: str
    threshold: str
    message: str
    answer_due: _timestamp_pb2.Timestamp
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, warning_id: _Optional[str] = ..., hospital_id: _Optional[str] = ..., period: _Optional[str] = ..., indicator: _Optional[str] = ..., level: _Optional[str] = ..., value: _Optional[str] = ..., threshold: _Optional[str] = ..., message: _Optional[str] = ..., answer_due: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class WarningAnswered(_message.Message):
    __slots__ = ("warning_id", "hospital_id", "late", "occurred_at")
    WARNING_ID_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    LATE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    warning_id: str
    hospital_id: str
    late: bool
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, warning_id: _Optional[str] = ..., hospital_id: _Optional[str] = ..., late: _Optional[bool] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class WarningClosed(_message.Message):
    __slots__ = ("warning_id", "hospital_id", "closed_by", "occurred_at")
    WARNING_ID_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    CLOSED_BY_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    warning_id: str
    hospital_id: str
    closed_by: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, warning_id: _Optional[str] = ..., hospital_id: _Optional[str] = ..., closed_by: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CaseGrouped(_message.Message):
    __slots__ = ("case_id", "hospital_id", "drg", "relative_weight", "payment_fen", "total_cost_fen", "outlier", "needs_two_approvals", "table_version", "occurred_at")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    DRG_FIELD_NUMBER: _ClassVar[int]
    RELATIVE_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_FEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COST_FEN_FIELD_NUMBER: _ClassVar[int]
    OUTLIER_FIELD_NUMBER: _ClassVar[int]
    NEEDS_TWO_APPROVALS_FIELD_NUMBER: _ClassVar[int]
    TABLE_VERSION_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    hospital_id: str
    drg: str
    relative_weight: str
    payment_fen: int
    total_cost_fen: int
    outlier: str
    needs_two_approvals: bool
    table_version: int
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, case_id: _Optional[str] = ..., hospital_id: _Optional[str] = ..., drg: _Optional[str] = ..., relative_weight: _Optional[str] = ..., payment_fen: _Optional[int] = ..., total_cost_fen: _Optional[int] = ..., outlier: _Optional[str] = ..., needs_two_approvals: _Optional[bool] = ..., table_version: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StayCostAlerted(_message.Message):
    __slots__ = ("alert_id", "encounter_id", "hospital_id", "department", "stage", "drg", "table_version", "standard_cost_fen", "cost_fen", "ratio", "threshold", "occurred_at")
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    ENCOUNTER_ID_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    DRG_FIELD_NUMBER: _ClassVar[int]
    TABLE_VERSION_FIELD_NUMBER: _ClassVar[int]
    STANDARD_COST_FEN_FIELD_NUMBER: _ClassVar[int]
    COST_FEN_FIELD_NUMBER: _ClassVar[int]
    RATIO_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    alert_id: str
    encounter_id: str
    hospital_id: str
    department: str
    stage: str
    drg: str
    table_version: int
    standard_cost_fen: int
    cost_fen: int
    ratio: str
    threshold: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, alert_id: _Optional[str] = ..., encounter_id: _Optional[str] = ..., hospital_id: _Optional[str] = ..., department: _Optional[str] = ..., stage: _Optional[str] = ..., drg: _Optional[str] = ..., table_version: _Optional[int] = ..., standard_cost_fen: _Optional[int] = ..., cost_fen: _Optional[int] = ..., ratio: _Optional[str] = ..., threshold: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StayMonitoringClosed(_message.Message):
    __slots__ = ("encounter_id", "hospital_id", "department", "drg", "standard_cost_fen", "cost_fen", "ratio", "closed_alert_ids", "occurred_at")
    ENCOUNTER_ID_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    DRG_FIELD_NUMBER: _ClassVar[int]
    STANDARD_COST_FEN_FIELD_NUMBER: _ClassVar[int]
    COST_FEN_FIELD_NUMBER: _ClassVar[int]
    RATIO_FIELD_NUMBER: _ClassVar[int]
    CLOSED_ALERT_IDS_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    encounter_id: str
    hospital_id: str
    department: str
    drg: str
    standard_cost_fen: int
    cost_fen: int
    ratio: str
    closed_alert_ids: _containers.RepeatedScalarFieldContainer[str]
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, encounter_id: _Optional[str] = ..., hospital_id: _Optional[str] = ..., department: _Optional[str] = ..., drg: _Optional[str] = ..., standard_cost_fen: _Optional[int] = ..., cost_fen: _Optional[int] = ..., ratio: _Optional[str] = ..., closed_alert_ids: _Optional[_Iterable[str]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
