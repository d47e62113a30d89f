"""The event catalogue: docs/asyncapi.json (AsyncAPI 3.0) and docs/events.md, from one source.

The source is the topic table below (which events travel on each topic, their Kafka key, what they mean) together
with what the code already says: the payload schemas come from proto/ (the generated descriptors, in protobuf's
JSON mapping), the producer of a topic is the service whose ServiceSpec streams it, and a service subscribes to an
event when its ServiceSpec subscribes to the topic and registers a handler for the event's type.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "libs" / "contracts" / "src"
CLOUDEVENTS_JSON = "application/cloudevents+json"
KAFKA_BINDING = "0.5.0"


@dataclass(frozen=True)
class Event:
    name: str           # the proto message's name within its topic's package
    key: str            # what the Kafka key (and the CloudEvents subject) is
    note: str = ""      # what it means, who plans to read it


#: topic → (what travels on it, its events). The package of a topic's messages is the topic's name.
TOPICS: dict[str, tuple[str, Sequence[Event]]] = {
    "alliance.data_exchange.v1": ("Member hospitals, the master patient index and normalised clinical events", [
        Event("HospitalRegistered", "hospital id",
              "a member hospital joined: its full public state and `version` (every service keeps a read model)"),
        Event("HospitalUpdated", "hospital id", "a member hospital changed: full state, `version` one higher"),
        Event("PatientLinked", "alliance patient id",
              "a hospital MRN was linked to an alliance patient (who treats whom; planned reader: referral)"),
        Event("PatientsMerged", "survivor patient id",
              "two alliance patients were merged; holders of patient ids re-key to the survivor"),
        Event("PatientsUnmerged", "survivor patient id",
              "a merge was undone: exactly the results of the `restored_mrns` (the (hospital, MRN) pairs the merge "
              "had moved) move back"),
        Event("PatientAccessRevoked", "alliance patient id",
              "a care relationship (access grant) ended before its time"),
        Event("ResultRecorded", "alliance patient id",
              "a result for the result index (alliance codes beside the hospital's own; `mrn`, when set, is the MRN "
              "it came under, so an unmerge can attribute results recorded while merged)"),
        Event("EncounterAdmitted", "alliance patient id", "an admission (cost-sharing opens a monitored stay)"),
        Event("EncounterUpdated", "alliance patient id",
              "a stay's coding and charges so far, cumulative (newest `as_of` wins): in-stay DRG monitoring; "
              "not yet produced by data-exchange"),
        Event("EncounterDischarged", "alliance patient id",
              "a discharge with cost lines in integer fen: eligible cases, referral settlement, DRG grouping"),
        Event("OrderPlaced", "alliance patient id", "a clinical order (planned reader: results-mutual-recognition)"),
    ]),
    "alliance.referral.v1": ("The referral workflow and published beds", [
        Event("ReferralRequested", "referral id", "a referral was requested"),
        Event("ReferralOffered", "referral id", "offered to a receiving hospital"),
        Event("ReferralAccepted", "referral id",
              "accepted: the receiving hospital gets access to the patient for this episode"),
        Event("ReferralRejected", "referral id", "rejected by the offered hospital"),
        Event("ReferralTransferred", "referral id", "offered on to another hospital"),
        Event("ReferralArrived", "referral id", "the patient arrived"),
        Event("ReferralCompleted", "referral id", "the episode is complete: cost-sharing settles it, no human step"),
        Event("ReferralCancelled", "referral id", "cancelled; access for the episode ends"),
        Event("ReferralExpired", "referral id", "no answer in time"),
        Event("ReferralEscalated", "referral id", "escalated to an administrator"),
        Event("BedsUpdated", "hospital id", "beds a hospital published for a specialty"),
    ]),
    "alliance.procurement.v1": ("Group purchasing: rounds, agreed prices, orders", [
        Event("PriceOutlierDetected", "item code", "a reported price far from its peers (administrators' alerts)"),
        Event("RoundAwarded", "round id", "a purchasing round was awarded"),
        Event("PriceAgreed", "item code",
              "the agreed price of an item, decimal yuan per base unit (planned readers: every member)"),
        Event("PriceAdjusted", "item code", "an agreed price changed"),
        Event("OverrunAttributed", "contract id", "an overrun, posted by cost-sharing to whom it is attributed"),
        Event("OrderPlaced", "order id", "a member hospital ordered under a contract (totals in integer fen)"),
        Event("GoodsReceived", "order id", "goods received against an order"),
    ]),
    "alliance.cost_sharing.v1": ("The settlement feed regulators subscribe to (read-only for them)", [
        Event("SettlementEntryPosted", "`ledger` (one key: the hash chain in order)",
              "a ledger entry; regulators (read-only) and auditors verify the chain from the feed "
              "(docs/regulators.md)"),
        Event("LedgerCheckpointSigned", "`ledger`", "a signed checkpoint of the chain's head (regulators)"),
        Event("NettingComputed", "`ledger`", "the netting of a period (regulators)"),
        Event("SettlementStatementIssued", "hospital id",
              "a hospital's statement for a period (regulators, member hospitals)"),
        Event("WarningRaised", "hospital id", "an indicator warning was raised (regulators)"),
        Event("WarningAnswered", "hospital id", "the hospital answered a warning"),
        Event("WarningClosed", "hospital id", "a warning was closed"),
        Event("CaseGrouped", "hospital id", "a case was DRG-grouped (planned reader: the medical-insurance bureau)"),
        Event("StayCostAlerted", "hospital id",
              "an open stay's cost crossed 80% (warning) or 110% (intervention) of its provisional DRG standard"),
        Event("StayMonitoringClosed", "hospital id", "a monitored stay was discharged; its in-stay warnings closed"),
    ]),
    "alliance.results_mutual_recognition.v1": ("Recognition decisions and QC eligibility", [
        Event("RecognitionDecided", "requesting hospital",
              "a reuse decision with its savings, credited by cost-sharing to the issuing and the reusing hospital"),
        Event("QcEligibilityChanged", "lab id", "a lab's QC eligibility changed"),
    ]),
}


@dataclass(frozen=True)
class ServiceEvents:
    """What one service's ServiceSpec and handlers say about events."""

    name: str
    stream_topic: str
    subscriptions: Sequence[str]
    handled: frozenset[str]     # event types it has a handler for


