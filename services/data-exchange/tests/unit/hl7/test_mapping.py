from datetime import date, datetime

import pytest
from hl7_samples import (
    NATIONAL_ID,
    RARE_NAME,
    adt,
    drop,
    imaging_oru,
    msh,
    orm,
    oru,
    pid,
    render,
    setf,
)

from data_exchange.domain.clinical import (
    Code,
    CostLine,
    EncounterKind,
    EncounterRecord,
    OrderRecord,
    PatientMerge,
    PatientRecord,
    ResultCategory,
    ResultReport,
    Sex,
)
from data_exchange.hl7.datatypes import CHINA_TZ
from data_exchange.hl7.errors import Hl7Error
from data_exchange.hl7.mapping import issues_as_warnings, to_records
from data_exchange.hl7.parser import parse


def _map(draft, encoding="utf-8"):
    return to_records(parse(render(draft, encoding)))


def _one(draft, encoding="utf-8"):
    records, issues = _map(draft, encoding)
    assert len(records) == 1
    return records[0], issues


def _error(draft) -> Hl7Error:
    with pytest.raises(Hl7Error) as err:
        _map(draft)
    return err.value


def test_adt_a01_in_utf8_becomes_an_admitted_encounter_with_the_full_patient():
    record, issues = _one(adt("A01"))
    assert issues == []
    assert isinstance(record, EncounterRecord)
    assert record.kind is EncounterKind.ADMITTED and record.sending_facility == "H001"
    assert record.visit_number == "V20261123001" and record.patient_class == "I"
    assert record.department == Code("0301", display="心内科")
    assert record.admitted_at == datetime(2026, 11, 20, 8, 15, tzinfo=CHINA_TZ)
    assert record.discharged_at is None and record.cost_lines == ()
    p = record.patient
    assert (p.mrn, p.national_id, p.insurance_number) == ("MRN000123", NATIONAL_ID, "YB000000001")
    assert (p.name, p.birth_date, p.sex, p.phone) == ("张三丰", date(1949, 12, 31), Sex.MALE,
                                                      "13800000000")
    assert record.procedures[0].code == Code("36.0601", "ICD-9-CM-3", "冠状动脉药物洗脱支架置入术")


def test_adt_a01_in_gb18030_with_rare_characters_maps_the_same_way():
    draft = setf(adt("A01", charset="GB 18030-2000", facility="H001^東城醫院^L"), "PID", 5,
                 RARE_NAME)
    record, issues = _one(draft, "gb18030")
    assert issues == [] and record.patient.name == RARE_NAME
    assert record.diagnoses[0].code.display == "急性心肌梗死"
    assert record.sending_facility == "H001"


def test_a04_registers_an_outpatient_visit_and_a08_updates_it():
    registered, _ = _one(setf(adt("A04"), "PV1", 2, "O"))
    updated, _ = _one(adt("A08"))
    assert registered.kind is EncounterKind.REGISTERED and registered.patient_class == "O"
    assert updated.kind is EncounterKind.UPDATED


def test_a08_with_patient_class_n_and_no_visit_is_a_demographics_update():
    draft = setf(setf(adt("A08"), "PV1", 2, "N"), "PV1", 19, "")
    record, _ = _one(draft)
    assert isinstance(record, PatientRecord) and record.patient.mrn == "MRN000123"


@pytest.mark.parametrize("event", ["A28", "A31"])
def test_a28_and_a31_are_demographics_only_with_or_without_a_visit(event):
    with_visit, _ = _one(setf(adt(), "MSH", 9, f"ADT^{event}^ADT_A05"))
    without, _ = _one(drop(setf(adt(), "MSH", 9, f"ADT^{event}^ADT_A05"), "PV1"))
    for record in (with_visit, without):
        assert isinstance(record, PatientRecord) and record.patient.mrn == "MRN000123"
        assert (record.patient.name, record.patient.birth_date) == ("张三丰", date(1949, 12, 31))


