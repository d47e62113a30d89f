"""Malformed and hostile messages: each one must end in an Hl7Error (or warnings), never a crash,
and must get back a well-formed AE/AR ACK whose ERR names the segment and field."""

import random
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from hl7_samples import NATIONAL_ID, adt, drop, msh, orm, oru, pid, render, setf

from data_exchange.hl7.ack import ack_fields, build_ack
from data_exchange.hl7.errors import Hl7Error
from data_exchange.hl7.mapping import issues_as_warnings, to_records
from data_exchange.hl7.parser import parse
from data_exchange.hl7.validation import check_header, check_structure

NOW = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
SECRETS = ["MRN000123", NATIONAL_ID, "13800000000", "张三丰", "YB000000001"]
SQL = "'; DROP TABLE patients;--"
SCRIPT = "<script>alert(1)</script>"


@dataclass(frozen=True)
class Case:
    id: str
    raw: bytes
    location: str | None = None  # expected ERR-2
    ack: str | None = None       # expected MSA-1


def _c(id_: str, draft_or_raw, location: str | None = None, ack: str | None = None,
       encoding: str = "utf-8") -> Case:
    raw = draft_or_raw if isinstance(draft_or_raw, bytes) else render(draft_or_raw, encoding)
    return Case(id_, raw, location, ack)


def _truncate_in_last_field(codec: str, charset: str) -> bytes:
    raw = render([msh(charset=charset), ("PID", {1: "1", 3: "MRN1^^^^MR", 5: "张三丰"})], codec)
    cut = raw.index("丰".encode(codec)) + 1
    return raw[:cut] + raw[cut + len("丰".encode(codec)) - 1:]


