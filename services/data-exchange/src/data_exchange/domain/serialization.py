"""Records ↔ JSON-able dicts, driven by the dataclass type hints (for held records and FHIR storage)."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Any

from . import clinical

KINDS: dict[str, type] = {
    "result": clinical.ResultReport,
    "encounter": clinical.EncounterRecord,
    "order": clinical.OrderRecord,
    "patient": clinical.PatientRecord,
}
KIND_OF = {v: k for k, v in KINDS.items()}


def to_json(value: Any) -> Any:
    """Dataclasses, enums, dates and tuples to plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, vars(clinical))


def from_json(cls: Any, data: Any) -> Any:
    """Inverse of to_json for the clinical dataclasses."""
    if data is None:
        return None
    origin = typing.get_origin(cls)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(cls):
            if arg is not type(None):
                return from_json(arg, data)
    if origin is tuple:
        (item, *_) = typing.get_args(cls)
        return tuple(from_json(item, v) for v in data)
    if origin is dict:
        return dict(data)
    if dataclasses.is_dataclass(cls):
        hints = _hints(cls)
        return cls(**{k: from_json(hints[k], v) for k, v in data.items() if k in hints})
    if cls is datetime:
        return datetime.fromisoformat(data)
    if cls is date:
        return date.fromisoformat(data)
    if isinstance(cls, type) and issubclass(cls, Enum):
        return cls(data)
    return data


def record_to_json(record: clinical.Record) -> dict[str, Any]:
    return {"kind": KIND_OF[type(record)], "record": to_json(record)}


def record_from_json(data: dict[str, Any]) -> clinical.Record:
    return from_json(KINDS[data["kind"]], data["record"])
