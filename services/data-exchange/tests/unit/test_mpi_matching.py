"""Comparators, scoring, blocking keys and match decisions of the master patient index (synthetic people)."""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from data_exchange.domain.clinical import PatientIdentity, Sex
from data_exchange.domain.mpi import (
    Agreement,
    AlliancePatient,
    DecisionKind,
    IdentifierProtector,
    IncomingIdentity,
    InvalidIdentity,
    MatchConfig,
    MatchDecision,
    NationalIdStatus,
    PatientCandidate,
    blocking_keys,
    compare_birth_dates,
    compare_hashes,
    compare_names,
    compare_sex,
    decide,
    jaro,
    jaro_winkler,
    normalise_name,
    resident_id_check_char,
    score,
)

PROTECTOR = IdentifierProtector(b"synthetic-test-key-0123456789abcdef")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def make_id(region: str, born: date, sequence: str) -> str:
    """A well-formed synthetic resident ID number."""
    first17 = f"{region}{born:%Y%m%d}{sequence}"
    return first17 + resident_id_check_char(first17)


def incoming(mrn: str = "A-001", hospital: str = "H001", **kw) -> IncomingIdentity:
    return IncomingIdentity.from_patient(PatientIdentity(mrn=mrn, **kw), hospital, PROTECTOR)


def stored(patient_id: str, *, links: frozenset = frozenset(), **kw) -> PatientCandidate:
    return replace(AlliancePatient.from_incoming(patient_id, incoming(**kw)).as_candidate(), hospital_mrns=links)


AYGUL = dict(name="阿依古丽·买买提", birth_date=date(1978, 7, 7), sex=Sex.FEMALE, phone="13912345678")


# --- comparators ------------------------------------------------------------------------------


def test_names_normalise_full_width_spacing_middle_dots_and_case():
    assert normalise_name(" 阿依古丽 · 买买提 ") == "阿依古丽买买提"
    assert normalise_name("阿依古丽•买买提") == "阿依古丽买买提"
    assert normalise_name("ＺＨＡＮＧ　Sanfeng") == "zhangsanfeng"
    assert normalise_name("  ") is None


def test_jaro_winkler_matches_the_published_reference_values():
    assert jaro("martha", "marhta") == pytest.approx(0.9444, abs=1e-4)
    assert jaro_winkler("martha", "marhta") == pytest.approx(0.9611, abs=1e-4)
    assert jaro_winkler("dwayne", "duane") == pytest.approx(0.84, abs=1e-4)
    assert jaro_winkler("dixon", "dicksonx") == pytest.approx(0.8133, abs=1e-4)


def test_jaro_winkler_works_on_chinese_characters():
    assert jaro_winkler("张三丰", "张三丰") == 1.0
    assert jaro_winkler("张三丰", "张三风") == pytest.approx(0.8222, abs=1e-4)
    assert jaro_winkler("阿依古丽买买提", "阿依古丽买卖提") == pytest.approx(0.9429, abs=1e-4)
    assert jaro_winkler("张三丰", "") == 0.0


@pytest.mark.parametrize("a, b, outcome, note", [
    ("张三丰", "张 三 丰", Agreement.AGREE, "exact"),
    ("阿依古丽·买买提", "阿依古丽买买提", Agreement.AGREE, "exact"),
    ("Zhang Sanfeng", "zhang sanfeng", Agreement.AGREE, "exact"),
    ("阿依古丽·买买提", "阿依古丽·买卖提", Agreement.PARTIAL, "Jaro-Winkler 0.94"),
    ("Zhang Sanfeng", "Zhang Sanfneg", Agreement.PARTIAL, "Jaro-Winkler 0.98"),
    ("张三丰", "张三风", Agreement.DISAGREE, ""),
    ("张三丰", "王小明", Agreement.DISAGREE, ""),
    ("张三丰", None, Agreement.MISSING, ""),
    ("无名氏3号", "无名氏3号", Agreement.MISSING, "placeholder"),
])
def test_the_name_comparator_grades_exact_partial_and_disagreeing_names(a, b, outcome, note):
    result = compare_names(a, b)
    assert (result.outcome, result.note) == (outcome, note)


