from datetime import UTC, datetime, timedelta, timezone

import pytest

from results_mutual_recognition.domain.recognition import (
    NOT_FOR_INPATIENTS_AFTER_SURGERY,
    Catalog,
    CatalogItem,
    CatalogVersion,
    ContextError,
    IndexedResult,
    ItemCategory,
    QcHistory,
    QcPeriod,
    QcStatus,
    ReasonCode,
    RequestContext,
    decide,
)

BEIJING = timezone(timedelta(hours=8))
V1_FROM = datetime(2026, 1, 1, tzinfo=UTC)
CBC = CatalogItem("CBC", "Complete blood count", ItemCategory.LABORATORY, 90, "58410-2")
CT = CatalogItem("CT-CHEST", "Chest CT", ItemCategory.IMAGING, 180,
                 conditions=frozenset({NOT_FOR_INPATIENTS_AFTER_SURGERY}))
CATALOG = Catalog((CatalogVersion(1, V1_FROM, {"CBC": CBC, "CT-CHEST": CT}),))
QC = QcHistory((
    QcPeriod("LAB-A", "CBC", QcStatus.PASSED, datetime(2025, 1, 1, tzinfo=UTC), None, "EQA-2025-1"),
    QcPeriod("LAB-A", "CT-CHEST", QcStatus.PASSED, datetime(2025, 1, 1, tzinfo=UTC), None, "EQA-CT"),
))
PRODUCED = datetime(2026, 8, 1, 9, 0, tzinfo=UTC)


def result(rid="R1", at=PRODUCED, item="CBC", lab="LAB-A", hospital="H002", status="F",
           patient="P-SYN-1"):
    return IndexedResult(rid, patient, item, hospital, lab, "5.6", "10*9/L", at, f"RPT-{rid}",
                         status)


def ctx(at, hospital="H001", **kw):
    return RequestContext(hospital, at, **kw)


def test_a_fresh_final_result_from_an_eligible_lab_is_recognised():
    decision = decide("CBC", [result()], CATALOG, QC, ctx(PRODUCED + timedelta(days=10)))
    assert decision.reason is None
    assert [r.result_id for r in decision.recognised] == ["R1"]
    assert decision.considered == 1
    assert decision.recognisable
    assert "valid until 2026-10-30" in decision.explanation


def test_a_result_is_still_valid_at_the_exact_end_of_its_window():
    end = PRODUCED + timedelta(days=90)
    assert decide("CBC", [result()], CATALOG, QC, ctx(end)).reason is None


def test_a_result_expires_one_microsecond_after_its_window():
    late = PRODUCED + timedelta(days=90, microseconds=1)
    decision = decide("CBC", [result()], CATALOG, QC, ctx(late))
    assert decision.reason is ReasonCode.EXPIRED
    assert decision.recognised == ()
    assert decision.explanation == (
        "the newest result (2026-08-01, H002) expired on 2026-10-30; CBC is valid for 90 days")


def test_a_beijing_time_result_and_a_utc_order_at_the_same_instant_are_the_same_moment():
    produced_local = datetime(2026, 8, 1, 17, 0, tzinfo=BEIJING)  # == PRODUCED
    r = result(at=produced_local)
    assert decide("CBC", [r], CATALOG, QC, ctx(PRODUCED)).reason is None
    end = PRODUCED + timedelta(days=90)
    assert decide("CBC", [r], CATALOG, QC, ctx(end)).reason is None
    assert decide("CBC", [r], CATALOG, QC,
                  ctx(end + timedelta(microseconds=1))).reason is ReasonCode.EXPIRED


def test_the_explanation_uses_the_result_s_own_calendar_date():
    r = result(at=datetime(2026, 8, 2, 0, 30, tzinfo=BEIJING))  # 2026-08-01 16:30 UTC
    decision = decide("CBC", [r], CATALOG, QC, ctx(datetime(2026, 12, 1, tzinfo=UTC)))
    assert "(2026-08-02, H002) expired on 2026-10-31" in decision.explanation


def test_a_result_produced_after_the_order_instant_is_not_a_candidate():
    decision = decide("CBC", [result()], CATALOG, QC, ctx(PRODUCED - timedelta(microseconds=1)))
    assert decision.reason is ReasonCode.NO_RESULT
    assert decision.considered == 0


