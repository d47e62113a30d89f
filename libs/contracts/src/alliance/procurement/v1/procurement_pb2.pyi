import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PriceOutlierDetected(_message.Message):
    __slots__ = ("item_code", "period", "hospital_id", "hospital_level", "base_unit", "base_unit_price", "peer_median", "score", "direction", "excess_fen", "occurred_at")
    ITEM_CODE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_LEVEL_FIELD_NUMBER: _ClassVar[int]
    BASE_UNIT_FIELD_NUMBER: _ClassVar[int]
    BASE_UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    PEER_MEDIAN_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    EXCESS_FEN_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    item_code: str
    period: str
    hospital_id: str
    hospital_level: str
    base_unit: str
    base_unit_price: str
    peer_median: str
    score: str
    direction: str
    excess_fen: int
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, item_code: _Optional[str] = ..., period: _Optional[str] = ..., hospital_id: _Optional[str] = ..., hospital_level: _Optional[str] = ..., base_unit: _Optional[str] = ..., base_unit_price: _Optional[str] = ..., peer_median: _Optional[str] = ..., score: _Optional[str] = ..., direction: _Optional[str] = ..., excess_fen: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AwardLine(_message.Message):
    __slots__ = ("supplier_id", "bid_id", "quantity", "unit_price", "total_fen")
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    BID_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FEN_FIELD_NUMBER: _ClassVar[int]
    supplier_id: str
    bid_id: str
    quantity: int
    unit_price: str
    total_fen: int
    def __init__(self, supplier_id: _Optional[str] = ..., bid_id: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_price: _Optional[str] = ..., total_fen: _Optional[int] = ...) -> None: ...

class ItemAward(_message.Message):
    __slots__ = ("item_code", "volume", "status", "lines", "total_fen", "baseline_total_fen", "saving_fen", "explanation")
    ITEM_CODE_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FEN_FIELD_NUMBER: _ClassVar[int]
    BASELINE_TOTAL_FEN_FIELD_NUMBER: _ClassVar[int]
    SAVING_FEN_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    item_code: str
    volume: int
    status: str
    lines: _containers.RepeatedCompositeFieldContainer[AwardLine]
    total_fen: int
    baseline_total_fen: int
    saving_fen: int
    explanation: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, item_code: _Optional[str] = ..., volume: _Optional[int] = ..., status: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[AwardLine, _Mapping]]] = ..., total_fen: _Optional[int] = ..., baseline_total_fen: _Optional[int] = ..., saving_fen: _Optional[int] = ..., explanation: _Optional[_Iterable[str]] = ...) -> None: ...