def test_the_name_partial_threshold_is_configurable():
    lenient = MatchConfig(name_partial_threshold=0.8)
    assert compare_names("张三丰", "张三风", lenient).outcome is Agreement.PARTIAL


@pytest.mark.parametrize("a, b, outcome, note", [
    (date(1949, 12, 31), date(1949, 12, 31), Agreement.AGREE, ""),
    (date(1949, 12, 31), date(1949, 12, 30), Agreement.PARTIAL, "one component differs"),
    (date(1949, 12, 31), date(1949, 11, 30), Agreement.DISAGREE, ""),
    (date(1949, 12, 31), date(1994, 12, 31), Agreement.PARTIAL, "one component differs"),
    (date(1978, 7, 8), date(1978, 8, 7), Agreement.PARTIAL, "day and month transposed"),
    (date(1978, 7, 8), date(1980, 3, 15), Agreement.DISAGREE, ""),
    (date(1978, 7, 8), None, Agreement.MISSING, ""),
])
def test_the_birth_date_comparator_grades_exact_partial_and_disagreeing_dates(a, b, outcome, note):
    result = compare_birth_dates(a, b)
    assert (result.outcome, result.note) == (outcome, note)


@pytest.mark.parametrize("a, b, outcome", [
    (Sex.MALE, Sex.MALE, Agreement.AGREE),
    (Sex.MALE, Sex.FEMALE, Agreement.DISAGREE),
    (Sex.OTHER, Sex.OTHER, Agreement.AGREE),
    (Sex.UNKNOWN, Sex.FEMALE, Agreement.MISSING),
])
def test_the_sex_comparator_treats_unknown_as_missing(a, b, outcome):
    assert compare_sex(a, b).outcome is outcome


def test_the_hash_comparator_agrees_disagrees_or_is_missing():
    assert compare_hashes("aa", "aa").outcome is Agreement.AGREE
    assert compare_hashes("aa", "bb").outcome is Agreement.DISAGREE
    assert compare_hashes(None, "bb").outcome is Agreement.MISSING


# --- protected identities ------------------------------------------------------------------------


def test_an_incoming_identity_carries_hashes_and_masks_but_no_clear_identifiers():
    nid = make_id("650102", date(1978, 7, 7), "324")
    identity = incoming(national_id=nid, insurance_number="YB-2026-0001", **AYGUL)
    assert identity.national_id_status is NationalIdStatus.VALID
    assert identity.national_id_hash == PROTECTOR.hash("national_id", nid)
    assert identity.national_id_masked == "650102********3245"
    assert identity.phone_hash == PROTECTOR.hash("phone", "13912345678")
    assert identity.phone_masked == "139****5678"
    assert identity.insurance_hash == PROTECTOR.hash("insurance_number", "YB-2026-0001")
    text = repr(identity)
    assert nid not in text and "13912345678" not in text and "YB-2026-0001" not in text


def test_an_id_failing_the_checksum_is_kept_masked_but_not_used_for_matching():
    identity = incoming(national_id="650102197807073240", **AYGUL)
    assert identity.national_id_status is NationalIdStatus.INVALID
    assert identity.national_id_hash is None
    assert identity.national_id_masked == "650102********3240"


def test_a_guardians_id_sent_for_a_newborn_is_not_used_for_matching():
    mothers_id = make_id("330106", date(1995, 8, 15), "202")
    newborn = incoming(national_id=mothers_id, name="王小明", birth_date=date(2026, 11, 20), sex=Sex.MALE)
    assert newborn.national_id_status is NationalIdStatus.BIRTH_DATE_MISMATCH
    assert newborn.national_id_hash is None


def test_an_id_whose_birth_date_differs_from_the_sent_one_by_one_component_is_still_used():
    nid = make_id("650102", date(1978, 7, 7), "324")
    typo = incoming(national_id=nid, **{**AYGUL, "birth_date": date(1978, 7, 17)})
    assert typo.national_id_status is NationalIdStatus.VALID


def test_a_placeholder_phone_is_treated_as_no_phone():
    assert incoming(phone="13800138000").phone_hash is None


@pytest.mark.parametrize("mrn, hospital, field", [(" ", "H001", "mrn"), ("A-001", "", "hospital")])
def test_an_identity_needs_a_hospital_and_an_mrn(mrn, hospital, field):
    with pytest.raises(InvalidIdentity) as err:
        incoming(mrn=mrn, hospital=hospital)
    assert err.value.field_name == field


