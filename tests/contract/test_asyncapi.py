"""docs/asyncapi.json is a valid AsyncAPI 3.0 document of every event the code publishes, its payload schemas
describe what the envelope really carries, and docs/events.md renders on GitHub.

The AsyncAPI 3.0.0 JSON Schema is vendored from the npm package @asyncapi/specs 6.11.1 (schemas/3.0.0.json,
Apache-2.0; see schemas/NOTICE).
"""

from __future__ import annotations

import ast
import copy
import importlib
import json
import re
import sys
from pathlib import Path

import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from jsonschema import Draft7Validator, Draft202012Validator

from alliance_messaging.envelope import CloudEvent, event_from_proto

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import event_catalog  # noqa: E402

DOC = json.loads((ROOT / "docs" / "asyncapi.json").read_text())
SPEC_SCHEMA = json.loads((Path(__file__).parent / "schemas" / "asyncapi-3.0.0.json").read_text())


def _pointer(doc: dict, ref: str):
    node = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_document_validates_against_the_asyncapi_3_0_schema():
    assert DOC["asyncapi"] == "3.0.0"
    errors = list(Draft7Validator(SPEC_SCHEMA).iter_errors(DOC))
    assert not errors, [f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors[:5]]


@pytest.mark.parametrize("breakage", ["action", "address", "payload"])
def test_the_schema_refuses_a_broken_document(breakage):
    doc = copy.deepcopy(DOC)
    if breakage == "action":
        next(iter(doc["operations"].values()))["action"] = "publish"      # AsyncAPI 2 wording
    elif breakage == "address":
        next(iter(doc["channels"].values()))["address"] = 42
    else:
        next(iter(doc["components"]["messages"].values()))["payload"] = {"type": "objekt"}
    assert list(Draft7Validator(SPEC_SCHEMA).iter_errors(doc))


def test_every_reference_resolves_and_operations_use_their_channels_messages():
    for ref in set(_refs(DOC)):
        assert ref.startswith("#/"), ref
        _pointer(DOC, ref)
    for name, operation in DOC["operations"].items():
        channel_ref = operation["channel"]["$ref"]
        for message in operation["messages"]:
            assert message["$ref"].startswith(channel_ref + "/messages/"), (name, message)


def test_every_topic_has_its_channel_and_dead_letter_channel():
    addresses = {c["address"] for c in DOC["channels"].values()}
    topics = set(event_catalog.TOPICS)
    assert topics == {"alliance.data_exchange.v1", "alliance.referral.v1", "alliance.procurement.v1",
                      "alliance.cost_sharing.v1", "alliance.results_mutual_recognition.v1"}
    assert addresses == topics | {f"{t}.dlq" for t in topics}


def test_publishers_and_subscribers_come_from_the_service_specs():
    from cost_sharing.bootstrap import SPEC as COST_SHARING
    from referral.bootstrap import SPEC as REFERRAL

    messages = DOC["components"]["messages"]
    assert messages["alliance.referral.v1.ReferralCompleted"]["x-producer"] == REFERRAL.name
    assert COST_SHARING.name in messages["alliance.referral.v1.ReferralCompleted"]["x-subscribers"]
    assert "cost-sharing.receive.referral" in DOC["operations"]
    receive = DOC["operations"]["cost-sharing.receive.referral"]
    assert {"$ref": "#/channels/referral/messages/ReferralCompleted"} in receive["messages"]


# --- the code's events are in the document ----------------------------------------------------------------------------

def _pb2_modules() -> dict[str, object]:
    root = ROOT / "libs" / "contracts" / "src"
    return {".".join(p.relative_to(root).with_suffix("").parts): importlib.import_module(
        ".".join(p.relative_to(root).with_suffix("").parts)) for p in sorted(root.rglob("*_pb2.py"))}


def _resolve(call: ast.AST, aliases: dict[str, object], names: dict[str, str]) -> str | None:
    """The proto message a call constructs (`pb.Name(...)` or an imported `Name(...)`), if any."""
    if not isinstance(call, ast.Call):
        return None
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in aliases:
        descriptor = aliases[func.value.id].DESCRIPTOR.message_types_by_name.get(func.attr)
        return descriptor.full_name if descriptor else None
    if isinstance(func, ast.Name):
        return names.get(func.id)
    return None


def _messages_built_by_services() -> tuple[set[str], set[str]]:
    """(full names of proto messages the services' code constructs, those passed straight to publish(...))."""
    modules = _pb2_modules()
    built, published = set(), set()
    for path in sorted((ROOT / "services").glob("*/src/**/*.py")):
        tree = ast.parse(path.read_text())
        aliases: dict[str, object] = {}
        names: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    if full in modules:
                        aliases[alias.asname or alias.name] = modules[full]
                    elif node.module in modules:
                        descriptor = modules[node.module].DESCRIPTOR.message_types_by_name.get(alias.name)
                        if descriptor is not None:
                            names[alias.asname or alias.name] = descriptor.full_name
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules:
                        aliases[alias.asname or alias.name] = modules[alias.name]
        for node in ast.walk(tree):
            full = _resolve(node, aliases, names)
            if full:
                built.add(full)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "publish" \
                    and len(node.args) >= 3:
                full = _resolve(node.args[2], aliases, names)
                if full:
                    published.add(full)
    return built, published