def _header_cases() -> list[Case]:
    rng = random.Random(20261123)
    cases = [
        _c("empty", b"", "MSH^1", "AR"),
        _c("nul-bytes", b"\x00" * 64, "MSH^1", "AR"),
        _c("only-line-breaks", b"\r\n\r\n", "MSH^1", "AR"),
        _c("pid-first", render(adt()[2:]), "MSH^1", "AR"),
        _c("msh-not-first", render([("EVN", {1: "A01"}), *adt()]), "MSH^1", "AR"),
        _c("msx", b"MSX|^~\\&|HIS|H001\r", "MSH^1", "AR"),
        _c("lowercase-msh", render(adt()).replace(b"MSH", b"msh", 1), "MSH^1", "AR"),
        _c("msh-only-name", b"MSH", "MSH^1^1", "AR"),
        _c("msh-and-separator", b"MSH|", "MSH^1^2", "AR"),
        _c("msh-without-fields", b"MSH|^~\\&\r", "MSH^1^9^^1", "AR"),
        _c("enc-three-chars", b"MSH|^~\\|HIS|H001|A|B|1||ADT^A01|1|P|2.5\r", "MSH^1^2", "AR"),
        _c("enc-duplicates", b"MSH|^^\\&|HIS|H001\r", "MSH^1^2", "AR"),
        _c("enc-letters", b"MSH|ab\\&|HIS|H001\r", "MSH^1^2", "AR"),
        _c("enc-six-chars", b"MSH|^~\\&#!|HIS|H001\r", "MSH^1^2", "AR"),
        _c("enc-contains-field-separator", b"MSH|^|\\&|HIS\r", "MSH^1^2", "AR"),
        _c("enc-space", b"MSH|^~\\ |HIS\r", "MSH^1^2", "AR"),
        _c("enc-nul", b"MSH|^~\\\x00|HIS\r", "MSH^1^2", "AR"),
        _c("field-separator-letter", b"MSHA^~\\&AHIS\r", "MSH^1^1", "AR"),
        _c("field-separator-digit", b"MSH1^~\\&1HIS\r", "MSH^1^1", "AR"),
        _c("field-separator-cr", b"MSH\r^~\\&|HIS\r", "MSH^1^1", "AR"),
        _c("field-separator-high-byte", b"MSH\xa6^~\\&\xa6HIS\r", "MSH^1^1", "AR"),
    ]
    for n in (1, 10, 100, 1000, 10_000, 100_000):
        cases.append(_c(f"binary-junk-{n}", rng.randbytes(n), "MSH^1", "AR"))
    for n in (10, 500):
        cases.append(_c(f"msh-then-junk-{n}", b"MSH|" + rng.randbytes(n), None, "AR"))
    for name in ("KOI8-R", "UNICODE UTF-16", "BIG-5", "ISO IR87", SQL, "GB 2312"):
        cases.append(_c(f"charset-{name[:8]}", setf(adt(), "MSH", 18, name), "MSH^1^18", "AR"))
    cases += [
        _c("truncated-utf8", _truncate_in_last_field("utf-8", "UNICODE UTF-8"), "MSH^1^18", "AR"),
        _c("truncated-gb18030", _truncate_in_last_field("gb18030", "GB 18030-2000"), "MSH^1^18",
           "AR"),
        _c("cut-mid-character-at-end", render(adt()).rstrip(b"\r") + "张".encode()[:2],
           "MSH^1^18", "AR"),
        _c("gb-bytes-declared-utf8", setf(adt(), "MSH", 18, "UNICODE UTF-8"), "MSH^1^18", "AR",
           encoding="gb18030"),
        _c("gb-bytes-no-charset-default-utf8", setf(adt(), "MSH", 18, ""), "MSH^1^18", "AR",
           encoding="gb18030"),
        _c("chinese-declared-ascii", setf(adt(), "MSH", 18, "ASCII"), "MSH^1^18", "AR"),
        _c("lone-continuation-byte", render(adt()).replace(b"MRN000123", b"MRN\x80000123"),
           "MSH^1^18", "AR"),
        _c("overlong-utf8", render(adt()).replace(b"MRN000123", b"MRN\xc0\xaf"), "MSH^1^18",
           "AR"),
        _c("utf8-surrogate", render(adt()).replace(b"MRN000123", b"\xed\xa0\x80"), "MSH^1^18",
           "AR"),
    ]
    header_fields = [
        ("type-siu", 9, "SIU^S12^SIU_S12", "MSH^1^9^^1"),
        ("type-mdm", 9, "MDM^T02", "MSH^1^9^^1"),
        ("type-qry", 9, "QRY^A19", "MSH^1^9^^1"),
        ("type-ack", 9, "ACK^A01^ACK", "MSH^1^9^^1"),
        ("type-sql", 9, f"{SQL}^A01", "MSH^1^9^^1"),
        ("type-script", 9, f"{SCRIPT}^A01", "MSH^1^9^^1"),
        ("type-empty", 9, "", "MSH^1^9^^1"),
        ("event-a02", 9, "ADT^A02^ADT_A02", "MSH^1^9^^2"),
        ("event-a11", 9, "ADT^A11", "MSH^1^9^^2"),
        ("event-r03", 9, "ORU^R03", "MSH^1^9^^2"),
        ("event-o02", 9, "ORM^O02", "MSH^1^9^^2"),
        ("event-missing", 9, "ADT", "MSH^1^9^^2"),
        ("event-sql", 9, f"ADT^{SQL}", "MSH^1^9^^2"),
        ("processing-x", 11, "X", "MSH^1^11^^1"),
        ("processing-empty", 11, "", "MSH^1^11^^1"),
        ("processing-script", 11, SCRIPT, "MSH^1^11^^1"),
        ("version-2.2", 12, "2.2", "MSH^1^12^^1"),
        ("version-2.6", 12, "2.6", "MSH^1^12^^1"),
        ("version-3.0", 12, "3.0", "MSH^1^12^^1"),
        ("version-2.5.1.1", 12, "2.5.1.1", "MSH^1^12^^1"),
        ("version-empty", 12, "", "MSH^1^12^^1"),
        ("version-sql", 12, SQL, "MSH^1^12^^1"),
        ("control-id-empty", 10, "", "MSH^1^10"),
        ("control-id-null", 10, '""', "MSH^1^10"),
        ("facility-empty", 4, "", "MSH^1^4^^1"),
    ]
    for id_, field, value, loc in header_fields:
        cases.append(_c(id_, setf(adt(), "MSH", field, value), loc, "AR"))
    return cases