# --- blocking ----------------------------------------------------------------------------------


def test_blocking_keys_cover_phone_birth_date_and_name_with_year_and_with_month_day():
    identity = incoming(**AYGUL)
    assert blocking_keys(identity) == {
        f"phone:{identity.phone_hash}",
        "dob:1978-07-07",
        "name-yob:阿依古丽买买提|1978",
        "name-md:阿依古丽买买提|07-07",
    }


def test_a_stored_patient_gets_the_same_keys_as_the_identity_it_was_created_from():
    identity = incoming(**AYGUL)
    assert blocking_keys(AlliancePatient.from_incoming("P1", identity)) == blocking_keys(identity)


@pytest.mark.parametrize("changes", [
    {"birth_date": date(1978, 7, 17), "phone": None},         # day typo: shares name-yob
    {"birth_date": date(1987, 7, 7), "phone": None},          # year typo: shares name-md
    {"name": "阿依古丽·买卖提", "phone": None},                  # name typo: shares dob
    {"name": "阿依古丽·买卖提", "birth_date": date(1987, 7, 7)},  # two typos: shares phone
])
def test_one_typo_in_each_field_still_shares_a_blocking_key(changes):
    stored_keys = blocking_keys(incoming(**AYGUL))
    assert blocking_keys(incoming(**{**AYGUL, **changes})) & stored_keys


def test_without_a_birth_date_the_bare_name_is_the_key_and_placeholders_give_no_name_key():
    assert blocking_keys(incoming(name="张三丰")) == {"name:张三丰"}
    assert blocking_keys(incoming(name="无名氏", birth_date=date(1980, 1, 1))) == {"dob:1980-01-01"}


# --- scoring -------------------------------------------------------------------------------------


def test_a_score_has_a_part_per_field_and_human_reasons():
    result = score(incoming(**AYGUL), stored("P1", **AYGUL))
    assert result.parts == {"name": 13.0, "birth_date": 14.0, "sex": 1.0, "phone": 16.0, "national_id": 0.0}
    assert result.total == 44.0
    assert result.reasons == ("name agrees (exact)", "birth date agrees", "sex agrees", "phone agrees",
                              "national ID missing")


def test_different_national_ids_weigh_strongly_against_a_match():
    a = incoming(national_id=make_id("650102", date(1978, 7, 7), "324"), **AYGUL)
    b = stored("P1", national_id=make_id("650102", date(1978, 7, 7), "246"), **AYGUL)
    result = score(a, b)
    assert result.parts["national_id"] == -20.0
    assert result.national_id_conflict
    assert "national ID disagrees" in result.reasons


# The scenario table of the module docstring, checked against the code with the default configuration.
@pytest.mark.parametrize("changes, total, kind", [
    ({}, 44.0, DecisionKind.LINK_PROBABILISTIC),
    ({"name": "阿依古丽·买卖提"}, 38.0, DecisionKind.LINK_PROBABILISTIC),
    ({"birth_date": date(1978, 7, 8)}, 33.0, DecisionKind.LINK_PROBABILISTIC),
    ({"name": None}, 31.0, DecisionKind.REVIEW),
    ({"birth_date": None}, 30.0, DecisionKind.REVIEW),
    ({"phone": None}, 28.0, DecisionKind.REVIEW),
    ({"name": "阿依古丽·吐尔逊"}, 27.0, DecisionKind.REVIEW),
    ({"phone": "13698765432"}, 26.5, DecisionKind.REVIEW),
    ({"birth_date": date(1980, 3, 15)}, 24.5, DecisionKind.REVIEW),
    ({"sex": Sex.MALE, "phone": "13698765432"}, 20.0, DecisionKind.NEW),
    ({"name": "阿依古丽·吐尔逊", "birth_date": date(1980, 3, 15)}, 7.5, DecisionKind.NEW),
])
def test_the_documented_scenarios_score_and_decide_as_documented(changes, total, kind):
    decision = decide(incoming(**{**AYGUL, **changes}), by_national_id=None, by_mrn=None,
                      candidates=[stored("P1", **AYGUL)])
    assert (decision.score, decision.kind) == (total, kind)