def _rpc_and_part_messages() -> tuple[set[str], set[str]]:
    rpc, parts = set(), set()
    for module in _pb2_modules().values():
        fd = module.DESCRIPTOR
        for service in fd.services_by_name.values():
            for method in service.methods:
                rpc |= {method.input_type.full_name, method.output_type.full_name}
        for message in fd.message_types_by_name.values():
            parts |= {f.message_type.full_name for f in message.fields if f.message_type is not None}
    return rpc, parts


def test_every_event_the_code_publishes_is_in_the_document():
    built, published = _messages_built_by_services()
    catalogued = set(event_catalog.event_types())
    assert catalogued <= set(DOC["components"]["messages"])
    assert len(published) > 15
    assert published - catalogued == set(), "published events missing from scripts/event_catalog.py"
    rpc, parts = _rpc_and_part_messages()
    unlisted = built - catalogued - rpc - parts
    assert unlisted == set(), "messages the services build that are neither events, gRPC messages nor parts"


def test_every_handled_event_type_is_in_the_document():
    handled = set()     # every event type string the services' code names (handler tables, filters)
    for path in sorted((ROOT / "services").glob("*/src/**/*.py")):
        handled |= set(re.findall(r'"(alliance\.[a-z_]+\.v1\.[A-Z][A-Za-z]+)"', path.read_text()))
    documented = set(DOC["components"]["messages"])
    assert handled - documented == set()


# --- the payload schemas describe the real envelope -------------------------------------------------------------------

def _fill(message: Message, depth: int = 0) -> Message:
    """Set every field of `message` to a non-default value (so the JSON mapping writes all of them)."""
    for field in message.DESCRIPTOR.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            continue
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.message_type.full_name == "google.protobuf.Timestamp":
                target = getattr(message, field.name).add() if field.is_repeated else getattr(message, field.name)
                target.FromSeconds(1_790_000_000)
            elif depth < 3:
                child = getattr(message, field.name).add() if field.is_repeated else getattr(message, field.name)
                _fill(child, depth + 1)
            continue
        value = {FieldDescriptor.TYPE_STRING: "x", FieldDescriptor.TYPE_BOOL: True,
                 FieldDescriptor.TYPE_DOUBLE: 1.5, FieldDescriptor.TYPE_FLOAT: 1.5,
                 FieldDescriptor.TYPE_BYTES: b"x"}.get(field.type)
        if field.type == FieldDescriptor.TYPE_ENUM:
            value = field.enum_type.values[-1].number
        elif value is None:
            value = 2 ** 40 if field.type in event_catalog._INT64 else 7
        if field.is_repeated:
            getattr(message, field.name).append(value)
        else:
            setattr(message, field.name, value)
    return message


@pytest.mark.parametrize("event_type", event_catalog.event_types())
def test_payload_schema_validates_the_envelope_the_code_writes(event_type):
    pool = event_catalog.load_descriptors()
    from google.protobuf import message_factory

    cls = message_factory.GetMessageClass(pool.FindMessageTypeByName(event_type))
    documented = DOC["components"]["messages"][event_type]
    source = documented["payload"]["properties"]["source"]["const"]
    event = event_from_proto(_fill(cls()), source=source, subject="k-1", traceparent=None)
    body = json.loads(CloudEvent.to_json_bytes(event))
    validator = Draft202012Validator({**documented["payload"], "components": DOC["components"]})
    errors = list(validator.iter_errors(body))
    assert not errors, [f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors[:5]]
    data_schema = _pointer(DOC, documented["payload"]["properties"]["data"]["$ref"])
    assert set(body["data"]) <= set(data_schema["properties"]), "field names are the JSON mapping's"
    int64 = [k for k, v in data_schema["properties"].items() if v.get("pattern") == "^-?[0-9]+$"]
    for name in int64:
        assert isinstance(body["data"].get(name, ""), str | list)


# --- docs/events.md ---------------------------------------------------------------------------------------------------

def test_events_page_tables_render():
    lines = (ROOT / "docs" / "events.md").read_text().splitlines()
    tables = 0
    for i, line in enumerate(lines):
        if line.startswith("|") and (i == 0 or not lines[i - 1].startswith("|")):
            tables += 1
            assert i > 0 and lines[i - 1] == "", f"line {i + 1}: a table needs a blank line before it"
            assert i + 1 < len(lines) and re.fullmatch(r"\|(---\|)+", lines[i + 1]), \
                f"line {i + 1}: a table starts with a header row and a separator"
            columns = line.count("|")
            j = i + 2
            while j < len(lines) and lines[j].startswith("|"):
                assert lines[j].replace("\\|", "").count("|") == columns, f"line {j + 1}: column count"
                j += 1
    assert tables == len(event_catalog.TOPICS)
    for event_type in event_catalog.event_types():
        assert f"`{event_type}`" in "\n".join(lines)