def event_types() -> list[str]:
    """Every event type in the catalogue."""
    return [f"{topic}.{event.name}" for topic, (_, events) in TOPICS.items() for event in events]


def load_descriptors() -> descriptor_pool.DescriptorPool:
    """The descriptor pool with every generated message of proto/ loaded."""
    for path in sorted(CONTRACTS.rglob("*_pb2.py")):
        importlib.import_module(".".join(path.relative_to(CONTRACTS).with_suffix("").parts))
    return descriptor_pool.Default()


# --- protobuf JSON mapping → JSON Schema ----------------------------------------------------------------------------

_INT64 = {FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_SINT64,
          FieldDescriptor.TYPE_FIXED64, FieldDescriptor.TYPE_SFIXED64}
_INT32 = {FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_SINT32,
          FieldDescriptor.TYPE_FIXED32, FieldDescriptor.TYPE_SFIXED32}
_WELL_KNOWN = {"google.protobuf.Timestamp": {"type": "string", "format": "date-time",
                                             "description": "RFC 3339, UTC (protobuf Timestamp)"}}


def _scalar(field: FieldDescriptor, schemas: dict[str, Any]) -> dict[str, Any]:
    t = field.type
    if t in _INT64:
        return {"type": "string", "pattern": "^-?[0-9]+$", "description": "64-bit integer as a decimal string"}
    if t in _INT32:
        return {"type": "integer", **({"minimum": 0} if t in (FieldDescriptor.TYPE_UINT32,
                                                              FieldDescriptor.TYPE_FIXED32) else {})}
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return {"type": "number"}
    if t == FieldDescriptor.TYPE_BOOL:
        return {"type": "boolean"}
    if t == FieldDescriptor.TYPE_STRING:
        return {"type": "string"}
    if t == FieldDescriptor.TYPE_BYTES:
        return {"type": "string", "contentEncoding": "base64"}
    if t == FieldDescriptor.TYPE_ENUM:
        return _enum(field.enum_type)
    return _message_ref(field.message_type, schemas)


