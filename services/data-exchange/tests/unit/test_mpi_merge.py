"""Links, merge and unmerge of alliance patients (administrator actions)."""

from copy import deepcopy
from datetime import UTC, date, datetime

import pytest

from data_exchange.domain.clinical import Sex
from data_exchange.domain.mpi import (
    AlliancePatient,
    DecisionKind,
    LinkRefused,
    MergeRefused,
    PatientLinked,
    PatientsMerged,
    PatientStatus,
    PatientsUnmerged,
    UnmergeRefused,
    merge,
    unmerge,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)
NID_HASH_A = "a" * 64
NID_HASH_B = "b" * 64


def patient(patient_id: str, *links: tuple[str, str], national_id_hash: str | None = None) -> AlliancePatient:
    return AlliancePatient(patient_id, links=set(links), national_id_hash=national_id_hash,
                           national_id_masked="110105********002X" if national_id_hash else None,
                           name="张三丰", birth_date=date(1949, 12, 31), sex=Sex.MALE)


def test_linking_an_mrn_adds_the_link_bumps_the_version_and_records_an_event():
    p = patient("P1")
    event = p.link("H001", "A-001", DecisionKind.LINK_PROBABILISTIC, 38.0, NOW)
    assert event == PatientLinked("P1", "H001", "A-001", DecisionKind.LINK_PROBABILISTIC, 38.0, NOW)
    assert p.links == {("H001", "A-001")} and p.version == 2


def test_linking_an_mrn_twice_changes_nothing():
    p = patient("P1", ("H001", "A-001"))
    assert p.link("H001", "A-001", DecisionKind.LINK_EXISTING_MRN, None, NOW) is None
    assert p.version == 1


def test_a_merged_patient_takes_no_new_links():
    survivor, absorbed = patient("P1"), patient("P2")
    merge(survivor, absorbed, NOW, by="admin-1")
    with pytest.raises(LinkRefused):
        absorbed.link("H001", "A-002", DecisionKind.ADMIN, None, NOW, by="admin-1")


def test_the_candidate_view_carries_the_links():
    assert patient("P1", ("H001", "A-001")).as_candidate().hospital_mrns == frozenset({("H001", "A-001")})


def test_a_merge_moves_the_links_and_marks_the_absorbed_patient_merged():
    survivor = patient("P1", ("H001", "A-001"), national_id_hash=NID_HASH_A)
    absorbed = patient("P2", ("H002", "88123"), ("H003", "X9"))
    events = merge(survivor, absorbed, NOW, by="admin-1")
    assert events == [PatientsMerged("P1", "P2", frozenset({("H002", "88123"), ("H003", "X9")}), NOW, "admin-1")]
    assert survivor.links == {("H001", "A-001"), ("H002", "88123"), ("H003", "X9")}
    assert (absorbed.status, absorbed.merged_into, absorbed.links) == (PatientStatus.MERGED, "P1", set())
    assert (survivor.version, absorbed.version) == (2, 2)


def test_a_merge_moves_the_national_id_when_only_the_absorbed_patient_has_one():
    survivor, absorbed = patient("P1"), patient("P2", national_id_hash=NID_HASH_A)
    [event] = merge(survivor, absorbed, NOW, by="admin-1")
    assert event.national_id_moved
    assert (survivor.national_id_hash, survivor.national_id_from) == (NID_HASH_A, "P2")
    assert absorbed.national_id_hash is None          # the hash stays unique across all patients


@pytest.mark.parametrize("setup, code", [
    (lambda: (patient("P1"), None), "same-patient"),
    (lambda: (patient("P1", national_id_hash=NID_HASH_A), patient("P2", national_id_hash=NID_HASH_B)),
     "national-id-conflict"),
])
def test_merges_the_rules_forbid_are_refused_naming_why(setup, code):
    survivor, absorbed = setup()
    with pytest.raises(MergeRefused) as err:
        merge(survivor, absorbed or survivor, NOW, by="admin-1")
    assert err.value.code == code


def test_merging_into_a_merged_patient_is_refused():
    a, b, c = patient("P1"), patient("P2"), patient("P3")
    merge(a, b, NOW, by="admin-1")
    with pytest.raises(MergeRefused) as err:
        merge(b, c, NOW, by="admin-1")
    assert err.value.code == "survivor-merged"
    assert "merged into P1" in str(err.value)


