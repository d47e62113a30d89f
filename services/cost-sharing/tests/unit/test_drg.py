import copy
import json
from datetime import date, datetime
from decimal import Decimal

import pytest

from cost_sharing.domain.drg import (
    SAMPLE_RULES_PATH,
    ApprovalError,
    Case,
    CaseError,
    CodePattern,
    CodeSystem,
    DrgError,
    DrgPolicy,
    RuleTableError,
    add_approval,
    dump_rule_table,
    group_case,
    in_stay_status,
    is_approved,
    load_rule_table,
    load_sample_table,
    select_table,
    simulate,
)

TABLE = load_sample_table()


def raw_sample() -> dict:
    return json.loads(SAMPLE_RULES_PATH.read_text(encoding="utf-8"))


def case(principal="I21.900", procedures=("36.06",), secondary=(), *, case_id="C1",
         hospital="H002", department="cardiology", payer="default", los=5,
         cost=1_000_000) -> Case:
    return Case(case_id, hospital, department, payer, principal, tuple(secondary),
                tuple(procedures), los, cost)


def layers(grouping) -> set[str]:
    return {step.layer for step in grouping.path}


def text(grouping) -> str:
    return "\n".join(f"{s.rule} {s.decision}" for s in grouping.path)


# --------------------------------------------------------------------------- the document's example


def test_the_documents_example_groups_to_a_pci_drg_with_rw_1_5_paid_1275000_fen():
    g = group_case(TABLE, case())
    assert (g.mdc, g.adrg, g.drg, g.severity) == ("MDCF", "FM1", "FM15", "none")
    assert g.relative_weight == Decimal("1.5")
    assert g.base_rate == Decimal("8500.00")
    assert g.payment_fen == 1_275_000
    assert g.standard_cost_fen == 1_275_000
    assert g.ungroupable_reason is None
    assert g.table_version == 1


def test_the_examples_path_shows_mdc_surgical_adrg_severity_and_payment_arithmetic():
    path = group_case(TABLE, case()).path
    rules = [s.rule for s in path]
    assert rules[:5] == ["mdc:MDCF", "adrg:FM1", "severity", "drg:FM15", "payment"]
    assert "I21.900" in path[0].decision and "Circulatory" in path[0].decision
    assert "36.06" in path[1].decision and "36.0*" in path[1].decision
    assert "surgical" in path[1].decision
    assert "no CC/MCC" in path[2].decision
    assert "1.5 × base rate 8500.00 yuan" in path[4].decision
    assert "1275000 fen" in path[4].decision


@pytest.mark.parametrize("c", [
    case(),
    case(secondary=("J96.000",)),
    case("I50.900", procedures=()),
    case(los=75),
    case(hospital="H001"),
    case("I21.900", procedures=("99.10",)),
    case("K35.800", procedures=("47.01",)),
])
def test_every_grouping_has_a_path_through_all_three_layers(c):
    g = group_case(TABLE, c)
    assert g.drg is not None
    assert g.path
    assert layers(g) == {"base", "hospital", "exception"}
    assert all(step.decision for step in g.path)


# --------------------------------------------------------------------------- base layer


def test_a_medical_case_groups_by_principal_diagnosis_when_no_surgical_adrg_matches():
    g = group_case(TABLE, case("I50.900", procedures=("88.72",)))
    assert (g.adrg, g.drg) == ("FR1", "FR15")
    assert "no surgical ADRG" in g.path[1].decision and "88.72" in g.path[1].decision


def test_a_surgical_adrg_requires_its_diagnoses_when_it_lists_them():
    appendix = group_case(TABLE, case("K35.800", procedures=("47.01",)))
    gallstone_with_appendectomy = group_case(TABLE, case("K80.200", procedures=("47.01",)))
    assert appendix.adrg == "GB1"
    assert gallstone_with_appendectomy.adrg == "GZ1"
    assert "catch-all" in gallstone_with_appendectomy.path[1].decision