def _structure_cases() -> list[Case]:
    a, o, r = adt(), oru(), orm()
    base = render(a)
    return [
        _c("adt-no-pid", drop(a, "PID"), "PID^1", "AE"),
        _c("adt-no-pv1", drop(a, "PV1"), "PV1^1", "AE"),
        _c("adt-pv1-before-pid", [a[0], a[3], a[2]], "PV1^1", "AE"),
        _c("adt-pid-twice", a + [a[2]], "PID^2", "AE"),
        _c("adt-pv1-twice", a + [a[3]], "PV1^2", "AE"),
        _c("second-msh-batch", a + a, "MSH^2", "AE"),
        _c("oru-no-obr", drop(o, "OBR"), "OBR^1", "AE"),
        _c("oru-no-obx", drop(o, "OBX"), "OBR^1", "AE"),
        _c("oru-no-pid", drop(o, "PID"), "PID^1", "AE"),
        _c("oru-obx-before-obr", o[:4] + [("OBX", {1: "1"})] + o[4:], "OBX^1", "AE"),
        _c("oru-empty-second-obr", o + [("OBR", {1: "2"})], "OBR^2", "AE"),
        _c("orm-no-orc", drop(r, "ORC"), "ORC^1", "AE"),
        _c("orm-no-obr", drop(r, "OBR"), "OBR^1", "AE"),
        _c("orm-obr-before-orc", r[:3] + [("OBR", {1: "0"})] + r[3:], "OBR^1", "AE"),
        _c("orm-trailing-orc", r + [("ORC", {1: "NW"})], "ORC^3", "AE"),
        _c("orm-pid-after-orc", [r[0], r[3], r[1], r[4]], "PID^1", "AE"),
        _c("segment-lowercase", base + b"pid|1\r", None, "AE"),
        _c("segment-two-letters", base + b"P1|x\r", None, "AE"),
        _c("segment-digit-first", base + b"1PI|x\r", None, "AE"),
        _c("segment-nul-in-name", base + b"P\x00D|1\r", None, "AE"),
        _c("segment-non-ascii-name", base + "ÄBC|1\r".encode(), None, "AE"),
        _c("segment-no-separator", base + b"PIDX|1\r", "PID^2", "AE"),
        _c("segment-html", base + SCRIPT.encode() + b"\r", None, "AE"),
        _c("segment-sql", base + SQL.encode() + b"\r", None, "AE"),
        _c("segment-300-fields", a + [("ZXX", {300: "x"})], "ZXX^1^257", "AE"),
        _c("pid-100k-fields", setf(a, "PID", 100_000, "x"), "PID^1^257", "AE"),
    ]