def _enum(enum: EnumDescriptor) -> dict[str, Any]:
    return {"type": "string", "enum": [v.name for v in enum.values], "description": f"enum {enum.full_name}"}


def _message_ref(message: Descriptor, schemas: dict[str, Any]) -> dict[str, Any]:
    if message.full_name in _WELL_KNOWN:
        return dict(_WELL_KNOWN[message.full_name])
    if message.full_name not in schemas:
        schemas[message.full_name] = {}     # reserve first: messages may refer to themselves
        schemas[message.full_name] = message_schema(message, schemas)
    return {"$ref": f"#/components/schemas/{message.full_name}"}


def _field(field: FieldDescriptor, schemas: dict[str, Any]) -> dict[str, Any]:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        value = field.message_type.fields_by_name["value"]
        return {"type": "object", "additionalProperties": _scalar(value, schemas)}
    schema = _scalar(field, schemas)
    if field.is_repeated:
        return {"type": "array", "items": schema}
    return schema


def message_schema(message: Descriptor, schemas: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema of `message` in protobuf's JSON mapping (lowerCamelCase names, int64 as strings, enums by name,
    Timestamps as RFC 3339). Fields at their default value are omitted by the writer, so none is required;
    readers ignore fields they do not know."""
    return {"type": "object", "title": message.name, "description": f"protobuf {message.full_name}",
            "properties": {f.json_name: _field(f, schemas) for f in message.fields},
            "additionalProperties": True}


# --- the AsyncAPI document --------------------------------------------------------------------------------------------

def _channel_id(topic: str) -> str:
    return topic.removeprefix("alliance.").removesuffix(".v1")


def _envelope(service: str, event_type: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": "CloudEvents 1.0, structured JSON mode",
        "required": ["specversion", "id", "source", "type", "time", "subject", "datacontenttype", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "format": "uuid", "description": "consumers de-duplicate on it"},
            "source": {"const": f"/alliance/{service}"},
            "type": {"const": event_type},
            "time": {"type": "string", "format": "date-time"},
            "subject": {"type": "string", "description": "the aggregate id, the same as the Kafka key"},
            "datacontenttype": {"const": "application/json"},
            "traceparent": {"type": "string", "description": "W3C trace context"},
            "data": {"$ref": f"#/components/schemas/{event_type}"},
        },
    }


def asyncapi(services: Sequence[ServiceEvents], version: str = "0.1.0") -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every topic (and its dead-letter topic) and event."""
    pool = load_descriptors()
    producers = {s.stream_topic: s.name for s in services}
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    handled = {t for s in services for t in s.handled}
    unknown = sorted(handled - set(event_types()))
    if unknown:
        raise ValueError(f"handlers for event types missing from the catalogue: {unknown}")
    for topic, (summary, events) in TOPICS.items():
        producer = producers.get(topic)
        if producer is None:
            raise ValueError(f"no ServiceSpec streams {topic}")
        cid = _channel_id(topic)
        channel_messages = {}
        for event in events:
            event_type = f"{topic}.{event.name}"
            descriptor = pool.FindMessageTypeByName(event_type)
            _message_ref(descriptor, schemas)
            readers = sorted(s.name for s in services if topic in s.subscriptions and event_type in s.handled)
            messages[event_type] = {
                "name": event.name, "title": event.name,
                "summary": event.note or event.name,
                "description": f"Kafka key: {event.key}. Published by {producer}; "
                               + (f"handled by {', '.join(readers)}." if readers else "no service handles it yet."),
                "contentType": CLOUDEVENTS_JSON,
                "headers": {"$ref": "#/components/schemas/KafkaHeaders"},
                "payload": _envelope(producer, event_type),
                "bindings": {"kafka": {"key": {"type": "string", "description": event.key},
                                       "bindingVersion": KAFKA_BINDING}},
                "x-producer": producer,
                "x-subscribers": readers,
            }
            channel_messages[event.name] = {"$ref": f"#/components/messages/{event_type}"}
        channels[cid] = {"address": topic, "title": topic, "description": summary,
                         "messages": channel_messages,
                         "bindings": {"kafka": {"topic": topic, "bindingVersion": KAFKA_BINDING}}}
        channels[f"{cid}.dlq"] = {
            "address": f"{topic}.dlq", "title": f"{topic}.dlq",
            "description": f"Dead letters of {topic}: a message a consumer could not decode or whose handler failed "
                           "max_attempts times, with its original bytes, key and headers, and the dlq.* headers.",
            "messages": {"deadLetter": {"$ref": "#/components/messages/DeadLetter"}},
            "bindings": {"kafka": {"topic": f"{topic}.dlq", "bindingVersion": KAFKA_BINDING}}}
        refs = [{"$ref": f"#/channels/{cid}/messages/{e.name}"} for e in events]
        operations[f"{producer}.publish.{cid}"] = {
            "action": "send", "channel": {"$ref": f"#/channels/{cid}"},
            "summary": f"{producer} publishes through its outbox (idempotent producer, acks=all)",
            "messages": refs}
        for service in services:
            if topic not in service.subscriptions:
                continue
            mine = [{"$ref": f"#/channels/{cid}/messages/{e.name}"} for e in events
                    if f"{topic}.{e.name}" in service.handled]
            operations[f"{service.name}.receive.{cid}"] = {
                "action": "receive", "channel": {"$ref": f"#/channels/{cid}"},
                "summary": f"{service.name} consumes (read_committed, idempotent on the event id); "
                           "other types on the topic are skipped",
                "messages": mine,
                "bindings": {"kafka": {"groupId": {"type": "string", "enum": [service.name]},
                                       "bindingVersion": KAFKA_BINDING}}}
            operations[f"{service.name}.deadLetter.{cid}"] = {
                "action": "send", "channel": {"$ref": f"#/channels/{cid}.dlq"},
                "summary": f"{service.name} dead-letters what it cannot apply",
                "messages": [{"$ref": f"#/channels/{cid}.dlq/messages/deadLetter"}]}
    schemas["KafkaHeaders"] = {
        "type": "object",
        "properties": {"content-type": {"const": "application/cloudevents+json; charset=utf-8"},
                       "traceparent": {"type": "string", "description": "W3C trace context"}}}
    messages["DeadLetter"] = {
        "name": "DeadLetter", "title": "Dead letter",
        "summary": "the original message, as it was, with why it failed",
        "headers": {"type": "object", "properties": {h: {"type": "string"} for h in DLQ_HEADERS}},
        "payload": {"description": "the original message value, unchanged (may not be a valid CloudEvent)"},
    }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Alliance platform events", "version": version,
                 "description": "Every topic and event of the alliance platform. Generated by "
                                "scripts/export_openapi.py from proto/ and scripts/event_catalog.py — do not edit."},
        "defaultContentType": CLOUDEVENTS_JSON,
        "servers": {"kafka": {"host": "{bootstrap}", "protocol": "kafka",
                              "description": "the deployment's Kafka cluster (topics may carry a deployment prefix)",
                              "variables": {"bootstrap": {"default": "127.0.0.1:9092"}}}},
        "channels": channels,
        "operations": operations,
        "components": {"schemas": dict(sorted(schemas.items())), "messages": messages},
    }


