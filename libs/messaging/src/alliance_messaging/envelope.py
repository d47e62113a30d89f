"""CloudEvents 1.0 envelope in structured JSON mode; `data` is a protobuf message in its JSON mapping."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
_REQUIRED = ("specversion", "id", "source", "type")

M = TypeVar("M", bound=Message)


class InvalidEnvelope(ValueError):
    """The bytes are not a CloudEvents 1.0 structured JSON event."""


@dataclass(frozen=True)
class CloudEvent:
    """One event as it travels on Kafka."""

    id: str
    source: str
    type: str
    data: dict[str, Any]
    time: datetime
    subject: str | None = None
    traceparent: str | None = None
    datacontenttype: str = "application/json"
    extensions: dict[str, str] = field(default_factory=dict)

    def to_json_bytes(self) -> bytes:
        """Serialise as a structured-mode CloudEvent."""
        body: dict[str, Any] = {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": self.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "datacontenttype": self.datacontenttype,
            **self.extensions,
        }
        if self.subject is not None:
            body["subject"] = self.subject
        if self.traceparent:
            body["traceparent"] = self.traceparent
        body["data"] = self.data
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_json_bytes(cls, raw: bytes | None) -> CloudEvent:
        """Parse a structured-mode CloudEvent, raising InvalidEnvelope with the reason."""
        if raw is None:
            raise InvalidEnvelope("empty message value")
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidEnvelope(f"not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise InvalidEnvelope("not a JSON object")
        missing = [k for k in _REQUIRED if not isinstance(body.get(k), str) or not body[k]]
        if missing:
            raise InvalidEnvelope(f"missing attribute(s): {', '.join(missing)}")
        if body["specversion"] != SPEC_VERSION:
            raise InvalidEnvelope(f"unsupported specversion {body['specversion']!r}")
        try:
            uuid.UUID(body["id"])
        except ValueError as exc:
            raise InvalidEnvelope("id is not a UUID") from exc
        data = body.get("data", {})
        if not isinstance(data, dict):
            raise InvalidEnvelope("data is not a JSON object")
        try:
            time = datetime.fromisoformat(body["time"]) if body.get("time") else datetime.now(UTC)
        except (TypeError, ValueError) as exc:
            raise InvalidEnvelope("time is not RFC 3339") from exc
        known = {*_REQUIRED, "time", "subject", "traceparent", "datacontenttype", "data"}
        return cls(
            id=body["id"], source=body["source"], type=body["type"], data=data, time=time,
            subject=body.get("subject"), traceparent=body.get("traceparent"),
            datacontenttype=body.get("datacontenttype", "application/json"),
            extensions={k: v for k, v in body.items() if k not in known and isinstance(v, str)},
        )

    def data_as(self, message_type: type[M]) -> M:
        """Decode `data` into the protobuf message, ignoring fields this reader does not know."""
        try:
            return json_format.ParseDict(self.data, message_type(), ignore_unknown_fields=True)
        except json_format.ParseError as exc:
            raise InvalidEnvelope(f"data does not match {message_type.DESCRIPTOR.full_name}: {exc}") from exc


def proto_time(value: datetime) -> Timestamp:
    """A protobuf Timestamp of an aware datetime (event payloads carry times this way)."""
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def event_type(message: Message | type[Message]) -> str:
    """The CloudEvent type of a protobuf message: its full name."""
    return message.DESCRIPTOR.full_name


def event_from_proto(
    message: Message,
    *,
    source: str,
    subject: str | None,
    time: datetime | None = None,
    event_id: str | None = None,
    traceparent: str | None = None,
) -> CloudEvent:
    """Wrap a protobuf message in a new CloudEvent."""
    return CloudEvent(
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=event_type(message),
        data=json_format.MessageToDict(message),
        time=time or datetime.now(UTC),
        subject=subject,
        traceparent=traceparent,
    )