def test_a40_merges_the_mrg_mrn_into_the_pid_mrn_preferring_the_mr_repetition():
    merge = drop(setf(adt(), "MSH", 9, "ADT^A40^ADT_A39"), "PV1")
    record, _ = _one(merge + [("MRG", {1: "INS-7^^^H001^SS~OLD-1^^^H001^MR"})])
    assert isinstance(record, PatientMerge) and (record.patient.mrn, record.prior_mrn) == ("MRN000123", "OLD-1")
    err = _error(merge + [("MRG", {2: "x"})])
    assert (err.code, err.segment, err.field) == (101, "MRG", 1)


def test_a03_discharge_carries_times_and_cost_lines_in_exact_fen():
    record, issues = _one(adt("A03"))
    assert issues == []
    assert record.kind is EncounterKind.DISCHARGED
    assert record.discharged_at == datetime(2026, 11, 23, 9, 0, tzinfo=CHINA_TZ)
    assert record.cost_lines == (
        CostLine(Code("250101001", "LOCAL", "血常规"), 2500, 2),
        CostLine(Code("330201001", "LOCAL", "支架"), 1234567, 1),
        CostLine(Code("110900001", "LOCAL", "床位费"), 15000, 3),
    )


def test_the_principal_diagnosis_is_priority_one_else_the_first_final_one():
    record, _ = _one(adt("A01"))
    assert [d.principal for d in record.diagnoses] == [False, True, False]  # first final (F)
    with_priority = setf(adt("A01"), "DG1", 15, "1", occurrence=3)
    record, _ = _one(with_priority)
    assert [d.principal for d in record.diagnoses] == [False, False, True]


def test_two_principal_diagnoses_keep_the_first_and_warn():
    draft = setf(setf(adt("A01"), "DG1", 15, "1", 1), "DG1", 15, "1", 3)
    record, issues = _one(draft)
    assert [d.principal for d in record.diagnoses] == [True, False, False]
    assert [(i.code, i.location, i.details) for i in issues] == [
        ("inconsistent", "DG1-15", {"occurrence": "3"})]


def test_no_final_diagnosis_and_no_priority_means_no_principal():
    draft = setf(setf(adt("A01"), "DG1", 6, "W", 2), "DG1", 6, "W", 3)
    record, _ = _one(draft)
    assert not any(d.principal for d in record.diagnoses)


@pytest.mark.parametrize("segment, field, value, code", [
    ("PV1", 45, "", 101),
    ("PV1", 19, "", 101),
    ("PV1", 2, "", 101),
    ("PV1", 2, "Z", 103),
    ("PV1", 44, "20261340", 102),
    ("DG1", 3, "", 101),
    ("PR1", 3, "", 101),
    ("PR1", 5, "2026-11-21", 102),
    ("FT1", 7, "", 101),
    ("FT1", 11, "", 101),
    ("FT1", 11, "12.345", 102),
    ("FT1", 11, "12.00&USD", 103),
    ("FT1", 10, "two", 102),
    ("PID", 3, "", 101),
    ("PID", 3, f"{NATIONAL_ID}^^^CHN^NNCHN", 101),
    ("PID", 3, "M" * 101, 102),
    ("PID", 7, "19491232", 102),
])
def test_adt_content_errors_name_segment_and_field(segment, field, value, code):
    e = _error(setf(adt("A03"), segment, field, value))
    assert (e.code, e.segment, e.field, e.ack_code) == (code, segment, field, "AE")


def test_charges_outside_a03_are_ignored_with_a_warning():
    draft = adt("A01") + [("FT1", {1: "1", 7: "X1", 11: "1.00"})]
    record, issues = _one(draft)
    assert record.cost_lines == ()
    assert [(i.code, i.location) for i in issues] == [("ignored", "FT1-7")]


def test_a_fractional_quantity_keeps_the_amount_and_is_flagged():
    record, issues = _one(setf(adt("A03"), "FT1", 10, "0.5", 1))
    assert record.cost_lines[0] == CostLine(Code("250101001", "LOCAL", "血常规"), 2500, 1)
    assert [(i.code, i.location, i.details) for i in issues] == [
        ("not-whole-quantity", "FT1-10", {"quantity": "0.5"})]