DLQ_HEADERS = ("dlq.error.type", "dlq.error.message", "dlq.original.topic", "dlq.original.partition",
               "dlq.original.offset", "dlq.consumer.group", "dlq.attempts", "dlq.failed_at")


# --- docs/events.md ---------------------------------------------------------------------------------------------------

EVENTS_PREAMBLE = """# Event contracts

Generated by `scripts/export_openapi.py` (`make contracts`) from `scripts/event_catalog.py`, `proto/` and the
services' subscriptions and handlers — do not edit; `make contracts-check` fails when it is stale. The same source
gives the machine-readable catalogue [`docs/asyncapi.json`](asyncapi.json) (AsyncAPI 3.0: channels, messages,
payload schemas, who publishes and who subscribes).

Every event is a CloudEvents 1.0 structured-JSON message (`content-type: application/cloudevents+json`)
on Kafka. `type` is the protobuf message's full name, `data` is that message in protobuf's canonical
JSON mapping (lowerCamelCase field names; 64-bit integers as strings; Timestamps as RFC 3339; enums by name),
`subject` and the Kafka key are the aggregate id (so events of one aggregate stay in order), `id` is a UUID that
consumers de-duplicate on, and `traceparent` (attribute and Kafka header) carries the W3C trace context. Payload
schemas live only in `proto/alliance/<area>/v1/*.proto`; consumers decode only the fields they read and ignore
unknown ones. "Handled by" lists the services with a handler for the type; a note names planned readers.
"""