def test_surgical_adrgs_are_tried_in_table_order_as_a_hierarchy():
    g = group_case(TABLE, case(procedures=("36.06", "36.12")))
    assert g.adrg == "FB1"


def test_mcc_beats_cc():
    g = group_case(TABLE, case(secondary=("E11.900", "N17.900")))
    assert (g.drg, g.severity) == ("FM11", "MCC")
    assert g.relative_weight == Decimal("2.2")
    severity = g.path[2].decision
    assert "E11.900 is CC" in severity and "N17.900 is MCC" in severity
    assert severity.endswith("case severity MCC")


def test_a_cc_alone_gives_the_cc_drg():
    g = group_case(TABLE, case(secondary=("E11.900", "E78.500")))
    assert (g.drg, g.severity) == ("FM13", "CC")
    assert "E78.500 is not a CC" in g.path[2].decision


def test_a_cc_excluded_by_the_principals_family_does_not_count():
    g = group_case(TABLE, case(secondary=("I10.x00",)))
    assert g.drg == "FM15"
    decision = g.path[2].decision
    assert "I10.x00 is CC" in decision and "excluded for principal I21.900" in decision
    assert "I20-I25 excludes I10-I15" in decision
    assert decision.endswith("no CC/MCC")


def test_the_same_cc_counts_for_a_principal_outside_the_family():
    g = group_case(TABLE, case("J18.900", procedures=(), secondary=("I10.x00",)))
    assert (g.adrg, g.drg) == ("ES1", "ES13")


def test_a_secondary_in_the_principals_own_category_never_counts():
    g = group_case(TABLE, case("I50.000", procedures=(), secondary=("I50.100",)))
    assert g.drg == "FR15"
    assert "same category as principal" in g.path[2].decision


def test_a_missing_severity_level_falls_back_to_the_next_lower_one():
    g = group_case(TABLE, case(procedures=(), secondary=("E11.900",)))
    assert (g.adrg, g.drg, g.severity) == ("FT1", "FT15", "none")
    assert "falls back to none" in g.path[3].decision


def test_an_adrg_without_a_split_covers_every_case_with_one_drg():
    g = group_case(TABLE, case(procedures=("36.12",), secondary=("N17.900",)))
    assert (g.drg, g.severity) == ("FB19", "none")
    assert "not split by severity" in g.path[3].decision


def test_an_explicit_standard_cost_overrides_rw_times_rate():
    g = group_case(TABLE, case("K80.200", procedures=("51.23",), cost=1_300_000))
    assert g.drg == "GC19"
    assert g.payment_fen == 1_020_000
    assert g.standard_cost_fen == 1_000_000
    assert g.cost_ratio == Decimal("1.3000")


def test_a_payer_without_its_own_rate_is_paid_at_the_default_rate():
    resident = group_case(TABLE, case(payer="urban_rural_resident"))
    unknown = group_case(TABLE, case(payer="commercial"))
    assert resident.base_rate == Decimal("7800.00") and resident.payment_fen == 1_170_000
    assert unknown.base_rate == Decimal("8500.00") and unknown.payment_fen == 1_275_000
    assert "payer commercial has no own rate" in text(unknown)


def test_codes_are_compared_without_dots_or_case():
    assert group_case(TABLE, case(" i21900 ", procedures=("3606",))).drg == "FM15"


def test_unparseable_secondary_and_procedure_codes_are_ignored_and_noted():
    g = group_case(TABLE, case(procedures=("36.06", "??"), secondary=("bad",)))
    assert g.drg == "FM15"
    assert "'??' ignored" in g.path[1].decision
    assert "'bad' ignored" in g.path[2].decision


# --------------------------------------------------------------------------- ungroupable


