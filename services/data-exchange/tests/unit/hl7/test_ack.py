from datetime import UTC, datetime

import pytest
from hl7_samples import adt, oru, render, setf

from data_exchange.hl7.ack import ack_fields, build_ack
from data_exchange.hl7.errors import Hl7Error, warning
from data_exchange.hl7.parser import parse

NOW = datetime(2026, 11, 23, 1, 30, 5, tzinfo=UTC)  # 09:30:05 in Beijing


def _ack(msg, code="AA", errors=(), **kw) -> bytes:
    return build_ack(msg, code, errors, control_id="ACK0001", now=NOW, **kw)


def test_an_aa_ack_swaps_sender_and_receiver_and_echoes_the_header():
    msg = parse(render(adt("A01")))
    ack = _ack(msg)
    assert ack.split(b"\r")[0] == (b"MSH|^~\\&|ALLIANCE|HUB|HIS|H001^^L|20261123093005+0800||"
                                   b"ACK^A01^ACK|ACK0001|P|2.5.1||||||UNICODE UTF-8")
    f = ack_fields(ack)
    assert (f["code"], f["acknowledged_control_id"], f["text"]) == ("AA", "MSG00001", "")
    assert f["segments"] == ["MSH", "MSA"] and ack.endswith(b"\r")


def test_a_naive_now_is_taken_as_china_time():
    ack = build_ack(parse(render(adt())), "AA", control_id="A", now=datetime(2026, 11, 23, 9, 0))
    assert ack_fields(ack)["timestamp"] == "20261123090000+0800"


def test_an_ae_ack_carries_one_err_per_error_in_the_v25_layout():
    msg = parse(render(oru()))
    errors = [
        Hl7Error(102, "invalid number in OBX-5", segment="OBX", segment_seq=4, field=5),
        Hl7Error(102, "bad component", segment="OBX", segment_seq=2, field=5, component=2),
        Hl7Error(100, "OBR without any OBX", segment="OBR"),
    ]
    ack = _ack(msg, "AE", errors)
    lines = ack.decode().split("\r")
    assert lines[2] == "ERR||OBX^4^5|102^Data type error^HL70357|E||||invalid number in OBX-5"
    assert lines[3] == "ERR||OBX^2^5^^2|102^Data type error^HL70357|E||||bad component"
    assert lines[4] == "ERR||OBR^1|100^Segment sequence error^HL70357|E||||OBR without any OBX"
    f = ack_fields(ack)
    assert f["code"] == "AE" and f["text"] == "invalid number in OBX-5"
    assert [(e["segment"], e["sequence"], e["field"]) for e in f["errors"]] == [
        ("OBX", "4", "5"), ("OBX", "2", "5"), ("OBR", "1", "")]


def test_senders_on_v23_or_v24_also_get_the_legacy_err1_location():
    msg = parse(render(adt(version="2.4")))
    ack = _ack(msg, "AE", [Hl7Error(101, "PID-3 missing", segment="PID", field=3)])
    err = ack_fields(ack)["errors"][0]
    assert err["legacy_location"] == "PID^1^3^101&Required field missing&HL70357"
    assert err["location"] == "PID^1^3"


def test_warnings_go_out_with_severity_w_on_an_aa():
    ack = _ack(parse(render(adt())), "AA", [warning(103, "sex code not in table", segment="PID",
                                                    field=8)])
    f = ack_fields(ack)
    assert f["code"] == "AA" and f["errors"][0]["severity"] == "W"


def test_a_gb18030_message_is_acknowledged_in_gb18030():
    draft = adt("A01", charset="GB 18030-2000", facility="H001^東城醫院^L")
    msg = parse(render(draft, "gb18030"))
    ack = _ack(msg, "AE", [Hl7Error(101, "患者编号缺失", segment="PID", field=3)])
    assert "東城醫院".encode("gb18030") in ack
    f = ack_fields(ack)
    assert f["charset"] == "GB 18030-2000" and f["text"] == "患者编号缺失"
    assert parse(ack).msh.get(6, 2) == "東城醫院"