EVENTS_NOTES = """
## Notes

Clinical events (`proto/alliance/data_exchange/v1/clinical.proto`) carry alliance codes next to the
code the hospital sent (`CodedValue.local_code`), money in integer fen, and no names or identifier
numbers: consumers that need demographics ask `PatientIndex` over gRPC (audited). A record with a
code that has no alliance mapping is held, not published, until an administrator maps the code;
then it is published once.

Each hospital event carries the hospital's full public state and a `version` that increases by one
per change; read models apply an event only when its version is newer than what they hold, so
duplicates, replays and out-of-order deliveries leave the right final state.

Procurement prices are decimal strings in yuan per base unit (at most 4 decimals); totals are
integer fen. The settlement feed is what regulators subscribe to: see `docs/regulators.md` for
read-only access and for verifying the chain from the feed alone (`alliance-ledger-verify --kafka`).

## Dead letters

Each topic `T` has a dead-letter topic `T.dlq`. A message lands there when it is not a valid
CloudEvent or its handler failed `max_attempts` times (default 5, exponential back-off); the
original bytes, key and headers are kept and these headers are added: {headers}. Database or broker outages are
never dead-lettered: the consumer backs off and re-reads from its last committed offset.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def events_page(document: Mapping[str, Any]) -> str:
    """docs/events.md from the AsyncAPI document (one table per topic, each preceded by a heading)."""
    lines = [EVENTS_PREAMBLE]
    messages = document["components"]["messages"]
    for topic, (summary, events) in TOPICS.items():
        producer = messages[f"{topic}.{events[0].name}"]["x-producer"]
        lines += [f"## `{topic}`", "", f"{summary}. Published by **{producer}**; dead letters on `{topic}.dlq`.", "",
                  "| type | key | handled by | meaning |", "|---|---|---|---|"]
        for event in events:
            message = messages[f"{topic}.{event.name}"]
            readers = ", ".join(message["x-subscribers"]) or "—"
            lines.append(f"| `{topic}.{event.name}` | {_cell(event.key)} | {readers} | {_cell(event.note)} |")
        lines.append("")
    lines.append(EVENTS_NOTES.format(headers=", ".join(f"`{h}`" for h in DLQ_HEADERS)))
    return "\n".join(lines).rstrip("\n") + "\n"