def _content_cases() -> list[Case]:
    a1, a3, o, r = adt("A01"), adt("A03"), oru(), orm()
    spec = [
        # (id, draft, segment, field, value, occurrence, location)
        ("pid3-empty", a1, "PID", 3, "", 1, "PID^1^3"),
        ("pid3-null", a1, "PID", 3, '""', 1, "PID^1^3"),
        ("pid3-only-national-id", a1, "PID", 3, f"{NATIONAL_ID}^^^CHN^NNCHN", 1, "PID^1^3"),
        ("pid3-100k-empty-repetitions", a1, "PID", 3, "~" * 100_000 + "X^^^^MR", 1, "PID^1^3"),
        ("pid3-300kb-mrn", a1, "PID", 3, "9" * 300_000, 1, "PID^1^3"),
        ("pid3-long-insurance", a1, "PID", 3, "M1^^^^MR~" + "Y" * 200 + "^^^^MI", 1, "PID^1^3"),
        ("pid5-long-name", a1, "PID", 5, "张" * 500, 1, "PID^1^5"),
        ("pid7-month-13", a1, "PID", 7, "19491301", 1, "PID^1^7"),
        ("pid7-feb-30", a1, "PID", 7, "19490230", 1, "PID^1^7"),
        ("pid7-dashes", a1, "PID", 7, "1949-12-31", 1, "PID^1^7"),
        ("pid7-words", a1, "PID", 7, "yesterday", 1, "PID^1^7"),
        ("pid7-sql", a1, "PID", 7, SQL, 1, "PID^1^7"),
        ("pid7-script", a1, "PID", 7, SCRIPT, 1, "PID^1^7"),
        ("pid7-nul", a1, "PID", 7, "1949\x001231", 1, "PID^1^7"),
        ("pid7-unterminated-escape", a1, "PID", 7, "1949\\X31", 1, "PID^1^7"),
        ("pid7-fullwidth-digits", a1, "PID", 7, "１９４９１２３１", 1, "PID^1^7"),
        ("pid19-long", setf(a1, "PID", 3, "M1^^^^MR"), "PID", 19, "1" * 101, 1, "PID^1^19"),
        ("pv1-2-empty", a1, "PV1", 2, "", 1, "PV1^1^2"),
        ("pv1-2-unknown", a1, "PV1", 2, "Z", 1, "PV1^1^2"),
        ("pv1-2-sql", a1, "PV1", 2, SQL, 1, "PV1^1^2"),
        ("pv1-19-empty", a1, "PV1", 19, "", 1, "PV1^1^19"),
        ("pv1-19-too-long", a1, "PV1", 19, "V" * 101, 1, "PV1^1^19"),
        ("pv1-44-hour-25", a1, "PV1", 44, "20261120251500", 1, "PV1^1^44"),
        ("pv1-44-junk", a1, "PV1", 44, "2026112O", 1, "PV1^1^44"),
        ("a03-pv1-45-missing", a3, "PV1", 45, "", 1, "PV1^1^45"),
        ("a03-pv1-45-bad", a3, "PV1", 45, "20261123096000", 1, "PV1^1^45"),
        ("dg1-3-empty", a1, "DG1", 3, "", 2, "DG1^2^3"),
        ("dg1-3-too-long", a1, "DG1", 3, "I" * 101, 1, "DG1^1^3"),
        ("pr1-3-empty", a1, "PR1", 3, "", 1, "PR1^1^3"),
        ("pr1-5-bad", a1, "PR1", 5, "2026/11/21", 1, "PR1^1^5"),
        ("ft1-7-empty", a3, "FT1", 7, "", 2, "FT1^2^7"),
        ("ft1-11-empty", a3, "FT1", 11, "", 3, "FT1^3^11"),
        ("ft1-11-three-decimals", a3, "FT1", 11, "12.345", 1, "FT1^1^11^^1"),
        ("ft1-11-words", a3, "FT1", 11, "twelve", 1, "FT1^1^11^^1"),
        ("ft1-11-exponent", a3, "FT1", 11, "1e3", 1, "FT1^1^11^^1"),
        ("ft1-11-huge", a3, "FT1", 11, "9" * 40, 1, "FT1^1^11^^1"),
        ("ft1-11-dollars", a3, "FT1", 11, "12.00&USD", 1, "FT1^1^11^^1"),
        ("ft1-10-words", a3, "FT1", 10, "two", 1, "FT1^1^10"),
        ("obr-3-empty", o, "OBR", 3, "", 1, "OBR^1^3"),
        ("obr-4-empty", o, "OBR", 4, "", 1, "OBR^1^4"),
        ("obr-7-empty", o, "OBR", 7, "", 1, "OBR^1^7"),
        ("obr-7-bad", o, "OBR", 7, "20261123 0800", 1, "OBR^1^7"),
        ("obx-1-words", o, "OBX", 1, "one", 2, "OBX^2^1"),
        ("obx-2-empty", o, "OBX", 2, "", 3, "OBX^3^2"),
        ("obx-3-empty", o, "OBX", 3, "", 4, "OBX^4^3"),
        ("obx-5-nm-words", o, "OBX", 5, "abc", 5, "OBX^5^5"),
        ("obx-5-nm-comparator", o, "OBX", 5, "<0.5", 5, "OBX^5^5"),
        ("obx-5-nm-thousands", o, "OBX", 5, "1,000", 5, "OBX^5^5"),
        ("obx-5-nm-nan", o, "OBX", 5, "NaN", 5, "OBX^5^5"),
        ("obx-5-nm-exponent", o, "OBX", 5, "1e5", 5, "OBX^5^5"),
        ("obx-5-nm-sql", o, "OBX", 5, SQL, 5, "OBX^5^5"),
        ("obx-5-nm-script", o, "OBX", 5, SCRIPT, 5, "OBX^5^5"),
        ("obx-5-nm-unterminated-escape", o, "OBX", 5, "12\\", 5, "OBX^5^5"),
        ("obx-5-nm-with-component", o, "OBX", 5, "12^3", 5, "OBX^5^5"),
        ("obx-5-nm-bad-hex-escape", o, "OBX", 5, "\\XZZ\\", 5, "OBX^5^5"),
        ("obx-11-empty", o, "OBX", 11, "", 6, "OBX^6^11"),
        ("obx-11-unknown", o, "OBX", 11, "Q", 6, "OBX^6^11"),
        ("obx-14-bad", o, "OBX", 14, "2026-11-23T09:00", 7, "OBX^7^14"),
        ("orc-1-empty", r, "ORC", 1, "", 2, "ORC^2^1"),
        ("orc-1-unknown", r, "ORC", 1, "ZZ", 1, "ORC^1^1"),
        ("orc-9-bad", r, "ORC", 9, "2026-11-23", 1, "ORC^1^9"),
        ("orc-2-too-long", r, "ORC", 2, "P" * 101, 1, "ORC^1^2"),
        ("obr-4-empty-in-order", r, "OBR", 4, "", 3, "OBR^3^4"),
    ]
    cases = [_c(id_, setf(draft, seg, field, value, occ), loc, "AE")
             for id_, draft, seg, field, value, occ, loc in spec]
    no_placer = setf(setf(r, "ORC", 2, "", 1), "OBR", 2, "", 1)
    no_time = setf(r, "ORC", 9, "", 1)
    sn_bad = setf(setf(o, "OBX", 2, "SN", 1), "OBX", 5, "<^abc", 1)
    many_obx = o + [("OBX", {1: str(i), 2: "NM", 3: "X^x^L", 5: "1", 11: "F"})
                    for i in range(13, 5000)] + [("OBX", {1: "5000", 2: "NM", 3: "X", 5: "x",
                                                          11: "F"})]
    cases += [
        _c("orm-no-placer-anywhere", no_placer, "ORC^1^2", "AE"),
        _c("orm-no-time-anywhere", no_time, "ORC^1^9", "AE"),
        _c("orm-no-pid", drop(r, "PID"), "PID^1", "AE"),
        _c("oru-sn-bad-number", sn_bad, "OBX^1^5^^2", "AE"),
        _c("oru-5000th-obx-bad", many_obx, "OBX^5000^5", "AE"),
        _c("adt-gb18030-bad-date", setf(adt(charset="GB 18030-2000"), "PID", 7, "生日"),
           "PID^1^7", "AE", encoding="gb18030"),
    ]
    return cases


