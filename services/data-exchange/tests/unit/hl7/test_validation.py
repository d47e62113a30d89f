import pytest
from hl7_samples import adt, drop, imaging_oru, orm, oru, render, setf

from data_exchange.hl7.errors import Hl7Error
from data_exchange.hl7.parser import parse
from data_exchange.hl7.validation import SUPPORTED, check_header, check_structure

ALL_SAMPLES = {
    "ADT^A01": adt("A01"), "ADT^A04": adt("A04"), "ADT^A08": adt("A08"), "ADT^A03": adt("A03"),
    "ORU^R01": oru(), "ORU^R01 imaging": imaging_oru(), "ORM^O01": orm(),
    "OML^O21": orm("OML^O21^OML_O21"),
}


def test_the_supported_set_is_the_ten_agreed_message_types():
    assert {f"{t}^{e}" for t, e in SUPPORTED} == {"ADT^A01", "ADT^A04", "ADT^A08", "ADT^A03", "ADT^A28", "ADT^A31",
                                                 "ADT^A40", "ORU^R01", "ORM^O01", "OML^O21"}


def test_a_merge_needs_an_mrg_after_the_pid():
    merge = drop(setf(adt(), "MSH", 9, "ADT^A40^ADT_A39"), "PV1")
    check_structure(parse(render(merge + [("MRG", {1: "OLD-1^^^H001^MR"})])))
    with pytest.raises(Hl7Error) as err:
        check_structure(parse(render(merge)))
    assert (err.value.code, err.value.segment) == (100, "MRG")


@pytest.mark.parametrize("event", ["A28", "A31"])
def test_person_information_needs_a_pid_but_no_pv1(event):
    draft = drop(setf(adt(), "MSH", 9, f"ADT^{event}^ADT_A05"), "PV1")
    msg = parse(render(draft))
    check_header(msg)
    check_structure(msg)
    with pytest.raises(Hl7Error) as err:
        check_structure(parse(render(drop(draft, "PID"))))
    assert (err.value.code, err.value.segment) == (100, "PID")


@pytest.mark.parametrize("name", ALL_SAMPLES)
def test_every_supported_sample_passes_header_and_structure_checks(name):
    msg = parse(render(ALL_SAMPLES[name]))
    check_header(msg)
    check_structure(msg)


@pytest.mark.parametrize("field, value, code, component", [
    (9, "SIU^S12^SIU_S12", 200, 1),
    (9, "'; DROP TABLE patients;--^A01", 200, 1),
    (9, "ADT^A02^ADT_A02", 201, 2),
    (9, "ORU^R03", 201, 2),
    (9, "ADT", 101, 2),
    (9, "", 101, 1),
    (10, "", 101, None),
    (11, "X", 202, 1),
    (11, "", 101, 1),
    (12, "2.6", 203, 1),
    (12, "2.2", 203, 1),
    (12, "", 101, 1),
    (4, "", 101, 1),
    (4, "^东院^L", 101, 1),
])
def test_header_problems_are_rejected_with_their_table_0357_code(field, value, code, component):
    msg = parse(render(setf(adt(), "MSH", field, value)))
    with pytest.raises(Hl7Error) as err:
        check_header(msg)
    e = err.value
    assert (e.code, e.segment, e.field, e.component, e.ack_code) == (
        code, "MSH", field, component, "AR")


def test_unsupported_values_are_echoed_sanitised_in_the_reason():
    msg = parse(render(setf(adt(), "MSH", 9, "<script>alert(1)</script>^A01")))
    with pytest.raises(Hl7Error) as err:
        check_header(msg)
    assert "<" not in err.value.reason and "scriptalert1" in err.value.reason


@pytest.mark.parametrize("draft, segment, seq", [
    (drop(adt(), "PID"), "PID", 1),
    (drop(adt(), "PV1"), "PV1", 1),
    ([adt()[0], adt()[3], adt()[2]], "PV1", 1),
    (adt() + [adt()[2]], "PID", 2),
    (adt() + [adt()[3]], "PV1", 2),
    (adt() + [adt()[0]], "MSH", 2),
    (drop(oru(), "OBR"), "OBR", 1),
    (drop(oru(), "PID"), "PID", 1),
    (drop(oru(), "OBX"), "OBR", 1),
    (oru()[:4] + [("OBX", {1: "1"})] + oru()[4:], "OBX", 1),
    (oru() + [("OBR", {1: "2"})], "OBR", 2),
    (drop(orm(), "ORC"), "ORC", 1),
    (drop(orm(), "OBR"), "OBR", 1),
    (orm()[:3] + [("OBR", {1: "0"})] + orm()[3:], "OBR", 1),
    (orm() + [("ORC", {1: "NW"})], "ORC", 3),
    ([orm()[0], orm()[3], orm()[1], orm()[4]], "PID", 1),
])
def test_structure_errors_name_the_segment_and_its_occurrence(draft, segment, seq):
    msg = parse(render(draft))
    with pytest.raises(Hl7Error) as err:
        check_structure(msg)
    e = err.value
    assert (e.code, e.segment, e.segment_seq, e.ack_code) == (100, segment, seq, "AE")


def test_an_order_message_without_pid_passes_the_structure_check():
    check_structure(parse(render(drop(orm(), "PID"))))


def test_a_segment_with_absurdly_many_fields_is_rejected():
    draft = adt() + [("ZXX", {300: "x"})]
    with pytest.raises(Hl7Error) as err:
        check_structure(parse(render(draft)))
    assert (err.value.code, err.value.segment, err.value.field) == (102, "ZXX", 257)