def test_preliminary_results_are_ignored():
    decision = decide("CBC", [result("R1", status="P")], CATALOG, QC,
                      ctx(PRODUCED + timedelta(days=1)))
    assert decision.reason is ReasonCode.NO_RESULT
    assert decision.considered == 0
    assert "1 non-final result ignored" in decision.explanation


def test_corrected_results_count_and_a_preliminary_one_beside_them_does_not():
    decision = decide("CBC", [result("R1", status="C"),
                              result("R2", at=PRODUCED + timedelta(days=1), status="P")],
                      CATALOG, QC, ctx(PRODUCED + timedelta(days=5)))
    assert [r.result_id for r in decision.recognised] == ["R1"]
    assert decision.considered == 1


def test_results_for_other_items_are_not_candidates():
    decision = decide("CBC", [result(item="CT-CHEST")], CATALOG, QC, ctx(PRODUCED))
    assert decision.reason is ReasonCode.NO_RESULT


def test_all_passing_results_are_recognised_newest_first():
    older = result("R-OLD", at=PRODUCED - timedelta(days=30), hospital="H003")
    newer = result("R-NEW", at=PRODUCED)
    decision = decide("CBC", [older, newer], CATALOG, QC, ctx(PRODUCED + timedelta(days=1)))
    assert [r.result_id for r in decision.recognised] == ["R-NEW", "R-OLD"]
    assert decision.reason is None
    assert decision.considered == 2


def test_an_older_valid_result_is_recognised_when_the_newest_is_not():
    bad_new = result("R-NEW", at=PRODUCED, lab="LAB-X")
    good_old = result("R-OLD", at=PRODUCED - timedelta(days=10))
    decision = decide("CBC", [bad_new, good_old], CATALOG, QC, ctx(PRODUCED + timedelta(days=1)))
    assert [r.result_id for r in decision.recognised] == ["R-OLD"]
    assert [(r.result_id, r.reason) for r in decision.rejected] == [
        ("R-NEW", ReasonCode.ISSUER_NOT_ELIGIBLE)]


def test_when_nothing_passes_the_reason_is_the_newest_result_s_reason():
    expired_old = result("R-OLD", at=PRODUCED - timedelta(days=200))
    ineligible_new = result("R-NEW", at=PRODUCED, lab="LAB-X")
    decision = decide("CBC", [expired_old, ineligible_new], CATALOG, QC,
                      ctx(PRODUCED + timedelta(days=1)))
    assert decision.reason is ReasonCode.ISSUER_NOT_ELIGIBLE
    assert "LAB-X had not passed external quality assessment" in decision.explanation
    assert "none of 2 results is recognised" in decision.explanation


def test_an_item_outside_the_catalog_in_force_is_not_in_catalog():
    decision = decide("MRI-KNEE", [result(item="MRI-KNEE")], CATALOG, QC, ctx(PRODUCED))
    assert decision.reason is ReasonCode.NOT_IN_CATALOG
    assert decision.considered == 1


def test_before_any_catalog_version_everything_is_not_in_catalog():
    decision = decide("CBC", [], CATALOG, QC, ctx(V1_FROM - timedelta(microseconds=1)))
    assert decision.reason is ReasonCode.NOT_IN_CATALOG
    assert "any catalog version" in decision.explanation


def test_no_result_at_all_is_no_result():
    decision = decide("CBC", [], CATALOG, QC, ctx(PRODUCED))
    assert decision.reason is ReasonCode.NO_RESULT
    assert decision.considered == 0


# ---------------------------------------------------------------- QC at production time


def _qc_passed_until(until):
    return QcHistory((
        QcPeriod("LAB-A", "CBC", QcStatus.PASSED, datetime(2025, 1, 1, tzinfo=UTC), until, "EQA-1"),
        QcPeriod("LAB-A", "CBC", QcStatus.FAILED, until, None, "EQA-2"),
    ))


def test_eligibility_revoked_after_the_result_does_not_unrecognise_it():
    qc = _qc_passed_until(PRODUCED + timedelta(microseconds=1))
    assert decide("CBC", [result()], CATALOG, qc, ctx(PRODUCED + timedelta(days=5))).reason is None


def test_a_result_produced_after_eligibility_was_revoked_never_counts():
    qc = _qc_passed_until(PRODUCED - timedelta(days=1))
    decision = decide("CBC", [result()], CATALOG, qc, ctx(PRODUCED + timedelta(days=5)))
    assert decision.reason is ReasonCode.ISSUER_NOT_ELIGIBLE