REJECTED = _header_cases() + _structure_cases() + _content_cases()


def _process(raw: bytes):
    msg = None
    try:
        msg = parse(raw)
        check_header(msg)
        check_structure(msg)
        _, issues = to_records(msg)
    except Hl7Error as exc:
        return msg, exc, []
    return msg, None, issues


def test_the_hostile_corpus_has_at_least_a_hundred_distinct_messages():
    assert len(REJECTED) >= 100
    assert len({c.raw for c in REJECTED}) == len(REJECTED)
    assert len({c.id for c in REJECTED}) == len(REJECTED)


@pytest.mark.parametrize("case", REJECTED, ids=lambda c: c.id)
def test_every_hostile_message_is_rejected_with_a_well_formed_ack_naming_the_location(case):
    msg, error, _ = _process(case.raw)
    assert error is not None, "accepted a message that must be rejected"
    assert error.ack_code in ("AE", "AR")
    if case.ack:
        assert error.ack_code == case.ack
    ack = build_ack(msg, error.ack_code, [error], control_id="ACK1", now=NOW, raw=case.raw)
    assert ack.count(b"\r") == 3 and not any(b in ack for b in (b"\n", b"\x0b", b"\x1c", b"\x00"))
    fields = ack_fields(ack)
    assert fields["segments"] == ["MSH", "MSA", "ERR"]
    assert fields["code"] == error.ack_code
    err = fields["errors"][0]
    assert err["code"] == str(error.code) and err["severity"] == "E"
    if error.segment is not None:
        assert err["segment"] == error.segment and err["sequence"] == str(error.segment_seq)
        if error.code in (101, 102, 103):
            assert err["field"] == str(error.field)
    else:
        assert case.id.startswith("segment-")  # only a malformed segment ID has no name to give
    if case.location is not None:
        assert err["location"] == case.location
    for secret in SECRETS:
        assert secret not in error.reason
        assert secret.encode() not in ack and secret.encode("gb18030") not in ack