class RoundAwarded(_message.Message):
    __slots__ = ("round_id", "title", "items", "total_fen", "baseline_total_fen", "saving_fen", "awarded_by", "occurred_at")
    ROUND_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FEN_FIELD_NUMBER: _ClassVar[int]
    BASELINE_TOTAL_FEN_FIELD_NUMBER: _ClassVar[int]
    SAVING_FEN_FIELD_NUMBER: _ClassVar[int]
    AWARDED_BY_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    round_id: str
    title: str
    items: _containers.RepeatedCompositeFieldContainer[ItemAward]
    total_fen: int
    baseline_total_fen: int
    saving_fen: int
    awarded_by: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, round_id: _Optional[str] = ..., title: _Optional[str] = ..., items: _Optional[_Iterable[_Union[ItemAward, _Mapping]]] = ..., total_fen: _Optional[int] = ..., baseline_total_fen: _Optional[int] = ..., saving_fen: _Optional[int] = ..., awarded_by: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PriceAgreed(_message.Message):
    __slots__ = ("contract_id", "round_id", "item_code", "supplier_id", "base_unit", "unit_price", "quantity", "supplier_share", "effective_from", "occurred_at")
    CONTRACT_ID_FIELD_NUMBER: _ClassVar[int]
    ROUND_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_CODE_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    BASE_UNIT_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_SHARE_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    contract_id: str
    round_id: str
    item_code: str
    supplier_id: str
    base_unit: str
    unit_price: str
    quantity: int
    supplier_share: str
    effective_from: _timestamp_pb2.Timestamp
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, contract_id: _Optional[str] = ..., round_id: _Optional[str] = ..., item_code: _Optional[str] = ..., supplier_id: _Optional[str] = ..., base_unit: _Optional[str] = ..., unit_price: _Optional[str] = ..., quantity: _Optional[int] = ..., supplier_share: _Optional[str] = ..., effective_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PriceAdjusted(_message.Message):
    __slots__ = ("adjustment_id", "contract_id", "item_code", "supplier_id", "previous_unit_price", "requested_unit_price", "new_unit_price", "supplier_bears", "hospitals_bear", "supplier_share", "index_reference", "effective_from", "approved_by", "occurred_at")
    ADJUSTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_CODE_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    NEW_UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_BEARS_FIELD_NUMBER: _ClassVar[int]
    HOSPITALS_BEAR_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_SHARE_FIELD_NUMBER: _ClassVar[int]
    INDEX_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    adjustment_id: str
    contract_id: str
    item_code: str
    supplier_id: str
    previous_unit_price: str
    requested_unit_price: str
    new_unit_price: str
    supplier_bears: str
    hospitals_bear: str
    supplier_share: str
    index_reference: str
    effective_from: _timestamp_pb2.Timestamp
    approved_by: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, adjustment_id: _Optional[str] = ..., contract_id: _Optional[str] = ..., item_code: _Optional[str] = ..., supplier_id: _Optional[str] = ..., previous_unit_price: _Optional[str] = ..., requested_unit_price: _Optional[str] = ..., new_unit_price: _Optional[str] = ..., supplier_bears: _Optional[str] = ..., hospitals_bear: _Optional[str] = ..., supplier_share: _Optional[str] = ..., index_reference: _Optional[str] = ..., effective_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., approved_by: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OverrunAttributed(_message.Message):
    __slots__ = ("attribution_id", "contract_id", "hospital_id", "cause", "overrun_fen", "hospital_fen", "supplier_fen", "note", "occurred_at")
    ATTRIBUTION_ID_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_ID_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    OVERRUN_FEN_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_FEN_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_FEN_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    attribution_id: str
    contract_id: str
    hospital_id: str
    cause: str
    overrun_fen: int
    hospital_fen: int
    supplier_fen: int
    note: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, attribution_id: _Optional[str] = ..., contract_id: _Optional[str] = ..., hospital_id: _Optional[str] = ..., cause: _Optional[str] = ..., overrun_fen: _Optional[int] = ..., hospital_fen: _Optional[int] = ..., supplier_fen: _Optional[int] = ..., note: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OrderLine(_message.Message):
    __slots__ = ("item_code", "contract_id", "quantity", "unit_price", "total_fen")
    ITEM_CODE_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FEN_FIELD_NUMBER: _ClassVar[int]
    item_code: str
    contract_id: str
    quantity: int
    unit_price: str
    total_fen: int
    def __init__(self, item_code: _Optional[str] = ..., contract_id: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_price: _Optional[str] = ..., total_fen: _Optional[int] = ...) -> None: ...

class OrderPlaced(_message.Message):
    __slots__ = ("order_id", "hospital_id", "supplier_id", "lines", "total_fen", "occurred_at")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FEN_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    hospital_id: str
    supplier_id: str
    lines: _containers.RepeatedCompositeFieldContainer[OrderLine]
    total_fen: int
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, order_id: _Optional[str] = ..., hospital_id: _Optional[str] = ..., supplier_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[OrderLine, _Mapping]]] = ..., total_fen: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GoodsReceived(_message.Message):
    __slots__ = ("receipt_id", "order_id", "hospital_id", "item_code", "quantity", "lot", "udi", "occurred_at")
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_CODE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    LOT_FIELD_NUMBER: _ClassVar[int]
    UDI_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    receipt_id: str
    order_id: str
    hospital_id: str
    item_code: str
    quantity: int
    lot: str
    udi: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, receipt_id: _Optional[str] = ..., order_id: _Optional[str] = ..., hospital_id: _Optional[str] = ..., item_code: _Optional[str] = ..., quantity: _Optional[int] = ..., lot: _Optional[str] = ..., udi: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetAgreedPricesRequest(_message.Message):
    __slots__ = ("item_codes", "at")
    ITEM_CODES_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    item_codes: _containers.RepeatedScalarFieldContainer[str]
    at: _timestamp_pb2.Timestamp
    def __init__(self, item_codes: _Optional[_Iterable[str]] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AgreedPrice(_message.Message):
    __slots__ = ("contract_id", "item_code", "supplier_id", "unit_price", "base_unit", "effective_from")
    CONTRACT_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_CODE_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_ID_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    BASE_UNIT_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    contract_id: str
    item_code: str
    supplier_id: str
    unit_price: str
    base_unit: str
    effective_from: _timestamp_pb2.Timestamp
    def __init__(self, contract_id: _Optional[str] = ..., item_code: _Optional[str] = ..., supplier_id: _Optional[str] = ..., unit_price: _Optional[str] = ..., base_unit: _Optional[str] = ..., effective_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetAgreedPricesResponse(_message.Message):
    __slots__ = ("prices",)
    PRICES_FIELD_NUMBER: _ClassVar[int]
    prices: _containers.RepeatedCompositeFieldContainer[AgreedPrice]
    def __init__(self, prices: _Optional[_Iterable[_Union[AgreedPrice, _Mapping]]] = ...) -> None: ...
