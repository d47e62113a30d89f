"""Where each result on the survivor goes when a merge is undone."""

import pytest

from results_mutual_recognition.domain.attribution import (
    Placement,
    Provenance,
    ResultOrigin,
    place,
    split,
)

RESTORED = frozenset({("H002", "A-2"), ("H005", "B-9")})


def origin(hospital: str, mrn: str | None, provenance: Provenance, result_id: str = "R1") -> ResultOrigin:
    return ResultOrigin(result_id, hospital, mrn, provenance)


def test_results_the_merge_moved_go_back_whatever_else_is_known():
    assert place(origin("H009", None, Provenance.MOVED), RESTORED) is Placement.RESTORE
    assert place(origin("H009", "X-1", Provenance.MOVED), None) is Placement.RESTORE


@pytest.mark.parametrize("provenance", [p for p in Provenance if p is not Provenance.MOVED])
def test_a_known_mrn_decides_by_the_restored_pairs(provenance):
    assert place(origin("H002", "A-2", provenance), RESTORED) is Placement.RESTORE
    assert place(origin("H002", "A-1", provenance), RESTORED) is Placement.KEEP   # same hospital, other MRN
    assert place(origin("H001", "A-2", provenance), RESTORED) is Placement.KEEP   # same MRN text, other hospital


def test_the_survivors_own_results_stay():
    assert place(origin("H002", None, Provenance.OWN), RESTORED) is Placement.KEEP
    assert place(origin("H002", None, Provenance.OWN), None) is Placement.KEEP


def test_a_result_that_arrived_while_merged_without_its_mrn():
    # from a hospital none of the restored MRNs belongs to: certainly the survivor's
    assert place(origin("H001", None, Provenance.ARRIVED), RESTORED) is Placement.KEEP
    # from a hospital both may be known at: nobody can tell, so it is offered to neither
    assert place(origin("H002", None, Provenance.ARRIVED), RESTORED) is Placement.WITHHOLD
    # the producer did not list the MRNs
    assert place(origin("H001", None, Provenance.ARRIVED), None) is Placement.WITHHOLD


def test_a_merge_from_before_merge_tracking_is_decided_by_mrn_and_hospital_only():
    assert place(origin("H005", "B-9", Provenance.UNKNOWN), RESTORED) is Placement.RESTORE
    assert place(origin("H001", None, Provenance.UNKNOWN), RESTORED) is Placement.KEEP
    assert place(origin("H005", None, Provenance.UNKNOWN), RESTORED) is Placement.WITHHOLD
    assert place(origin("H005", "B-9", Provenance.UNKNOWN), None) is Placement.WITHHOLD


def test_split_lists_every_placement_in_a_stable_order():
    out = split([origin("H002", "A-2", Provenance.ARRIVED, "R3"), origin("H001", None, Provenance.OWN, "R2"),
                 origin("H009", None, Provenance.MOVED, "R1"), origin("H005", None, Provenance.ARRIVED, "R4")],
                RESTORED)
    assert out == {Placement.RESTORE: ["R1", "R3"], Placement.KEEP: ["R2"], Placement.WITHHOLD: ["R4"]}
    assert split([], None) == {Placement.RESTORE: [], Placement.KEEP: [], Placement.WITHHOLD: []}