@pytest.mark.parametrize("principal, reason", [
    ("Z99.999", "matches no MDC"),
    ("not a code", "not a valid ICD-10 code"),
    ("", "not a valid ICD-10 code"),
    ("I61.900", "no ADRG of MDCB"),
])
def test_an_ungroupable_case_pays_nothing_and_says_where_it_stopped(principal, reason):
    g = group_case(TABLE, case(principal, procedures=()))
    assert g.drg is None and g.adrg is None and g.relative_weight is None
    assert g.payment_fen == 0
    assert g.standard_cost_fen is None and g.cost_ratio is None and g.outlier is None
    assert not g.needs_two_approvals
    assert reason in g.ungroupable_reason
    assert g.path and g.path[-1].layer == "base"
    assert "cannot be grouped" in g.path[-1].decision


def test_an_ungroupable_case_with_an_mdc_keeps_the_mdc():
    g = group_case(TABLE, case("I61.900", procedures=()))
    assert g.mdc == "MDCB"
    assert [s.rule for s in g.path] == ["mdc:MDCB", "adrgs"]


@pytest.mark.parametrize("field_name, kwargs", [
    ("total_cost_fen", {"cost": -1}),
    ("los_days", {"los": -1}),
    ("case_id", {"case_id": " "}),
    ("payer", {"payer": ""}),
])
def test_a_malformed_case_is_refused_naming_the_field(field_name, kwargs):
    with pytest.raises(CaseError) as err:
        case(**kwargs)
    assert err.value.field == field_name
    assert isinstance(err.value, ValueError)


def test_codes_given_as_a_plain_string_are_refused():
    with pytest.raises(CaseError) as err:
        Case("C1", "H001", "cardiology", "default", "I21.900", "I10", (), 1, 1)
    assert err.value.field == "secondary_dx"


def test_codes_given_as_a_list_are_kept_as_a_tuple():
    c = Case("C1", "H001", "cardiology", "default", "I21.900", ["I10"], ["36.06"], 1, 1)
    assert c.secondary_dx == ("I10",) and c.procedures == ("36.06",)


# --------------------------------------------------------------------------- hospital layer


def test_the_hospital_layer_changes_the_payment():
    g = group_case(TABLE, case(hospital="H001"))
    assert g.base_rate == Decimal("9350.00")
    assert g.payment_fen == 1_402_500
    assert g.standard_cost_fen == 1_402_500
    step = next(s for s in g.path if s.layer == "hospital")
    assert step.rule == "hospital:H001"
    assert "8500.00 → 9350.00" in step.decision and "1402500 fen" in step.decision


def test_a_hospital_without_rules_records_that_the_base_payment_stands():
    step = next(s for s in group_case(TABLE, case()).path if s.layer == "hospital")
    assert step.rule == "hospital_rules"
    assert "no hospital rule for H002" in step.decision


def test_a_drg_specific_hospital_rule_wins_over_the_hospital_wide_one():
    raw = raw_sample()
    raw["hospital_rules"] = [
        {"hospital_id": "H001", "base_rate": "9350.00", "rw_factor": "1.1"},
        {"hospital_id": "H001", "drg": "FM15", "rw_factor": "0.9"},
    ]
    table = load_rule_table(raw)
    pci = group_case(table, case(hospital="H001"))
    assert pci.relative_weight == Decimal("1.35")
    assert pci.payment_fen == 1_262_250  # 1.35 × 9350.00 yuan
    assert pci.path[5].rule == "hospital:H001, hospital:H001/FM15"
    other = group_case(table, case(hospital="H001", procedures=()))
    assert other.relative_weight == Decimal("0.88")  # FT15 0.8 × 1.1


def test_payment_is_rounded_half_up_to_the_fen():
    raw = raw_sample()
    raw["hospital_rules"] = [{"hospital_id": "H009", "rw_factor": "1.00001"}]
    # 1.5 × 1.00001 × 8500.00 × 100 = 1275012.75 → 1275013
    assert group_case(load_rule_table(raw), case(hospital="H009")).payment_fen == 1_275_013