def test_merging_an_already_merged_patient_again_is_refused():
    a, b, c = patient("P1"), patient("P2"), patient("P3")
    merge(a, b, NOW, by="admin-1")
    with pytest.raises(MergeRefused) as err:
        merge(c, b, NOW, by="admin-1")
    assert err.value.code == "absorbed-merged"


def test_a_merge_needs_the_administrator():
    with pytest.raises(MergeRefused) as err:
        merge(patient("P1"), patient("P2"), NOW, by=" ")
    assert err.value.code == "actor-required"


def test_merge_then_unmerge_restores_both_patients():
    survivor = patient("P1", ("H001", "A-001"))
    absorbed = patient("P2", ("H002", "88123"), national_id_hash=NID_HASH_A)
    before = (deepcopy(survivor), deepcopy(absorbed))
    [merged] = merge(survivor, absorbed, NOW, by="admin-1")

    events = unmerge(survivor, absorbed, merged.moved_links, LATER, by="admin-2")

    assert events == [PatientsUnmerged("P1", "P2", frozenset({("H002", "88123")}), LATER, "admin-2",
                                       national_id_returned=True)]
    for now, then in zip((survivor, absorbed), before, strict=True):
        assert (now.status, now.merged_into, now.links, now.national_id_hash, now.national_id_masked,
                now.national_id_from) == (then.status, then.merged_into, then.links, then.national_id_hash,
                                          then.national_id_masked, then.national_id_from)
        assert now.version == then.version + 2


def test_an_unmerge_can_leave_links_made_after_the_merge_with_the_survivor():
    survivor, absorbed = patient("P1", ("H001", "A-001")), patient("P2", ("H002", "88123"))
    merge(survivor, absorbed, NOW, by="admin-1")
    survivor.link("H002", "88999", DecisionKind.LINK_PROBABILISTIC, 40.0, NOW)
    unmerge(survivor, absorbed, {("H002", "88123")}, LATER, by="admin-2")
    assert survivor.links == {("H001", "A-001"), ("H002", "88999")}
    assert absorbed.links == {("H002", "88123")} and absorbed.status is PatientStatus.ACTIVE


def test_an_unmerge_keeps_the_survivors_own_national_id():
    survivor = patient("P1", national_id_hash=NID_HASH_A)
    absorbed = patient("P2", ("H002", "88123"))
    merge(survivor, absorbed, NOW, by="admin-1")
    [event] = unmerge(survivor, absorbed, {("H002", "88123")}, LATER, by="admin-2")
    assert not event.national_id_returned
    assert (survivor.national_id_hash, absorbed.national_id_hash) == (NID_HASH_A, None)


def test_unmerging_a_patient_not_merged_into_the_survivor_is_refused():
    a, b, c = patient("P1"), patient("P2", ("H002", "88123")), patient("P3")
    merge(a, b, NOW, by="admin-1")
    with pytest.raises(UnmergeRefused) as err:
        unmerge(c, b, set(), LATER, by="admin-2")
    assert err.value.code == "not-merged-into-survivor"
    with pytest.raises(UnmergeRefused):
        unmerge(a, c, set(), LATER, by="admin-2")


def test_unmerging_links_the_survivor_does_not_hold_is_refused_without_naming_them():
    a, b = patient("P1"), patient("P2", ("H002", "88123"))
    merge(a, b, NOW, by="admin-1")
    with pytest.raises(UnmergeRefused) as err:
        unmerge(a, b, {("H002", "88123"), ("H009", "SECRET-MRN")}, LATER, by="admin-2")
    assert err.value.code == "link-not-held"
    assert "SECRET-MRN" not in str(err.value)
    assert b.status is PatientStatus.MERGED and a.links == {("H002", "88123")}


def test_unmerging_from_a_survivor_that_was_merged_since_is_refused():
    a, b, c = patient("P1"), patient("P2", ("H002", "88123")), patient("P3")
    merge(a, b, NOW, by="admin-1")
    merge(c, a, NOW, by="admin-1")
    with pytest.raises(UnmergeRefused) as err:
        unmerge(a, b, set(), LATER, by="admin-2")
    assert err.value.code == "survivor-merged"
