import pytest
from hl7_samples import RARE_NAME, adt, msh, oru, pid, render, setf

from data_exchange.hl7.errors import Hl7Error
from data_exchange.hl7.parser import parse

ORU = render(oru())


def _gb_adt(name: str = RARE_NAME, charset: str = "GB 18030-2000") -> bytes:
    draft = adt("A01", charset=charset, facility="H001^東城醫院^L")
    return render(setf(draft, "PID", 5, name), "gb18030")


def test_header_accessors_read_msh_with_hl7_numbering():
    msg = parse(ORU)
    assert (msg.message_type, msg.trigger_event, msg.structure) == ("ORU", "R01", "ORU_R01")
    assert (msg.control_id, msg.processing_id, msg.version) == ("MSG00002", "P", "2.5.1")
    assert (msg.sending_application, msg.sending_facility) == ("HIS", "H001")
    assert (msg.receiving_application, msg.receiving_facility) == ("ALLIANCE", "HUB")
    assert (msg.charset, msg.hl7_charset) == ("utf-8", "UNICODE UTF-8")
    assert msg.msh.get(1) == "|" and msg.msh.get(2) == "^~\\&"
    assert msg.msh.get(9, 1) == "ORU" and msg.msh.get(2, 2) == ""


def test_segments_keep_their_order_index_and_occurrence():
    msg = parse(ORU)
    assert [s.name for s in msg.segments][:5] == ["MSH", "PID", "PV1", "ORC", "OBR"]
    third = msg.segment("OBX", 3)
    assert third is not None and third.occurrence == 3
    assert msg.segments[third.index] is third
    assert len(msg.all("OBX")) == 12 and msg.segment("OBX", 13) is None
    assert msg.segment("ZZZ") is None and msg.all("ZZZ") == []


def test_get_walks_repetitions_components_and_subcomponents():
    msg = parse(ORU)
    pid_seg = msg.segment("PID")
    assert pid_seg.get(3) == "MRN000123"
    assert pid_seg.get(3, 5, repetition=2) == "NNCHN"
    assert pid_seg.get(3, 1, repetition=3) == "YB000000001"
    assert pid_seg.repetitions(3) == 3 and pid_seg.repetitions(4) == 0
    assert pid_seg.get(5, 1) == "张" and pid_seg.get(5, 2) == "三丰"
    obx = msg.segment("OBX", 1)
    assert obx.get(23, 10) == "LAB01" and obx.get(23, 1) == "示例检验中心"


@pytest.mark.parametrize("args", [
    (99,), (0,), (-1,), (3, 9), (3, 0), (3, 1, 2), (3, 1, 1, 4), (3, 1, 1, 0), (5, 1, 3),
])
def test_get_returns_an_empty_string_for_anything_absent(args):
    assert parse(ORU).segment("PID").get(*args) == ""


def test_subcomponents_are_addressable():
    raw = render(setf(adt(), "PID", 5, "欧阳&OY&x^娜娜"))
    pid_seg = parse(raw).segment("PID")
    assert pid_seg.get(5, 1, 1) == "欧阳" and pid_seg.get(5, 1, 2) == "OY"
    assert pid_seg.get(5, 2, 1) == "娜娜" and pid_seg.get(5, 2, 2) == ""


def test_explicit_null_reads_as_empty_and_is_detectable():
    pid_seg = parse(render(setf(adt(), "PID", 13, '""'))).segment("PID")
    assert pid_seg.get(13) == "" and pid_seg.is_null(13)
    assert pid_seg.field_raw(13) == '""' and not pid_seg.is_null(7)


def test_escape_sequences_are_decoded_only_in_leaf_values():
    msg = parse(ORU)
    obx = msg.segment("OBX", 12)
    assert "\\F\\" in obx.field_raw(5)
    assert obx.get(5) == "标本轻度溶血\n结果仅供参考 A^B | 50&50 \\n"
    nte = msg.segment("NTE")
    assert nte.get(3) == "复核：王五\n电话 010\\123"


def test_text_keeps_raw_components_and_components_lists_them():
    seg = parse(render(setf(oru(), "OBX", 5, "a^b\\S\\c", 1))).segment("OBX")
    assert seg.text(5) == "a^b^c"
    assert seg.components(3) == ["WBC", "白细胞计数", "LOCAL"]
    assert seg.values(1, 2, 6, 99) == [seg.get(1), seg.get(2), seg.get(6), ""]