# --------------------------------------------------------------------------- exception layer


def test_a_long_stay_is_paid_per_diem():
    g = group_case(TABLE, case(los=61, cost=2_000_000))
    assert g.drg == "FM15"
    assert g.payment_fen == 61 * 120_000
    step = next(s for s in g.path if s.rule == "exception:LONG-STAY-60")
    assert step.layer == "exception"
    assert "LOS 61 days > 60" in step.decision and "7320000 fen" in step.decision


def test_a_stay_of_exactly_the_limit_is_not_an_exception():
    g = group_case(TABLE, case(los=60))
    assert g.payment_fen == 1_275_000
    assert "no exception applies" in text(g)


def test_an_assign_drg_exception_needs_every_condition_and_reprices_the_case():
    matched = group_case(TABLE, case(procedures=("99.10",), hospital="H001"))
    assert (matched.adrg, matched.drg, matched.severity) == ("FT1", "FT11", "MCC")
    assert matched.payment_fen == 1_122_000  # 1.2 × 9350.00 yuan, hospital layer re-applied
    rules = [s.rule for s in matched.path]
    assert "drg:FT15" in rules and "exception:AMI-THROMBOLYSIS" in rules
    assert "assigned to DRG FT11 instead of FT15" in text(matched)
    not_mi = group_case(TABLE, case("I20.000", procedures=("99.10",)))
    assert not_mi.drg == "FT15"


def test_an_item_based_exception_pays_the_total_cost():
    raw = raw_sample()
    raw["exceptions"] = [{"id": "RARE", "when": {"principal": ["I21.900"]},
                          "action": "item_based", "reason": "rare case paid by items"}]
    g = group_case(load_rule_table(raw), case(cost=1_999_999))
    assert g.drg == "FM15" and g.payment_fen == 1_999_999
    assert "paid by items" in text(g)


# --------------------------------------------------------------------------- cost check


def test_exactly_130_percent_of_the_standard_needs_no_approval():
    g = group_case(TABLE, case(cost=1_657_500))
    assert g.cost_ratio == Decimal("1.3000")
    assert not g.needs_two_approvals


def test_one_fen_above_130_percent_needs_two_approvals_even_if_the_ratio_rounds_to_1_30():
    g = group_case(TABLE, case(cost=1_657_501))
    assert g.cost_ratio == Decimal("1.3000")
    assert g.needs_two_approvals
    assert "two-person approval required" in g.path[-1].decision


@pytest.mark.parametrize("cost, outlier", [
    (2_550_000, "high"),       # exactly 2.0 × standard
    (2_549_999, None),
    (510_000, "low"),          # exactly 0.4 × standard
    (510_001, None),
    (0, "low"),
])
def test_outlier_boundaries_are_inclusive(cost, outlier):
    assert group_case(TABLE, case(cost=cost)).outlier == outlier


def test_the_policy_thresholds_are_configurable():
    strict = DrgPolicy(approval_above=Decimal("1.0"))
    assert group_case(TABLE, case(cost=1_275_001), strict).needs_two_approvals
    assert not group_case(TABLE, case(cost=1_275_000), strict).needs_two_approvals


def test_an_inconsistent_policy_is_refused():
    with pytest.raises(DrgError) as err:
        DrgPolicy(warn_at=Decimal("1.2"))
    assert err.value.field == "warn_at"
    with pytest.raises(DrgError):
        DrgPolicy(approval_above=1.3)


# --------------------------------------------------------------------------- in-stay monitoring


@pytest.mark.parametrize("accumulated, status", [
    (799_900, "ok"),            # 79.99 %
    (799_999, "ok"),
    (800_000, "warning"),       # 80 %
    (1_099_999, "warning"),
    (1_100_000, "intervention"),  # 110 %
    (5_000_000, "intervention"),
    (0, "ok"),
])
def test_in_stay_status_thresholds_are_exact(accumulated, status):
    assert in_stay_status(accumulated, 1_000_000) == status


