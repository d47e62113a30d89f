"""The hospital's Patient of an MRN: built from PIDs, merge links, and what other hospitals see of it."""

from __future__ import annotations

from datetime import date

from data_exchange.domain.clinical import Sex
from data_exchange.fhir import derived, systems
from data_exchange.fhir.patient import (
    Demographics,
    foreign_mrn_system,
    from_demographics,
    matches_visible_identifier,
    redacted,
    tokens_of,
    with_alliance_id,
    with_links,
)

MRN = systems.mrn_system("H001")
FULL = Demographics(mrn="ZY-1", national_id_masked="110105********002X", insurance_number="INS-9", name="张三丰",
                    birth_date=date(1949, 12, 31), sex=Sex.MALE, phone_masked="138****5678")


def test_a_first_pid_makes_a_patient_with_the_mrn_first_and_the_alliance_id():
    body = from_demographics(None, FULL, hospital_id="H001", resource_id="p1", alliance_id="AP-1")
    assert [i["system"] for i in body["identifier"]] == [MRN, systems.NATIONAL_ID, systems.INSURANCE,
                                                         systems.ALLIANCE_PATIENT]
    assert body["identifier"][0]["value"] == "ZY-1" and body["identifier"][-1]["value"] == "AP-1"
    assert (body["name"], body["gender"], body["birthDate"], body["active"]) == (
        [{"text": "张三丰"}], "male", "1949-12-31", True)
    assert body["telecom"] == [{"system": "phone", "value": "138****5678"}]


def test_a_sparse_pid_keeps_what_it_does_not_carry_and_a_new_value_replaces_the_old():
    first = from_demographics(None, FULL, hospital_id="H001", resource_id="p1", alliance_id="AP-1")
    sparse = from_demographics(first, Demographics(mrn="ZY-1"), hospital_id="H001", resource_id="p1",
                               alliance_id="AP-1")
    assert sparse == first
    renamed = from_demographics(first, Demographics(mrn="ZY-1", name="张三风", phone_masked="139****1111"),
                                hospital_id="H001", resource_id="p1", alliance_id="AP-2")
    assert renamed["name"] == [{"text": "张三风"}] and renamed["telecom"][0]["value"] == "139****1111"
    assert [i["value"] for i in renamed["identifier"] if i["system"] == systems.ALLIANCE_PATIENT] == ["AP-2"]
    assert renamed["birthDate"] == "1949-12-31" and len(renamed["identifier"]) == 4


def test_a_fhir_patients_own_content_is_kept_and_a_client_sent_alliance_id_is_replaced():
    sent = {"resourceType": "Patient", "identifier": [
        {"system": systems.ALLIANCE_PATIENT, "value": "AP-FORGED"}, {"system": MRN, "value": "ZY-1"}],
        "name": [{"family": "李", "given": ["四"]}], "address": [{"city": "杭州"}]}
    body = with_alliance_id(sent, "AP-1")
    assert body["identifier"] == [{"system": MRN, "value": "ZY-1"},
                                  {"use": "secondary", "system": systems.ALLIANCE_PATIENT, "value": "AP-1"}]
    refreshed = from_demographics(body, Demographics(mrn="ZY-1", sex=Sex.FEMALE), hospital_id="H001",
                                  resource_id="x", alliance_id="AP-1")
    assert refreshed["address"] == [{"city": "杭州"}] and refreshed["name"] == sent["name"]
    assert refreshed["gender"] == "female"


def test_tokens_hash_the_national_id_and_keep_the_previous_hash_when_a_pid_has_none():
    body = from_demographics(None, FULL, hospital_id="H001", resource_id="p1", alliance_id="AP-1")
    tokens = tokens_of(body, (), f"{systems.NATIONAL_ID}|#abc")
    assert tokens == [f"{MRN}|ZY-1", f"{systems.NATIONAL_ID}|#abc", f"{systems.INSURANCE}|INS-9",
                      f"{systems.ALLIANCE_PATIENT}|AP-1"]
    assert tokens_of(body, tokens, None) == tokens


def test_merge_links_make_the_absorbed_patient_inactive_and_an_unmerge_undoes_them():
    body = from_demographics(None, FULL, hospital_id="H001", resource_id="p2", alliance_id="AP-1")
    absorbed = with_links(body, replaced_by="p1", replaces=[])
    assert absorbed["active"] is False
    assert absorbed["link"] == [{"other": {"reference": "Patient/p1"}, "type": "replaced-by"}]
    survivor = with_links(body, replaced_by=None, replaces=["p3", "p2"])
    assert [link["other"]["reference"] for link in survivor["link"]] == ["Patient/p2", "Patient/p3"]
    assert survivor["active"] is True
    restored = with_links(absorbed, replaced_by=None, replaces=[])
    assert restored == body
    client_inactive = with_links({**body, "active": False}, replaced_by=None, replaces=[])
    assert client_inactive["active"] is False                 # not the server's to reactivate


def test_another_hospital_sees_no_mrn_of_the_owner_and_subjects_by_the_alliance_id():
    patient = from_demographics(None, FULL, hospital_id="H001", resource_id="p1", alliance_id="AP-1")
    assert [i["system"] for i in redacted(patient, "H002")["identifier"]] == [
        systems.NATIONAL_ID, systems.INSURANCE, systems.ALLIANCE_PATIENT]
    assert redacted(patient, "H001") == patient and redacted(patient, None) is patient
    encounter = {"resourceType": "Encounter", "subject": derived.subject("H001", "ZY-1", "p1"),
                 "contained": [{"resourceType": "Condition", "subject": derived.subject("H001", "ZY-1")}]}
    seen = redacted(encounter, "H002", "AP-1")
    assert seen["subject"] == {"reference": "Patient/p1", "type": "Patient",
                               "identifier": {"system": systems.ALLIANCE_PATIENT, "value": "AP-1"}}
    assert seen["contained"][0]["subject"]["identifier"]["value"] == "AP-1"
    assert "ZY-1" not in str(redacted(encounter, "H002"))


def test_a_hospital_cannot_search_by_another_hospitals_mrn():
    assert foreign_mrn_system(MRN, "H002") and not foreign_mrn_system(MRN, "H001")
    assert not foreign_mrn_system(MRN, None) and not foreign_mrn_system(None, "H002")
    patient = from_demographics(None, FULL, hospital_id="H001", resource_id="p1", alliance_id="AP-1")
    assert matches_visible_identifier(patient, "ZY-1", "H001") and not matches_visible_identifier(patient, "ZY-1", "H002")
    assert matches_visible_identifier(patient, "AP-1", "H002")