# --- decisions -----------------------------------------------------------------------------------


def test_an_mrn_already_linked_links_to_its_patient():
    decision = decide(incoming(**AYGUL), by_national_id=None, by_mrn="P1", candidates=[])
    assert decision.kind is DecisionKind.LINK_EXISTING_MRN
    assert decision.patient_id == "P1" and decision.is_link


def test_a_candidate_already_holding_this_hospitals_mrn_counts_as_the_mrn_hit():
    decision = decide(incoming(**AYGUL), by_national_id=None, by_mrn=None,
                      candidates=[stored("P1", links=frozenset({("H001", "A-001")}), **AYGUL)])
    assert (decision.kind, decision.patient_id, decision.score) == (DecisionKind.LINK_EXISTING_MRN, "P1", 44.0)


def test_an_mrn_and_a_national_id_pointing_at_different_patients_go_to_review():
    identity = incoming(national_id=make_id("650102", date(1978, 7, 7), "324"), **AYGUL)
    decision = decide(identity, by_national_id="P2", by_mrn="P1", candidates=[stored("P1", **AYGUL)])
    assert decision.kind is DecisionKind.REVIEW and decision.patient_id is None
    assert "MRN and national ID point at different patients" in decision.reasons
    assert [(c.patient_id, c.score) for c in decision.candidates] == [("P1", 44.0), ("P2", None)]


def test_an_mrn_held_by_two_patients_goes_to_review():
    decision = decide(incoming(**AYGUL), by_national_id=None, by_mrn="P1",
                      candidates=[stored("P2", links=frozenset({("H001", "A-001")}), **AYGUL)])
    assert decision.kind is DecisionKind.REVIEW
    assert "MRN is linked to more than one patient" in decision.reasons


def test_an_mrn_whose_patient_has_another_national_id_goes_to_review():
    identity = incoming(national_id=make_id("650102", date(1978, 7, 7), "324"), **AYGUL)
    other = stored("P1", national_id=make_id("650102", date(1978, 7, 7), "246"), **AYGUL)
    decision = decide(identity, by_national_id=None, by_mrn="P1", candidates=[other])
    assert decision.kind is DecisionKind.REVIEW
    assert "national ID differs from the patient already linked to this MRN" in decision.reasons


def test_a_known_national_id_links_deterministically():
    identity = incoming(national_id=make_id("650102", date(1978, 7, 7), "324"), **AYGUL)
    decision = decide(identity, by_national_id="P7", by_mrn=None, candidates=[])
    assert (decision.kind, decision.patient_id, decision.score) == (DecisionKind.LINK_NATIONAL_ID, "P7", None)
    assert "national ID matches an existing patient" in decision.reasons


def test_a_deterministic_link_notes_when_demographics_differ_markedly():
    nid = make_id("650102", date(1978, 7, 7), "324")
    identity = incoming(national_id=nid, **AYGUL)
    drifted = stored("P7", national_id=nid, name="王小明", birth_date=date(1978, 7, 7), sex=Sex.MALE)
    decision = decide(identity, by_national_id="P7", by_mrn=None, candidates=[drifted])
    assert decision.kind is DecisionKind.LINK_NATIONAL_ID
    assert any(r.startswith("demographics differ markedly") for r in decision.reasons)


def test_no_candidates_means_a_new_patient():
    decision = decide(incoming(**AYGUL), by_national_id=None, by_mrn=None, candidates=[])
    assert decision == MatchDecision(DecisionKind.NEW, reasons=["national ID not sent",
                                                                "no candidates share a blocking key"])


def test_a_typo_in_the_name_with_the_same_birth_date_and_phone_links_probabilistically():
    decision = decide(incoming(hospital="H002", mrn="B-77", **{**AYGUL, "name": "阿依古丽·买卖提"}),
                      by_national_id=None, by_mrn=None, candidates=[stored("P1", **AYGUL)])
    assert (decision.kind, decision.patient_id, decision.score) == (DecisionKind.LINK_PROBABILISTIC, "P1", 38.0)
    assert "name partially agrees (Jaro-Winkler 0.94)" in decision.reasons
    assert decision.reasons[-1] == "best score 38 >= auto-link threshold 32, the only candidate"