def test_in_stay_status_uses_integer_arithmetic_for_awkward_standards():
    # 80 % of 1_275_001 is 1_020_000.8: 1_020_000 is below, 1_020_001 at or above
    assert in_stay_status(1_020_000, 1_275_001) == "ok"
    assert in_stay_status(1_020_001, 1_275_001) == "warning"


@pytest.mark.parametrize("args, field_name", [
    ((-1, 100), "accumulated_cost_fen"),
    ((1, 0), "standard_cost_fen"),
    ((Decimal("1.5"), 100), "accumulated_cost_fen"),
])
def test_in_stay_status_refuses_malformed_amounts(args, field_name):
    with pytest.raises(DrgError) as err:
        in_stay_status(*args)
    assert err.value.field == field_name


# --------------------------------------------------------------------------- two-person approval


def test_two_distinct_approvers_approve_a_case():
    approvals = add_approval((), "insurance-office-director")
    assert not is_approved(approvals)
    approvals = add_approval(approvals, "cardiology-head")
    assert approvals == ("insurance-office-director", "cardiology-head")
    assert is_approved(approvals)


def test_the_same_approver_cannot_approve_twice():
    approvals = add_approval((), "dr-wang")
    with pytest.raises(ApprovalError) as err:
        add_approval(approvals, " dr-wang ")
    assert err.value.field == "approver"
    assert not is_approved(("dr-wang", "dr-wang"))


def test_a_blank_approver_is_refused():
    with pytest.raises(ApprovalError):
        add_approval((), "  ")


# --------------------------------------------------------------------------- simulation


def cohort() -> list[Case]:
    return [
        case(case_id="A1", hospital="H002", department="cardiology"),
        case(case_id="A2", hospital="H002", department="cardiology", secondary=("N17.9",)),
        case(case_id="A3", hospital="H001", department="cardiology", procedures=()),
        case("J18.900", procedures=(), case_id="A4", hospital="H001", department="respiratory"),
        case("Z99.999", procedures=(), case_id="A5", hospital="H002", department="cardiology"),
    ]


def draft_table() -> dict:
    raw = raw_sample()
    raw["version"] = 2
    raw["effective_from"] = "2027-01-01"
    for drg in raw["drgs"]:
        if drg["drg"] == "FM15":
            drg["relative_weight"] = "1.6"
    raw["adrgs"].append({"adrg": "FT2", "mdc": "MDCF", "name": "Acute MI, medical",
                         "kind": "medical", "diagnoses": ["I21"]})
    raw["drgs"].append({"drg": "FT29", "adrg": "FT2", "severity": "none",
                        "relative_weight": "1.0"})
    return raw


def test_a_simulation_shows_per_department_deltas_that_add_up():
    sim = simulate(cohort(), TABLE, load_rule_table(draft_table()))
    assert [(r.hospital_id, r.department) for r in sim.rows] == [
        ("H001", "cardiology"), ("H001", "respiratory"), ("H002", "cardiology")]
    assert sum(r.cases for r in sim.rows) == 5
    assert sim.total_current_fen == sum(r.current_fen for r in sim.rows)
    assert sim.total_draft_fen == sum(r.draft_fen for r in sim.rows)
    assert all(r.delta_fen == r.draft_fen - r.current_fen for r in sim.rows)
    assert sum(delta for *_, delta in sim.changed_cases) == sim.total_delta_fen
    h002 = sim.rows[2]
    assert h002.delta_fen == 85_000  # A1: FM15 1.5 → 1.6 at 8,500 yuan
    assert sim.rows[1].delta_fen == 0


def test_a_simulation_lists_cases_whose_drg_or_payment_changes():
    sim = simulate(cohort(), TABLE, load_rule_table(draft_table()))
    assert sim.changed_cases == (
        ("A1", "FM15", "FM15", 85_000),
        ("A3", "FT15", "FT29", 187_000),  # 0.8 → 1.0 at H001's 9,350 yuan
    )