def test_revocation_exactly_at_the_result_instant_makes_it_ineligible():
    qc = _qc_passed_until(PRODUCED)  # half-open: the passed period ends before PRODUCED
    decision = decide("CBC", [result()], CATALOG, qc, ctx(PRODUCED + timedelta(days=5)))
    assert decision.reason is ReasonCode.ISSUER_NOT_ELIGIBLE


def test_a_qc_period_starting_exactly_at_the_result_instant_covers_it():
    qc = QcHistory((QcPeriod("LAB-A", "CBC", QcStatus.PASSED, PRODUCED, None, "EQA-1"),))
    assert decide("CBC", [result()], CATALOG, qc, ctx(PRODUCED + timedelta(days=1))).reason is None
    early = result(at=PRODUCED - timedelta(microseconds=1))
    assert decide("CBC", [early], CATALOG, qc,
                  ctx(PRODUCED + timedelta(days=1))).reason is ReasonCode.ISSUER_NOT_ELIGIBLE


def test_becoming_eligible_later_does_not_recognise_an_earlier_result():
    qc = QcHistory((
        QcPeriod("LAB-A", "CBC", QcStatus.FAILED, datetime(2025, 1, 1, tzinfo=UTC),
                 PRODUCED + timedelta(days=1), "EQA-1"),
        QcPeriod("LAB-A", "CBC", QcStatus.PASSED, PRODUCED + timedelta(days=1), None, "EQA-2"),
    ))
    decision = decide("CBC", [result()], CATALOG, qc, ctx(PRODUCED + timedelta(days=5)))
    assert decision.reason is ReasonCode.ISSUER_NOT_ELIGIBLE


def test_eligibility_for_one_item_does_not_carry_over_to_another():
    qc = QcHistory((QcPeriod("LAB-A", "CT-CHEST", QcStatus.PASSED, V1_FROM, None, "EQA-CT"),))
    decision = decide("CBC", [result()], CATALOG, qc, ctx(PRODUCED))
    assert decision.reason is ReasonCode.ISSUER_NOT_ELIGIBLE


# ---------------------------------------------------------------- catalog changes


def test_validity_of_the_version_in_force_at_order_time_applies():
    shorter = CatalogItem("CBC", "Complete blood count", ItemCategory.LABORATORY, 30)
    change = PRODUCED + timedelta(days=10)
    catalog = Catalog((*CATALOG.versions, CatalogVersion(2, change, {"CBC": shorter})))
    assert decide("CBC", [result()], catalog, QC,
                  ctx(PRODUCED + timedelta(days=30))).reason is None
    decision = decide("CBC", [result()], catalog, QC, ctx(PRODUCED + timedelta(days=31)))
    assert decision.reason is ReasonCode.EXPIRED
    assert "CBC is valid for 30 days" in decision.explanation


def test_validity_extended_by_a_later_version_applies_to_older_results():
    longer = CatalogItem("CBC", "Complete blood count", ItemCategory.LABORATORY, 180)
    catalog = Catalog((*CATALOG.versions,
                       CatalogVersion(2, PRODUCED + timedelta(days=100), {"CBC": longer})))
    assert decide("CBC", [result()], catalog, QC,
                  ctx(PRODUCED + timedelta(days=120))).reason is None


def test_an_item_removed_by_the_time_of_the_order_is_not_in_catalog():
    catalog = Catalog((*CATALOG.versions,
                       CatalogVersion(2, PRODUCED + timedelta(days=1), {"CT-CHEST": CT})))
    decision = decide("CBC", [result()], catalog, QC, ctx(PRODUCED + timedelta(days=2)))
    assert decision.reason is ReasonCode.NOT_IN_CATALOG
    assert decision.recognised == ()
    assert "not in catalog version 2" in decision.explanation


def test_a_result_produced_before_its_item_entered_the_catalog_is_not_recognised():
    added = PRODUCED + timedelta(days=1)
    catalog = Catalog((
        CatalogVersion(1, V1_FROM, {"CT-CHEST": CT}),
        CatalogVersion(2, added, {"CT-CHEST": CT, "CBC": CBC}),
    ))
    decision = decide("CBC", [result()], catalog, QC, ctx(added + timedelta(days=1)))
    assert decision.reason is ReasonCode.NOT_IN_CATALOG
    assert "was produced when CBC was not in the recognised catalog" in decision.explanation
    at_entry = result("R2", at=added)
    assert decide("CBC", [at_entry], catalog, QC, ctx(added + timedelta(days=1))).reason is None