@pytest.mark.parametrize("case", [c for c in REJECTED if SQL in c.id or "sql" in c.id
                                  or "script" in c.id], ids=lambda c: c.id)
def test_injection_text_never_reaches_the_ack_unescaped(case):
    msg, error, _ = _process(case.raw)
    ack = build_ack(msg, error.ack_code, [error], control_id="ACK1", now=NOW, raw=case.raw,
                    text=SQL + "|" + SCRIPT + "\r")
    assert ack.count(b"\r") == 3
    assert ack_fields(ack)["text"] == SQL + "|" + SCRIPT + "\n"


FLAGGED = [
    ("sex-outside-table", setf(adt(), "PID", 8, "X"), ["PID-8"]),
    ("sex-gb-code", setf(adt(), "PID", 8, "1"), ["PID-8"]),
    ("abnormal-flag-outside-table", setf(oru(), "OBX", 8, "SQL';--", 2), ["OBX-8"]),
    ("value-type-outside-table", setf(oru(), "OBX", 2, "ZZ", 12), ["OBX-2"]),
    ("diagnosis-type-outside-table", setf(adt(), "DG1", 6, "Q", 1), ["DG1-6"]),
    ("diagnosis-priority-words", setf(adt(), "DG1", 15, "first", 1), ["DG1-15"]),
    ("bad-national-id-check-digit", setf(adt(), "PID", 3, "M1^^^^MR~110105194912310021^^^^NI"),
     ["PID-3"]),
    ("charges-in-a01", adt() + [("FT1", {1: "1", 7: "X", 11: "1"})], ["FT1-7"]),
    ("fractional-quantity", setf(adt("A03"), "FT1", 10, "0.5", 2), ["FT1-10"]),
    ("admission-without-time", setf(adt(), "PV1", 44, ""), ["PV1-44"]),
    ("discharge-before-admission", setf(adt("A03"), "PV1", 45, "20261101000000"), ["PV1-45"]),
    ("preadmit-patient-class", setf(adt(), "PV1", 2, "P"), ["PV1-2"]),
    ("two-principal-diagnoses", setf(setf(adt(), "DG1", 15, "1", 1), "DG1", 15, "1", 2),
     ["DG1-15"]),
    ("mrn-after-5000-repetitions", setf(adt(), "PID", 3, "M1^^^^MR" + "~X" * 5000), ["PID-3"]),
    ("nm-value-with-50000-repetitions", setf(oru(), "OBX", 5, "1~" * 50_000 + "x", 1), ["OBX-5"]),
]


