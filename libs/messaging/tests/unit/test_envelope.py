import json
import uuid

import pytest
from google.protobuf.struct_pb2 import Struct

from alliance_messaging import CloudEvent, InvalidEnvelope, event_from_proto


def _struct(**fields) -> Struct:
    s = Struct()
    s.update(fields)
    return s


def test_event_from_proto_uses_full_name_as_type_and_json_mapping_as_data():
    event = event_from_proto(_struct(hospital="H001"), source="/alliance/test", subject="H001")
    body = json.loads(event.to_json_bytes())
    assert body["specversion"] == "1.0"
    assert body["type"] == "google.protobuf.Struct"
    assert body["data"] == {"hospital": "H001"}
    assert body["subject"] == "H001"
    uuid.UUID(body["id"])


def test_round_trip_keeps_every_attribute_and_traceparent():
    tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    event = event_from_proto(_struct(a=1), source="/s", subject="x", traceparent=tp)
    back = CloudEvent.from_json_bytes(event.to_json_bytes())
    assert back == event
    assert back.data_as(Struct)["a"] == 1


@pytest.mark.parametrize("raw, reason", [
    (None, "empty"),
    (b"\xff\xfe", "not JSON"),
    (b"[]", "not a JSON object"),
    (b'{"specversion":"1.0","source":"/s","type":"t"}', "missing attribute"),
    (b'{"specversion":"0.3","id":"' + str(uuid.uuid4()).encode() + b'","source":"/s","type":"t"}', "specversion"),
    (b'{"specversion":"1.0","id":"nope","source":"/s","type":"t"}', "UUID"),
    (b'{"specversion":"1.0","id":"' + str(uuid.uuid4()).encode() + b'","source":"/s","type":"t","data":3}', "data"),
])
def test_rejects_what_is_not_a_cloudevent_with_the_reason(raw, reason):
    with pytest.raises(InvalidEnvelope, match=reason):
        CloudEvent.from_json_bytes(raw)


def test_unknown_data_fields_are_ignored_by_readers():
    from google.protobuf.source_context_pb2 import SourceContext

    event = CloudEvent(id=str(uuid.uuid4()), source="/s", type="t",
                       data={"fileName": "a.proto", "addedInV2": True},
                       time=event_from_proto(_struct(), source="/s", subject=None).time)
    assert event.data_as(SourceContext).file_name == "a.proto"