def test_one_wrong_character_in_a_short_name_goes_to_review_not_to_a_link():
    twin = dict(birth_date=date(2015, 5, 20), sex=Sex.FEMALE, phone="13712345678")
    decision = decide(incoming(name="张欣怡", **twin), by_national_id=None, by_mrn=None,
                      candidates=[stored("P-SISTER", name="张欣悦", **twin)])
    assert (decision.kind, decision.score) == (DecisionKind.REVIEW, 27.0)


def test_twins_are_told_apart_when_both_are_on_file():
    twin = dict(birth_date=date(2015, 5, 20), sex=Sex.FEMALE, phone="13712345678")
    decision = decide(incoming(name="张欣怡", **twin), by_national_id=None, by_mrn=None,
                      candidates=[stored("P-SISTER", name="张欣悦", **twin), stored("P-SELF", name="张欣怡", **twin)])
    assert (decision.kind, decision.patient_id) == (DecisionKind.LINK_PROBABILISTIC, "P-SELF")
    assert [c.patient_id for c in decision.candidates] == ["P-SELF", "P-SISTER"]


def test_same_name_and_birth_date_with_a_different_phone_and_sex_is_a_new_patient():
    """Sex disagrees in ~1% of true matches and phone in ~35%, so the odds fall to ~1:9: below review."""
    decision = decide(incoming(**{**AYGUL, "sex": Sex.MALE, "phone": "13698765432"}),
                      by_national_id=None, by_mrn=None, candidates=[stored("P1", **AYGUL)])
    assert decision.kind is DecisionKind.NEW and decision.candidates == []
    assert {"name agrees (exact)", "birth date agrees", "sex disagrees", "phone disagrees"} <= set(decision.reasons)


def test_same_name_and_birth_date_with_only_a_different_phone_goes_to_review():
    decision = decide(incoming(**{**AYGUL, "phone": "13698765432"}), by_national_id=None, by_mrn=None,
                      candidates=[stored("P1", **AYGUL)])
    assert decision.kind is DecisionKind.REVIEW
    assert [(c.patient_id, c.score) for c in decision.candidates] == [("P1", 26.5)]


def test_two_candidates_too_close_go_to_review_with_both():
    decision = decide(incoming(**AYGUL), by_national_id=None, by_mrn=None,
                      candidates=[stored("P2", **AYGUL), stored("P1", **{**AYGUL, "birth_date": date(1978, 7, 8)}),
                                  stored("P3", **AYGUL)])
    assert decision.kind is DecisionKind.REVIEW
    assert [(c.patient_id, c.score) for c in decision.candidates] == [("P2", 44.0), ("P3", 44.0), ("P1", 33.0)]
    assert any("candidates too close" in r for r in decision.reasons)


def test_a_clear_lead_over_a_runner_up_beyond_the_margin_links():
    decision = decide(incoming(**AYGUL), by_national_id=None, by_mrn=None,
                      candidates=[stored("P1", **AYGUL), stored("P2", **{**AYGUL, "phone": None})])
    assert (decision.kind, decision.patient_id) == (DecisionKind.LINK_PROBABILISTIC, "P1")
    assert decision.reasons[-1] == "best score 44 >= auto-link threshold 32, ahead of the runner-up by 16"


def test_different_national_ids_never_link_automatically_even_with_a_lenient_configuration():
    lenient = MatchConfig(national_id_disagree=-0.5)
    a = incoming(national_id=make_id("650102", date(1978, 7, 7), "324"), **AYGUL)
    b = stored("P1", national_id=make_id("650102", date(1978, 7, 7), "246"), **AYGUL)
    decision = decide(a, by_national_id=None, by_mrn=None, candidates=[b], config=lenient)
    assert (decision.kind, decision.score) == (DecisionKind.REVIEW, 43.5)
    assert any("never linked automatically" in r for r in decision.reasons)
    default = decide(a, by_national_id=None, by_mrn=None, candidates=[b])
    assert (default.kind, default.score) == (DecisionKind.REVIEW, 24.0)


def test_twins_with_different_national_ids_are_new_patients():
    twin = dict(birth_date=date(2015, 5, 20), sex=Sex.FEMALE, phone="13712345678")
    a = incoming(name="张欣怡", national_id=make_id("440301", date(2015, 5, 20), "004"), **twin)
    b = stored("P-SISTER", name="张欣悦", national_id=make_id("440301", date(2015, 5, 20), "005"), **twin)
    decision = decide(a, by_national_id=None, by_mrn=None, candidates=[b])
    assert (decision.kind, decision.score) == (DecisionKind.NEW, 7.0)