def test_field_raw_and_field_count_expose_the_segment_as_sent():
    seg = parse(ORU).segment("OBR")
    assert seg.field_raw(3) == "FO2026112300001^LIS"
    assert seg.field_count == 25
    assert seg.raw.startswith("OBR|1|")


@pytest.mark.parametrize("sep", ["\r", "\n", "\r\n", "\r\r\n\n"])
def test_segment_separators_cr_lf_and_crlf_and_blank_lines_are_tolerated(sep):
    msg = parse(render(oru(), sep=sep))
    assert len(msg.segments) == 18


def test_a_leading_bom_or_line_breaks_before_msh_are_tolerated():
    assert parse(b"\xef\xbb\xbf\r\n" + ORU).control_id == "MSG00002"


def test_gb18030_is_decoded_before_splitting_so_trail_bytes_equal_to_delimiters_are_safe():
    raw = _gb_adt()
    assert b"\x7c" in RARE_NAME.encode("gb18030")  # really contains a "|" byte
    msg = parse(raw)
    assert msg.charset == "gb18030" and msg.hl7_charset == "GB 18030-2000"
    assert msg.msh.get(4, 2) == "東城醫院"
    assert msg.segment("PID").get(5) == RARE_NAME
    assert msg.segment("PID").get(7) == "19491231"


@pytest.mark.parametrize("name, codec", [
    ("UNICODE UTF-8", "utf-8"), ("unicode utf-8", "utf-8"), ("UTF-8", "utf-8"), ("utf8", "utf-8"),
    ("GB 18030-2000", "gb18030"), ("gb18030", "gb18030"), ("GB 18030", "gb18030"),
    ("GBK", "gbk"), ("chinese", "gbk"), ("ASCII", "ascii"), ("8859/1", "latin-1"),
])
def test_msh18_names_map_to_python_codecs_case_insensitively(name, codec):
    draft = [msh("ADT^A01", charset=name), pid(**{"f5": "Zhang^San", "f11": ""})]
    assert parse(render(draft, "ascii")).charset == codec


def test_without_msh18_the_sender_override_then_the_default_charset_is_used():
    draft = setf(adt(), "MSH", 18, "")
    gbk = render(draft, "gbk")
    overrides = {"H001": "gbk"}
    assert parse(gbk, sender_charsets=overrides).segment("PID").get(5, 2) == "三丰"
    assert parse(gbk, default_charset="gb18030").charset == "gb18030"
    with pytest.raises(Hl7Error) as err:
        parse(gbk)
    assert (err.value.code, err.value.field, err.value.ack_code) == (102, 18, "AR")


def test_a_non_ascii_facility_before_msh18_does_not_confuse_the_charset_lookup():
    draft = setf(adt(charset="GB 18030-2000"), "MSH", 3, "HIS^東東東")
    assert parse(render(draft, "gb18030")).charset == "gb18030"


@pytest.mark.parametrize("name", ["KOI8-R", "UNICODE UTF-16", "BIG-5", "ISO IR87", "x"])
def test_an_unknown_charset_is_rejected_on_msh18(name):
    with pytest.raises(Hl7Error) as err:
        parse(render(setf(adt(), "MSH", 18, name)))
    e = err.value
    assert (e.code, e.segment, e.field, e.ack_code) == (102, "MSH", 18, "AR")
    assert "unsupported character set" in e.reason


@pytest.mark.parametrize("codec, charset", [("utf-8", "UNICODE UTF-8"), ("gb18030", "GB 18030-2000")])
def test_a_truncated_multibyte_character_is_reported_with_its_byte_offset(codec, charset):
    draft = [msh(charset=charset), ("PID", {1: "1", 3: "MRN1^^^^MR", 5: "张三丰"})]
    raw = render(draft, codec)
    cut = raw.index("丰".encode(codec)) + 1
    broken = raw[:cut] + raw[cut + len("丰".encode(codec)) - 1:]
    with pytest.raises(Hl7Error) as err:
        parse(broken)
    e = err.value
    assert (e.code, e.segment, e.field, e.ack_code) == (102, "MSH", 18, "AR")
    assert e.reason == f"not valid {codec} at byte {cut - 1}"


def test_a_gb18030_lead_byte_followed_by_a_delimiter_decodes_as_one_character():
    # Known GB 18030 limit: 0x81-0xFE followed by 0x40-0x7E is a valid character, so a cut
    # character that swallows the next "|" cannot be seen by decoding; fields shift instead.
    raw = render([msh(charset="GB 18030"), ("PID", {1: "1", 3: "X", 5: "张三丰", 7: "1949"})],
                 "gb18030")
    cut = raw.index("丰".encode("gb18030")) + 1
    msg = parse(raw[:cut] + raw[cut + 1:])
    assert msg.segment("PID").get(7) == ""