def test_the_mrn_is_the_mr_repetition_else_the_first_untyped_one():
    record, _ = _one(setf(adt(), "PID", 3, f"{NATIONAL_ID}^^^CHN^NNCHN~LOCAL9^^^H001~MRN7^^^H001^MR"))
    assert (record.patient.mrn, record.patient.national_id) == ("MRN7", NATIONAL_ID)
    record, _ = _one(setf(adt(), "PID", 3, f"{NATIONAL_ID}^^^CHN^NNCHN~LOCAL9^^^H001"))
    assert record.patient.mrn == "LOCAL9"


def test_the_national_id_may_come_from_pid19_and_a_bad_check_digit_is_flagged():
    draft = setf(setf(adt(), "PID", 3, "MRN1^^^H001^MR"), "PID", 19, "110105194912310021")
    record, issues = _one(draft)
    assert record.patient.national_id == "110105194912310021"
    assert [(i.code, i.location) for i in issues] == [("invalid-format", "PID-19")]
    assert all("110105194912310021" not in i.message for i in issues)


@pytest.mark.parametrize("value, sex, warned", [
    ("M", Sex.MALE, False), ("F", Sex.FEMALE, False), ("O", Sex.OTHER, False),
    ("A", Sex.OTHER, False), ("U", Sex.UNKNOWN, False), ("N", Sex.UNKNOWN, False),
    ("", Sex.UNKNOWN, False), ("f", Sex.FEMALE, False),
    ("1", Sex.MALE, True), ("2", Sex.FEMALE, True), ("X", Sex.UNKNOWN, True),
])
def test_sex_codes_map_to_sex_and_codes_outside_table_0001_are_flagged(value, sex, warned):
    record, issues = _one(setf(adt(), "PID", 8, value))
    assert record.patient.sex is sex
    assert [i.location for i in issues] == (["PID-8"] if warned else [])


def test_names_join_family_and_given_and_prefer_the_legal_name():
    record, _ = _one(setf(adt(), "PID", 5, "SMITH^JOHN"))
    assert record.patient.name == "SMITH JOHN"
    record, _ = _one(setf(adt(), "PID", 5, "小张^^^^^^N~张^三丰^^^^^L"))
    assert record.patient.name == "张三丰"
    record, _ = _one(setf(adt(), "PID", 5, ""))
    assert record.patient.name is None


def test_oru_lab_report_maps_numeric_coded_and_text_results():
    record, issues = _one(oru())
    assert issues == []
    assert isinstance(record, ResultReport)
    assert (record.report_id, record.placer_order_id) == ("FO2026112300001", "PO2026112300001")
    assert record.category is ResultCategory.LABORATORY
    assert record.service == Code("CBC", "LOCAL", "血常规")
    assert record.observed_at == datetime(2026, 11, 23, 8, 0, tzinfo=CHINA_TZ)
    obs = record.observations
    assert len(obs) == 12
    first = obs[0]
    assert (first.sequence, first.item, first.value, first.value_type) == (
        1, Code("WBC", "LOCAL", "白细胞计数"), "6.52", "NM")
    assert (first.unit, first.reference_range, first.abnormal_flag, first.status) == (
        "10*9/L", "3.5-9.5", "N", "F")
    assert first.performing_lab == "LAB01"
    assert first.effective_at == datetime(2026, 11, 23, 9, 0, tzinfo=CHINA_TZ)
    assert obs[2].abnormal_flag == "L"
    assert (obs[10].value_type, obs[10].value) == ("CE", "NEG 阴性")
    assert obs[11].value == "标本轻度溶血\n结果仅供参考 A^B | 50&50 \\n"


def test_oru_in_gb18030_maps_chinese_results():
    draft = setf(oru(charset="GB 18030-2000"), "OBX", 5, r"阳性\.br\复查", 12)
    record, _ = _one(draft, "gb18030")
    assert record.observations[11].value == "阳性\n复查"
    assert record.service.display == "血常规"