@pytest.mark.parametrize("draft, locations", [(d, loc) for _, d, loc in FLAGGED],
                         ids=[i for i, _, _ in FLAGGED])
def test_suspicious_but_usable_messages_are_accepted_with_warnings_in_an_aa(draft, locations):
    raw = render(draft)
    msg, error, issues = _process(raw)
    assert error is None
    assert [i.location for i in issues] == locations
    ack = build_ack(msg, "AA", issues_as_warnings(issues), control_id="ACK1", now=NOW)
    fields = ack_fields(ack)
    assert fields["code"] == "AA" and [e["severity"] for e in fields["errors"]] == ["W"]
    segment, field = locations[0].split("-")
    assert (fields["errors"][0]["segment"], fields["errors"][0]["field"]) == (segment, field)


def test_injection_text_in_free_text_fields_is_accepted_as_data():
    draft = setf(setf(oru(), "OBX", 5, SQL + "\\F\\" + SCRIPT, 12), "PID", 5, SCRIPT)
    msg, error, issues = _process(render(draft))
    assert error is None and issues == []
    records, _ = to_records(msg)
    assert records[0].observations[11].value == SQL + "|" + SCRIPT
    assert records[0].patient.name == SCRIPT


def test_a_pid_without_pv1_class_n_keeps_working_for_every_sample_type():
    for draft in (adt("A08"), oru(), orm()):
        assert _process(render(draft))[1] is None
    assert _process(render([msh("ADT^A08"), pid(), ("PV1", {2: "N"})]))[1] is None


_MUTATION_BYTES = b"|^~\\&\r\n\x0b\x1c\x00\x80\xff\xfe0123456789.-+ ZAMSHPIDOBXE\"#"


def _mutate(rng: random.Random, raw: bytes) -> bytes:
    b = bytearray(raw)
    for _ in range(rng.randint(1, 8)):
        op, i = rng.random(), rng.randrange(len(b)) if b else 0
        if op < 0.3 and b:
            b[i] = rng.choice(_MUTATION_BYTES)
        elif op < 0.5:
            b[i:i] = bytes([rng.choice(_MUTATION_BYTES)]) * rng.randint(1, 3)
        elif op < 0.7 and b:
            del b[i:i + rng.randint(1, 5)]
        elif op < 0.8 and b:
            b[i] = rng.randrange(256)
        else:
            j = rng.randrange(len(b)) if b else 0
            b[i:i] = b[j:j + rng.randint(1, 40)]
    return bytes(b)


def test_thousands_of_random_mutations_end_in_a_result_or_an_hl7_error_and_a_clean_ack():
    seeds = [render(adt("A01")), render(adt("A03")), render(oru()), render(orm()),
             render(adt(charset="GB 18030-2000", facility="H001^東城醫院^L"), "gb18030")]
    rng = random.Random(7)
    outcomes = {"accepted": 0, "rejected": 0}
    for _ in range(3000):
        raw = _mutate(rng, rng.choice(seeds))
        msg, error, issues = _process(raw)
        if error is None:
            outcomes["accepted"] += 1
            ack = build_ack(msg, "AA", issues_as_warnings(issues), control_id="A", now=NOW)
        else:
            outcomes["rejected"] += 1
            ack = build_ack(msg, error.ack_code, [error], control_id="A", now=NOW, raw=raw)
        fields = ack_fields(ack)
        assert ack.count(b"\r") == len(fields["segments"])
        assert not any(b in ack for b in (b"\n", b"\x0b", b"\x1c"))
    assert outcomes["accepted"] > 100 and outcomes["rejected"] > 1000