def test_the_review_list_is_capped_and_sorted_by_score():
    config = MatchConfig(max_review_candidates=2)
    many = [stored(f"P{i}", **{**AYGUL, "phone": None}) for i in range(5)]
    decision = decide(incoming(**AYGUL), by_national_id=None, by_mrn=None, candidates=many, config=config)
    assert decision.kind is DecisionKind.REVIEW
    assert [c.patient_id for c in decision.candidates] == ["P0", "P1"]


def test_decision_reasons_carry_no_identifiers():
    nid = make_id("650102", date(1978, 7, 7), "324")
    identity = incoming(mrn="MRN-SECRET-9", national_id=nid, **AYGUL)
    for decision in (
        decide(identity, by_national_id=None, by_mrn=None, candidates=[stored("P1", **AYGUL)]),
        decide(identity, by_national_id="P2", by_mrn="P1", candidates=[stored("P1", **AYGUL)]),
    ):
        text = " ".join(decision.reasons) + " ".join(r for c in decision.candidates for r in c.reasons)
        for secret in (nid, nid[-4:], "13912345678", "5678", "阿依古丽", "MRN-SECRET-9", identity.phone_hash,
                       identity.national_id_hash):
            assert secret not in text


def test_the_same_patient_sent_by_two_hospitals_with_one_national_id_becomes_one_patient():
    index = _InMemoryIndex()
    first = index.resolve(PatientIdentity(mrn="A-001", national_id="11010519491231002X", name="张三丰",
                                          birth_date=date(1949, 12, 31), sex=Sex.MALE), "H001")
    second = index.resolve(PatientIdentity(mrn="88123", national_id="110105491231002", name="张 三丰",
                                           birth_date=date(1949, 12, 31), sex=Sex.MALE, phone="13812345678"), "H002")
    again = index.resolve(PatientIdentity(mrn="A-001", name="张三丰"), "H001")
    assert [d.kind for d in index.decisions] == [DecisionKind.NEW, DecisionKind.LINK_NATIONAL_ID,
                                                 DecisionKind.LINK_EXISTING_MRN]
    assert first == second == again
    assert index.patients[first].links == {("H001", "A-001"), ("H002", "88123")}


def test_configurations_with_inconsistent_thresholds_are_refused():
    with pytest.raises(ValueError):
        MatchConfig(review_threshold=40.0)
    with pytest.raises(ValueError):
        MatchConfig(margin=-1.0)
    with pytest.raises(ValueError):
        MatchConfig(national_id_disagree=0.0)


class _InMemoryIndex:
    """What the service does around the pure functions, with dicts instead of PostgreSQL."""

    def __init__(self) -> None:
        self.patients: dict[str, AlliancePatient] = {}
        self.keys: dict[str, set[str]] = {}
        self.decisions: list[MatchDecision] = []

    def resolve(self, identity: PatientIdentity, hospital: str) -> str:
        inc = IncomingIdentity.from_patient(identity, hospital, PROTECTOR)
        by_mrn = next((p.patient_id for p in self.patients.values() if (inc.hospital, inc.mrn) in p.links), None)
        by_nid = next((p.patient_id for p in self.patients.values()
                       if inc.national_id_hash and p.national_id_hash == inc.national_id_hash), None)
        found = set().union(*(self.keys.get(k, set()) for k in blocking_keys(inc)))
        decision = decide(inc, by_national_id=by_nid, by_mrn=by_mrn,
                          candidates=[self.patients[pid].as_candidate() for pid in sorted(found)])
        self.decisions.append(decision)
        if decision.patient_id is None:
            patient = AlliancePatient.from_incoming(f"P{len(self.patients) + 1}", inc)
            self.patients[patient.patient_id] = patient
        else:
            patient = self.patients[decision.patient_id]
        patient.link(inc.hospital, inc.mrn, decision.kind, decision.score, NOW)
        for key in blocking_keys(patient):
            self.keys.setdefault(key, set()).add(patient.patient_id)
        return patient.patient_id