def test_oru_with_an_imaging_section_is_an_imaging_report():
    record, _ = _one(imaging_oru())
    assert record.category is ResultCategory.IMAGING
    assert record.observations[0].value == "双肺纹理清晰\n未见明显实质性病变"


def test_each_obr_group_of_an_oru_becomes_its_own_report():
    second = [("OBR", {1: "2", 3: "FO2", 4: "GLU^葡萄糖^LOCAL", 7: "20261123083000"}),
              ("OBX", {1: "1", 2: "NM", 3: "GLU^葡萄糖^LOCAL", 5: "5.2", 11: "F"}),
              ("OBX", {1: "2", 2: "NM", 3: "GLU2^餐后血糖^LOCAL", 5: "7.1", 11: "P"})]
    records, _ = _map(oru() + second)
    assert [r.report_id for r in records] == ["FO2026112300001", "FO2"]
    assert [o.status for o in records[1].observations] == ["F", "P"]
    assert records[0].patient is records[1].patient


@pytest.mark.parametrize("vtype, value, expected", [
    ("SN", "<^0.5", "<0.5"),
    ("SN", "^1^:^128", "1:128"),
    ("ST", "阴性(-)", "阴性(-)"),
    ("FT", r"第一行\.br\第二行", "第一行\n第二行"),
    ("TX", "行一~行二", "行一\n行二"),
    ("CWE", "260385009^Negative^SCT", "260385009 Negative"),
    ("NM", "-0.5", "-0.5"),
    ("DT", "20261123", "20261123"),
])
def test_obx_values_are_rendered_by_value_type(vtype, value, expected):
    draft = setf(setf(oru(), "OBX", 2, vtype, 1), "OBX", 5, value, 1)
    record, _ = _one(draft)
    assert record.observations[0].value == expected


@pytest.mark.parametrize("field, value, code, component", [
    (5, "abc", 102, None),
    (5, "<0.5", 102, None),
    (5, "1,000", 102, None),
    (5, "12\\X4", 102, None),
    (3, "", 101, None),
    (11, "", 101, None),
    (11, "Q", 103, None),
    (14, "yesterday", 102, None),
    (1, "one", 102, None),
    (2, "", 101, None),
])
def test_obx_content_errors_name_the_obx_occurrence_and_field(field, value, code, component):
    e = _error(setf(oru(), "OBX", field, value, 4))
    assert (e.code, e.segment, e.segment_seq, e.field, e.component) == (
        code, "OBX", 4, field, component)


def test_a_structured_numeric_with_a_bad_number_names_the_component():
    e = _error(setf(setf(oru(), "OBX", 2, "SN", 2), "OBX", 5, "<^abc", 2))
    assert (e.code, e.segment_seq, e.field, e.component) == (102, 2, 5, 2)


@pytest.mark.parametrize("field, value, code", [
    (3, "", 101), (4, "", 101), (7, "", 101), (7, "2026112", 102),
])
def test_obr_content_errors_name_the_obr_field(field, value, code):
    e = _error(setf(oru(), "OBR", field, value))
    assert (e.code, e.segment, e.field) == (code, "OBR", field)


def test_abnormal_flags_and_value_types_outside_their_tables_are_flagged_not_rejected():
    draft = setf(setf(oru(), "OBX", 8, "ZZ", 3), "OBX", 2, "XYZ", 12)
    record, issues = _one(draft)
    assert record.observations[2].abnormal_flag == "ZZ"
    assert record.observations[11].value_type == "XYZ"
    assert [(i.code, i.location, i.details) for i in issues] == [
        ("unmapped-code", "OBX-8", {"value": "ZZ", "occurrence": "3"}),
        ("unmapped-code", "OBX-2", {"value": "XYZ", "occurrence": "12"}),
    ]


