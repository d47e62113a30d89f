import random

import pytest

from procurement.domain.codes import (
    CodeError,
    Conflict,
    Item,
    LocalMapping,
    RowError,
    UnifiedCode,
    find_conflicts,
    parse_item_csv,
    parse_mapping_csv,
    parse_unified_code,
    validate_insurance_code,
    validate_udi_di,
)

CODE_A, CODE_B, CODE_C = "1401000000010001", "1401000000020001", "1402000000030002"
INSURANCE = "C" + "02010100100100100001000001"
GTIN13 = "4006381333931"


def test_a_unified_code_splits_into_category_feature_and_enterprise():
    assert parse_unified_code("1401020000150023") == UnifiedCode(
        "1401020000150023", "140102", "000015", "0023")


@pytest.mark.parametrize(("raw", "part"), [
    ("140102000015002", "16 digits"), ("14010200001500231", "16 digits"),
    ("14010200001500A3", "16 digits"), ("１４０１０２００００１５００２３", "16 digits"),
    (" 401020000150023", "16 digits"), ("", "16 digits"),
    ("0000000000150023", "category"), ("1401020000150000", "enterprise"),
])
def test_malformed_unified_codes_are_refused_naming_the_wrong_part(raw, part):
    with pytest.raises(CodeError) as err:
        parse_unified_code(raw)
    assert err.value.field == "unified_code"
    assert part in err.value.message


def test_an_insurance_consumables_code_is_c_and_26_digits():
    assert len(INSURANCE) == 27
    assert validate_insurance_code(INSURANCE) == INSURANCE


@pytest.mark.parametrize("raw", [INSURANCE[:-1], INSURANCE + "0", "c" + INSURANCE[1:],
                                 "C" + "0" * 25 + "X", "D" + INSURANCE[1:]])
def test_malformed_insurance_codes_are_refused(raw):
    with pytest.raises(CodeError) as err:
        validate_insurance_code(raw)
    assert err.value.field == "insurance_code"


@pytest.mark.parametrize("raw", ["96385074", "036000291452", GTIN13, "06901234567892",
                                 "10012345678902"])
def test_gs1_gtins_with_a_correct_check_digit_are_accepted(raw):
    assert validate_udi_di(raw) == raw


@pytest.mark.parametrize("raw", ["96385075", "036000291453", "4006381333932", "06901234567891"])
def test_gs1_gtins_with_a_wrong_check_digit_are_refused(raw):
    with pytest.raises(CodeError) as err:
        validate_udi_di(raw)
    assert (err.value.field, "check digit" in err.value.message) == ("udi_di", True)


@pytest.mark.parametrize("raw", ["A123PROD01", "H7231234567890", "12345",
                                 "W1234ABCDE0123456789XYZ12"])
def test_other_agencies_udi_dis_are_upper_case_alphanumerics_without_check_digit(raw):
    assert validate_udi_di(raw) == raw


@pytest.mark.parametrize("raw", ["", "a123prod01", "+A123PROD01", "A" * 26, "A12 3"])
def test_malformed_udi_dis_are_refused(raw):
    with pytest.raises(CodeError):
        validate_udi_di(raw)


ITEM_HEADER = "unified_code,name,specification,manufacturer,base_unit,insurance_code,udi_di"


def test_a_catalog_file_with_bom_and_crlf_parses_into_items_with_canonical_base_units():
    text = "\ufeff" + "\r\n".join([
        ITEM_HEADER,
        f"{CODE_A},一次性使用无菌注射器,5ml,Maker A,支,{INSURANCE},{GTIN13}",
        f'{CODE_B},"Gauze, sterile",10cm x 10cm,Maker B,piece,,',
        "",
    ])
    items, errors = parse_item_csv(text)
    assert errors == []
    assert items == [
        Item(CODE_A, "一次性使用无菌注射器", "5ml", "Maker A", "each", INSURANCE, GTIN13),
        Item(CODE_B, "Gauze, sterile", "10cm x 10cm", "Maker B", "each", None, None),
    ]


def test_every_bad_field_becomes_a_row_error_and_good_rows_still_import():
    text = "\n".join([
        ITEM_HEADER,
        f"{CODE_A},Syringe,5ml,Maker A,each,,",
        "0000000000010001,Syringe,,Maker A,box,C123,4006381333932",
        "",
        f"{CODE_A},Syringe again,5ml,Maker A,each,,",
        f"{CODE_C},Only three,columns",
        f"{CODE_C},Saline,500ml,Maker C,mL,,",
    ])
    items, errors = parse_item_csv(text)
    assert [i.code for i in items] == [CODE_A, CODE_C]
    assert items[1].base_unit == "ml"
    assert [(e.row, e.field) for e in errors] == [
        (3, "unified_code"), (3, "specification"), (3, "base_unit"), (3, "insurance_code"),
        (3, "udi_di"), (5, "unified_code"), (6, "row")]
    assert errors[5].message == "duplicate of line 2"


def test_line_numbers_follow_the_file_even_with_quoted_newlines():
    text = f'{ITEM_HEADER}\n{CODE_A},"Two\nline name",s,m,each,,\n{CODE_B},n,s,m,crate,,\n'
    items, errors = parse_item_csv(text)
    assert [i.name for i in items] == ["Two\nline name"]
    assert errors == [RowError(4, "base_unit", "unknown unit 'crate'")]