def test_a_message_cut_inside_its_last_character_is_rejected():
    raw = render(adt(charset="GB 18030-2000"), "gb18030").rstrip(b"\r") + "张".encode("gb18030")[:1]
    with pytest.raises(Hl7Error) as err:
        parse(raw)
    assert err.value.code == 102 and err.value.ack_code == "AR"


def test_non_default_delimiters_are_read_from_msh():
    raw = b"MSH#$*!@#HIS#H001#ALLIANCE#HUB#20261123##ADT$A01#C1#P#2.5.1\rPID#1##A!S!B$$$$MR*X\r"
    msg = parse(raw)
    assert msg.encoding_characters.msh2 == "$*!@" and msg.message_type == "ADT"
    pid_seg = msg.segment("PID")
    assert pid_seg.get(3) == "A$B" and pid_seg.get(3, 5) == "MR" and pid_seg.get(3, repetition=2) == "X"


def test_five_encoding_characters_with_the_truncation_character_are_accepted():
    raw = b"MSH|^~\\&#|HIS|H001|A|B|20261123||ADT^A01|C1|P|2.5.1\rPID|1||X\\P\\Y\r"
    msg = parse(raw)
    assert msg.encoding_characters.truncation == "#"
    assert msg.segment("PID").get(3) == "X#Y"


@pytest.mark.parametrize("raw, field", [
    (b"MSH|^~\\|HIS|H001\r", 2),
    (b"MSH|^^\\&|HIS|H001\r", 2),
    (b"MSH|ab\\&|HIS|H001\r", 2),
    (b"MSH|^~\\&&&|HIS|H001\r", 2),
    (b"MSH|^|\\&|HIS|H001\r", 2),
    (b"MSH|^~\\ |HIS|H001\r", 2),
    (b"MSHA^~\\&AHIS\r", 1),
    (b"MSH \r", 1),
    (b"MSH\r", 1),
])
def test_invalid_delimiters_are_rejected_naming_msh1_or_msh2(raw, field):
    with pytest.raises(Hl7Error) as err:
        parse(raw)
    assert (err.value.segment, err.value.field, err.value.ack_code) == ("MSH", field, "AR")


@pytest.mark.parametrize("raw", [b"", b"\r\n", b"PID|1\rMSH|^~\\&|x\r", b"msh|^~\\&|x", b"\x00MSH|^~\\&|"])
def test_a_message_not_starting_with_msh_is_rejected(raw):
    with pytest.raises(Hl7Error) as err:
        parse(raw)
    assert (err.value.code, err.value.segment, err.value.ack_code) == (100, "MSH", "AR")


@pytest.mark.parametrize("line", ["pid|1", "P1|x", "1PI|x", "PIDX|1", "P\x00D|1", "ÄBC|1"])
def test_a_malformed_segment_is_a_segment_sequence_error(line):
    with pytest.raises(Hl7Error) as err:
        parse(render(adt()) + line.encode() + b"\r")
    assert err.value.code == 100 and err.value.ack_code == "AE"


def test_a_str_is_refused_because_the_charset_must_come_from_the_bytes():
    with pytest.raises(TypeError):
        parse(ORU.decode())  # type: ignore[arg-type]


def test_fields_are_split_only_when_first_read():
    msg = parse(ORU)
    obx = msg.segment("OBX", 5)
    assert obx._fields is None
    obx.get(5)
    assert obx._fields is not None and msg.segment("OBX", 6)._fields is None


def test_reprs_show_structure_not_content():
    msg = parse(ORU)
    assert "张" not in repr(msg) and "MRN" not in repr(msg.segment("PID"))
    assert repr(msg) == "<Message ORU^R01 segments=18>"


@pytest.mark.parametrize("configured", ["no-such-codec", "utf-16", "utf-32"])
def test_a_configured_charset_that_cannot_carry_hl7_delimiters_is_an_internal_error(configured):
    raw = render([msh(charset=""), ("PID", {1: "1", 3: "M1^^^^MR"})])
    with pytest.raises(Hl7Error) as err:
        parse(raw, sender_charsets={"H001": configured})
    assert (err.value.code, err.value.ack_code) == (207, "AR")