def test_orm_orders_become_one_order_record_per_orc_with_their_items():
    records, issues = _map(orm())
    assert issues == [] and all(isinstance(r, OrderRecord) for r in records)
    first, second = records
    assert (first.placer_order_id, first.control, first.visit_number) == (
        "PO2026112300001", "NW", "V20261123001")
    assert first.items == (Code("CT001", "LOCAL", "胸部CT平扫"),)
    assert second.items == (Code("CBC", "LOCAL", "血常规"), Code("CRP", "LOCAL", "C反应蛋白"))
    assert second.ordered_at == datetime(2026, 11, 23, 10, 5, tzinfo=CHINA_TZ)


def test_oml_maps_like_orm():
    records, _ = _map(orm("OML^O21^OML_O21"))
    assert [r.placer_order_id for r in records] == ["PO2026112300001", "PO2026112300002"]


def test_order_fallbacks_use_obr2_for_the_placer_and_obr6_for_the_time():
    draft = setf(setf(orm(), "ORC", 2, "", 1), "ORC", 9, "", 1)
    draft = setf(draft, "OBR", 6, "20261123120000", 1)
    first = _map(draft)[0][0]
    assert first.placer_order_id == "PO2026112300001"
    assert first.ordered_at == datetime(2026, 11, 23, 12, 0, tzinfo=CHINA_TZ)


@pytest.mark.parametrize("segment, field, value, code, expected_field", [
    ("ORC", 1, "", 101, 1),
    ("ORC", 1, "ZZ", 103, 1),
    ("ORC", 9, "2026-11-23", 102, 9),
    ("OBR", 4, "", 101, 4),
])
def test_order_content_errors_name_segment_and_field(segment, field, value, code, expected_field):
    e = _error(setf(orm(), segment, field, value))
    assert (e.code, e.segment, e.field) == (code, segment, expected_field)


def test_an_order_without_placer_number_or_time_anywhere_is_rejected():
    no_placer = setf(setf(orm(), "ORC", 2, "", 1), "OBR", 2, "", 1)
    assert (_error(no_placer).code, _error(no_placer).field) == (101, 2)
    no_time = setf(orm(), "ORC", 9, "", 1)
    assert (_error(no_time).code, _error(no_time).field) == (101, 9)


def test_an_order_message_without_pid_is_rejected_by_the_mapping():
    e = _error(drop(orm(), "PID"))
    assert (e.code, e.segment) == (100, "PID")


def test_unsupported_messages_are_refused_by_the_mapping_too():
    e = _error([msh("ADT^A02"), pid()])
    assert (e.code, e.ack_code) == (201, "AR")
    e = _error([msh("SIU^S12"), pid()])
    assert (e.code, e.ack_code) == (200, "AR")


def test_warnings_convert_to_severity_w_errors_for_the_ack():
    _, issues = _one(setf(setf(oru(), "OBX", 8, "ZZ", 3), "PID", 8, "X"))
    warnings = issues_as_warnings(issues)
    assert [(w.severity, w.code, w.segment, w.segment_seq, w.field) for w in warnings] == [
        ("W", 103, "PID", 1, 8), ("W", 103, "OBX", 3, 8)]


def test_warnings_and_errors_never_carry_patient_identifiers():
    draft = setf(setf(adt(), "PID", 8, "张三丰"), "PID", 19, "110105194912310021")
    draft = setf(draft, "PID", 3, "MRN000123^^^H001^MR")
    _, issues = _one(draft)
    text = repr(issues)
    for secret in ("MRN000123", "110105194912310021", "13800000000"):
        assert secret not in text
    e = _error(setf(adt(), "PID", 7, "张三丰"))
    assert "张" not in e.reason and "PID-7" in e.reason


def test_injection_text_in_free_fields_is_kept_verbatim_as_data():
    hostile = "Robert'); DROP TABLE patients;--<script>alert(1)</script>"
    record, issues = _one(setf(adt(), "PID", 5, hostile))
    assert record.patient.name == hostile and issues == []


def test_mapping_does_not_need_the_message_to_have_been_checked_first():
    records, _ = _map(pid_only := [msh("ADT^A01"), pid(), ("PV1", {2: "I", 19: "V1"})])
    assert records[0].visit_number == "V1" and pid_only