def test_an_ack_round_trips_through_our_own_parser():
    msg = parse(render(oru()))
    ack = _ack(msg, "AE", [Hl7Error(102, "x", segment="OBX", field=5)], text="see ERR")
    back = parse(ack)
    assert (back.message_type, back.trigger_event, back.structure) == ("ACK", "R01", "ACK")
    assert (back.control_id, back.processing_id, back.version) == ("ACK0001", "P", "2.5.1")
    assert (back.sending_application, back.receiving_application) == ("ALLIANCE", "HIS")
    assert back.segment("MSA").get(3) == "see ERR"


def test_delimiters_and_line_breaks_from_the_input_come_back_escaped():
    hostile = r"A\F\MSA\F\AA\R\B\S\C\T\D\E\\X0D\\X0B\\X1C\'; DROP TABLE x;--"
    msg = parse(render(setf(adt(), "MSH", 10, hostile)))
    assert msg.control_id == "A|MSA|AA~B^C&D\\\r\x0b\x1c'; DROP TABLE x;--"
    err = Hl7Error(102, "echo " + msg.control_id, segment="PID", field=7)
    ack = _ack(msg, "AE", [err], text=msg.control_id)
    assert ack.count(b"\r") == 3 and b"\n" not in ack
    assert b"\x0b" not in ack and b"\x1c" not in ack
    f = ack_fields(ack)
    assert f["segments"] == ["MSH", "MSA", "ERR"]
    assert f["acknowledged_control_id"].startswith("A|MSA|AA~B^C&D\\")  # unprintables dropped
    assert "DROP TABLE" in f["text"] and f["errors"][0]["location"] == "PID^1^7"


def test_an_unparseable_message_is_acknowledged_from_what_its_raw_msh_reveals():
    raw = b"MSH|^~\\&|LIS|H009|ALLIANCE|HUB|20261123||ORU^R01|C123|P|2.4||||||KOI8-R\rPID|1\r"
    with pytest.raises(Hl7Error) as err:
        parse(raw)
    ack = _ack(None, err.value.ack_code, [err.value], raw=raw)
    f = ack_fields(ack)
    assert (f["code"], f["acknowledged_control_id"], f["trigger_event"]) == ("AR", "C123", "R01")
    assert (f["receiving_application"], f["receiving_facility"]) == ("LIS", "H009")
    assert f["version"] == "2.4" and f["charset"] == ""
    assert f["errors"][0]["location"] == "MSH^1^18"


def test_an_ack_for_pure_garbage_still_parses_with_defaults():
    for raw in (b"", b"\x00\xff\xfe", b"MSH", b"MSH\r", b"MSH||||", "MSH|^~\\&|张".encode("gbk")):
        ack = _ack(None, "AR", [Hl7Error(100, "no MSH", segment="MSH", reject=True)], raw=raw)
        f = ack_fields(ack)
        assert f["code"] == "AR" and f["version"] == "2.5.1" and f["processing_id"] == "P"


def test_an_unknown_acknowledgment_code_is_a_programming_error():
    with pytest.raises(ValueError):
        _ack(parse(render(adt())), "OK")


@pytest.mark.parametrize("cause, text", [("database", "database unavailable"),
                                         ("kafka", "message broker unavailable"),
                                         ("timeout", "processing timed out"), ("internal", "internal error"),
                                         ("anything else", "internal error")])
def test_a_system_error_is_ar_207_asking_to_resend_the_same_message(cause, text):
    from data_exchange.hl7 import system_error_ack

    f = ack_fields(system_error_ack(render(adt("A01")), cause, control_id="ACK0002", now=NOW))
    assert (f["code"], f["acknowledged_control_id"], f["control_id"]) == ("AR", "MSG00001", "ACK0002")
    assert f["text"] == f"{text}; resend unchanged (same MSH-10)" and len(f["text"]) <= 80
    [err] = f["errors"]
    assert (err["code"], err["code_text"], err["severity"]) == ("207", "Application internal error", "E")
    assert err["text"].startswith(text) and "not the message's content" in err["text"]
    assert "resend it unchanged with the same MSH-10" in err["text"]