@pytest.mark.parametrize(("header", "words"), [
    (ITEM_HEADER.removesuffix(",udi_di"), ["missing", "udi_di"]),
    (ITEM_HEADER + ",colour", ["unknown", "colour"]),
    ("", ["missing", "unknown"]),
])
def test_a_wrong_header_is_a_row_one_error(header, words):
    items, errors = parse_item_csv(header + "\n" + f"{CODE_A},n,s,m,each,,\n")
    assert items == []
    assert errors and all(e.row == 1 for e in errors)
    assert all(w in " ".join(e.message for e in errors) for w in words)


def test_an_empty_file_is_a_header_error():
    assert parse_item_csv("") == ([], [RowError(1, "header", "file is empty; expected header "
                                                             + ITEM_HEADER)])


def test_a_mapping_file_needs_known_unified_codes_and_unique_local_codes():
    text = "\n".join([
        "local_code,unified_code,local_name,udi_di",
        f"L-001,{CODE_A},注射器 5ml,{GTIN13}",
        f"L-002,{CODE_B},,",
        f"L-003,{CODE_C},Unknown here,",
        f"L-001,{CODE_B},Dup,",
        "L-004,12345,Bad code,",
        f"L-005,{CODE_A},Bad udi,4006381333932",
        f",{CODE_A},No local code,",
    ])
    mappings, errors = parse_mapping_csv(text, "H001", {CODE_A, CODE_B})
    assert mappings == [LocalMapping("H001", "L-001", CODE_A, "注射器 5ml", GTIN13),
                        LocalMapping("H001", "L-002", CODE_B, "", None)]
    assert [(e.row, e.field) for e in errors] == [
        (4, "unified_code"), (5, "local_code"), (6, "unified_code"), (7, "udi_di"),
        (8, "local_code")]
    assert "not in the catalog" in errors[0].message


def item(code, name="Syringe", spec="5ml", maker="Maker A", udi=None, insurance=None):
    return Item(code, name, spec, maker, "each", insurance, udi)


def test_two_catalog_items_sharing_a_udi_di_are_the_same_item_under_different_codes():
    [conflict] = find_conflicts([item(CODE_A, udi=GTIN13), item(CODE_B, "Other", udi="0" + GTIN13)],
                                [])
    assert conflict == Conflict("same_item_different_codes", (CODE_A, CODE_B), (),
                                f"UDI-DI {GTIN13} is carried by 2 unified codes")


def test_two_catalog_items_sharing_an_insurance_code_conflict():
    [conflict] = find_conflicts([item(CODE_A, insurance=INSURANCE),
                                 item(CODE_B, "Other", insurance=INSURANCE)], [])
    assert conflict.kind == "same_item_different_codes"
    assert conflict.unified_codes == (CODE_A, CODE_B)
    assert INSURANCE in conflict.evidence


def test_items_whose_name_spec_and_maker_match_after_normalisation_conflict():
    items = [item(CODE_A, "一次性  注射器", "５ＭＬ", "Maker A"),
             item(CODE_B, "一次性 注射器", "5ml", " maker a ")]
    [conflict] = find_conflicts(items, [])
    assert conflict.unified_codes == (CODE_A, CODE_B)
    assert "'一次性 注射器 / 5ml / maker a'" in conflict.evidence


def test_hospitals_mapping_one_udi_di_to_different_codes_conflict():
    catalog = [item(CODE_A), item(CODE_B, "Other")]
    mappings = [LocalMapping("H2", "X9", CODE_B, udi_di=GTIN13),
                LocalMapping("H1", "L1", CODE_A, udi_di=GTIN13)]
    assert find_conflicts(catalog, mappings) == [Conflict(
        "same_item_different_codes", (CODE_A, CODE_B), ("H1", "H2"),
        f"UDI-DI {GTIN13} is carried by 2 unified codes (mapped by H1 and H2)")]


def test_one_code_carrying_different_udi_dis_is_one_code_for_different_items():
    catalog = [item(CODE_A, udi=GTIN13)]
    mappings = [LocalMapping("H1", "L1", CODE_A, udi_di=GTIN13),
                LocalMapping("H2", "L7", CODE_A, udi_di="96385074")]
    assert find_conflicts(catalog, mappings) == [Conflict(
        "same_code_different_items", (CODE_A,), ("H1", "H2"),
        f"unified code {CODE_A} carries 2 UDI-DIs: 96385074 (H2); {GTIN13} (H1 and catalog)")]


def test_consistent_catalogs_and_mappings_have_no_conflicts():
    catalog = [item(CODE_A, udi=GTIN13, insurance=INSURANCE),
               item(CODE_B, "Gauze", udi="96385074")]
    mappings = [LocalMapping("H1", "L1", CODE_A, udi_di="0" + GTIN13),
                LocalMapping("H2", "L1", CODE_A),
                LocalMapping("H2", "L2", CODE_B, udi_di="96385074")]
    assert find_conflicts(catalog, mappings) == []


def test_conflicts_come_in_the_same_order_whatever_the_input_order():
    catalog = [item(CODE_A, udi=GTIN13), item(CODE_B, udi=GTIN13),
               item(CODE_C, "X", udi="96385074")]
    mappings = [LocalMapping("H1", "L1", CODE_C, udi_di="036000291452"),
                LocalMapping("H2", "L2", CODE_A, udi_di="036000291452")]
    expected = find_conflicts(catalog, mappings)
    assert [c.kind for c in expected] == ["same_item_different_codes"] * 3 + [
        "same_code_different_items"] * 2
    rng = random.Random(1)
    for _ in range(10):
        rng.shuffle(catalog)
        rng.shuffle(mappings)
        assert find_conflicts(catalog, mappings) == expected