def test_a_simulation_refuses_duplicate_cases():
    with pytest.raises(CaseError):
        simulate([case(), case()], TABLE, TABLE)


# --------------------------------------------------------------------------- rule tables


def test_the_sample_table_loads_and_says_it_is_a_sample():
    assert SAMPLE_RULES_PATH.name == "sample_drg_rules.json" and SAMPLE_RULES_PATH.exists()
    assert "SAMPLE" in TABLE.label and "not a payer" in TABLE.label
    assert TABLE.effective_from == date(2026, 1, 1)
    assert {m.mdc for m in TABLE.mdcs} == {"MDCB", "MDCE", "MDCF", "MDCG", "MDCI"}
    assert len(TABLE.exceptions) == 2 and len(TABLE.hospital_rules) == 1


def test_a_table_survives_a_round_trip_through_json():
    again = load_rule_table(json.loads(json.dumps(dump_rule_table(TABLE))))
    assert again == TABLE


def test_the_most_specific_mdc_pattern_wins_then_table_order():
    raw = raw_sample()
    raw["mdcs"].append({"mdc": "MDCX", "name": "exact", "icd10": ["I21.900"]})
    raw["mdcs"].append({"mdc": "MDCY", "name": "prefix", "icd10": ["I21.9*"]})
    raw["mdcs"].append({"mdc": "MDCZ", "name": "same prefix later", "icd10": ["I21.9*"]})
    raw["adrgs"].append({"adrg": "XX1", "mdc": "MDCX", "name": "x", "kind": "medical"})
    raw["adrgs"].append({"adrg": "YY1", "mdc": "MDCY", "name": "y", "kind": "medical"})
    raw["adrgs"].append({"adrg": "ZZ1", "mdc": "MDCZ", "name": "z", "kind": "medical"})
    raw["drgs"] += [{"drg": f"{c}9", "adrg": c, "severity": "none", "relative_weight": "1"}
                    for c in ("XX1", "YY1", "ZZ1")]
    table = load_rule_table(raw)
    assert group_case(table, case("I21.900", procedures=())).mdc == "MDCX"
    assert group_case(table, case("I21.901", procedures=())).mdc == "MDCY"
    assert group_case(table, case("I21.000", procedures=())).mdc == "MDCF"


@pytest.mark.parametrize("text, code, matches", [
    ("I21.900", "I21900", True),
    ("I21.900", "I21901", False),
    ("I21", "I21900", True),
    ("I21*", "I22000", False),
    ("I2*", "I25100", True),
    ("I20-I25", "I25900", True),
    ("I20-I25", "I26000", False),
])
def test_icd10_patterns_are_exact_prefix_or_range(text, code, matches):
    assert CodePattern.parse(text, CodeSystem.ICD10, "p").matches(code) is matches


@pytest.mark.parametrize("text, code, matches", [
    ("36.06", "3606", True),
    ("36.0*", "3607", True),
    ("36", "3612", True),
    ("81-84", "8151", True),
    ("81.51", "8154", False),
])
def test_procedure_patterns_use_the_same_syntax(text, code, matches):
    assert CodePattern.parse(text, CodeSystem.ICD9CM3, "p").matches(code) is matches


def broken(mutate) -> RuleTableError:
    raw = raw_sample()
    mutate(raw)
    with pytest.raises(RuleTableError) as err:
        load_rule_table(raw)
    assert isinstance(err.value, ValueError)
    return err.value