def test_not_in_catalog_at_production_outranks_an_ineligible_issuer():
    catalog = Catalog((
        CatalogVersion(1, V1_FROM, {"CT-CHEST": CT}),
        CatalogVersion(2, PRODUCED + timedelta(days=1), {"CT-CHEST": CT, "CBC": CBC}),
    ))
    decision = decide("CBC", [result(lab="LAB-X")], catalog, QC, ctx(PRODUCED + timedelta(days=2)))
    assert decision.reason is ReasonCode.NOT_IN_CATALOG


def test_an_ineligible_issuer_outranks_expiry():
    decision = decide("CBC", [result(lab="LAB-X")], CATALOG, QC,
                      ctx(PRODUCED + timedelta(days=365)))
    assert decision.reason is ReasonCode.ISSUER_NOT_ELIGIBLE


# ---------------------------------------------------------------- conditions and contexts


def test_a_condition_blocks_recognition_for_inpatients_after_surgery():
    r = result(item="CT-CHEST")
    decision = decide("CT-CHEST", [r], CATALOG, QC,
                      ctx(PRODUCED + timedelta(days=1), inpatient_after_surgery=True))
    assert decision.reason is ReasonCode.CONDITION_NOT_MET
    assert "inpatients after surgery" in decision.explanation
    assert decide("CT-CHEST", [r], CATALOG, QC, ctx(PRODUCED + timedelta(days=1))).reason is None


def test_a_failed_condition_outranks_every_per_result_reason():
    r = result(item="CT-CHEST", lab="LAB-X")
    decision = decide("CT-CHEST", [r], CATALOG, QC,
                      ctx(PRODUCED + timedelta(days=400), inpatient_after_surgery=True))
    assert decision.reason is ReasonCode.CONDITION_NOT_MET


def test_items_without_the_condition_ignore_the_surgical_context():
    decision = decide("CBC", [result()], CATALOG, QC,
                      ctx(PRODUCED + timedelta(days=1), inpatient_after_surgery=True))
    assert decision.reason is None


def test_an_unknown_condition_in_a_stored_version_fails_closed():
    odd = CatalogItem("CBC", "Complete blood count", ItemCategory.LABORATORY, 90,
                      conditions=frozenset({"not_on_tuesdays"}))
    catalog = Catalog((CatalogVersion(1, V1_FROM, {"CBC": odd}),))
    assert decide("CBC", [result()], catalog, QC,
                  ctx(PRODUCED)).reason is ReasonCode.CONDITION_NOT_MET


def test_the_same_result_is_recognised_for_two_requesting_hospitals_and_its_own():
    r = result(hospital="H002")
    at = PRODUCED + timedelta(days=3)
    for hospital in ("H001", "H003", "H002"):
        decision = decide("CBC", [r], CATALOG, QC, ctx(at, hospital=hospital))
        assert decision.recognised == (r,)
        assert decision.requesting_hospital == hospital


def test_explanations_never_carry_patient_or_result_identifiers():
    r = result("RES-SECRET-9", patient="PAT-SECRET-7")
    for at in (PRODUCED + timedelta(days=1), PRODUCED + timedelta(days=200)):
        text = decide("CBC", [r], CATALOG, QC, ctx(at)).explanation
        assert "SECRET" not in text


def test_results_from_two_patients_are_refused():
    with pytest.raises(ContextError) as err:
        decide("CBC", [result("R1"), result("R2", patient="P-SYN-2")], CATALOG, QC, ctx(PRODUCED))
    assert err.value.field_name == "results"


def test_naive_datetimes_are_refused():
    with pytest.raises(ContextError):
        RequestContext("H001", datetime(2026, 8, 1))
    with pytest.raises(ContextError):
        result(at=datetime(2026, 8, 1))


def test_a_decision_remembers_its_context_and_patient_for_the_choice():
    at = PRODUCED + timedelta(days=1)
    decision = decide("CBC", [result()], CATALOG, QC, ctx(at))
    assert (decision.requesting_hospital, decision.at, decision.patient_id) == (
        "H001", at, "P-SYN-1")