@pytest.mark.parametrize("mutate, path", [
    (lambda r: r.pop("version"), "version"),
    (lambda r: r.update(version=0), "version"),
    (lambda r: r.update(effective_from="2026-13-01"), "effective_from"),
    (lambda r: r.update(effective_from=datetime(2026, 1, 1)), "effective_from"),
    (lambda r: r.update(effective_from="9999-12-31"), "effective_from"),
    (lambda r: r.update(effective_from="0001-01-01"), "effective_from"),
    (lambda r: r.update(label=""), "label"),
    (lambda r: r["base_rates"].pop("default"), "base_rates.default"),
    (lambda r: r["base_rates"].update(default=8500.0), "base_rates.default"),
    (lambda r: r["base_rates"].update(default="8500.001"), "base_rates.default"),
    (lambda r: r["mdcs"][2]["icd10"].__setitem__(0, "I25-I20"), "mdcs[2].icd10[0]"),
    (lambda r: r["mdcs"][2]["icd10"].__setitem__(1, "hello"), "mdcs[2].icd10[1]"),
    (lambda r: r["mdcs"][1].update(mdc="MDCB"), "mdcs[1].mdc"),
    (lambda r: r["adrgs"][0].update(mdc="MDCQ"), "adrgs[0].mdc"),
    (lambda r: r["adrgs"][3].update(procedures=[]), "adrgs[3].procedures"),
    (lambda r: r["adrgs"][4]["procedures"].append("3x.1"), "adrgs[4].procedures[1]"),
    (lambda r: r["adrgs"][0].update(kind="other"), "adrgs[0].kind"),
    (lambda r: r["adrgs"][0].update(typo=1), "adrgs[0].typo"),
    (lambda r: r["drgs"][10].update(relative_weight=1.5), "drgs[10].relative_weight"),
    (lambda r: r["drgs"][10].update(relative_weight="-1"), "drgs[10].relative_weight"),
    (lambda r: r["drgs"][10].update(severity="CC"), "drgs[10].severity"),
    (lambda r: r["drgs"][10].update(adrg="QQ1"), "drgs[10].adrg"),
    (lambda r: r["drgs"][10].update(standard_cost_fen="100"), "drgs[10].standard_cost_fen"),
    (lambda r: r["drgs"].pop(10), "adrgs[4]"),
    (lambda r: r["cc_list"][0].update(level="major"), "cc_list[0].level"),
    (lambda r: r["cc_exclusions"][0].update(excludes=[]), "cc_exclusions[0].excludes"),
    (lambda r: r["hospital_rules"][0].update(drg="NOPE"), "hospital_rules[0].drg"),
    (lambda r: r["hospital_rules"][0].pop("base_rate"), "hospital_rules[0]"),
    (lambda r: r["exceptions"][0].update(when={}), "exceptions[0].when"),
    (lambda r: r["exceptions"][0].pop("per_diem_fen"), "exceptions[0].per_diem_fen"),
    (lambda r: r["exceptions"][1].update(drg="NOPE"), "exceptions[1].drg"),
    (lambda r: r["exceptions"][1]["when"]["procedure"].append(""),
     "exceptions[1].when.procedure[1]"),
    (lambda r: r["exceptions"][1].update(id="LONG-STAY-60"), "exceptions[1].id"),
])
def test_a_bad_table_is_refused_naming_the_json_path(mutate, path):
    assert broken(mutate).field == path


def test_a_table_that_is_not_an_object_is_refused():
    with pytest.raises(RuleTableError) as err:
        load_rule_table([])
    assert err.value.field == "$"


def test_keys_starting_with_an_underscore_are_comments():
    raw = raw_sample()
    raw["mdcs"][0]["_note"] = "ignored"
    assert load_rule_table(raw) == TABLE


def test_loading_does_not_modify_its_input():
    raw = raw_sample()
    before = copy.deepcopy(raw)
    load_rule_table(raw)
    assert raw == before


def test_the_table_in_force_is_the_latest_effective_one():
    v2 = load_rule_table(draft_table())
    assert select_table([TABLE, v2], date(2026, 6, 1)) is TABLE
    assert select_table([TABLE, v2], date(2027, 1, 1)) is v2
    assert select_table([TABLE, v2], date(2025, 12, 31)) is None
