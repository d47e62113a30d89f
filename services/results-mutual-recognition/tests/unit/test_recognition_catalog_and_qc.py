from datetime import UTC, datetime, timedelta, timezone

import pytest

from results_mutual_recognition.domain.recognition import (
    KNOWN_CONDITIONS,
    NOT_FOR_INPATIENTS_AFTER_SURGERY,
    Catalog,
    CatalogError,
    CatalogItem,
    CatalogVersion,
    ItemCategory,
    QcEligibilityChanged,
    QcError,
    QcHistory,
    QcPeriod,
    QcStatus,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
T1 = datetime(2026, 1, 1, tzinfo=UTC)
CBC = CatalogItem("CBC", "Complete blood count", ItemCategory.LABORATORY, 90, "58410-2")
CT = CatalogItem("CT-CHEST", "Chest CT", ItemCategory.IMAGING, 180,
                 conditions=frozenset({NOT_FOR_INPATIENTS_AFTER_SURGERY}))


def _catalog():
    return Catalog((CatalogVersion(1, T1, {"CBC": CBC}),
                    CatalogVersion(2, T1 + timedelta(days=100), {"CBC": CBC, "CT-CHEST": CT})))


# ---------------------------------------------------------------- catalog


def test_the_version_in_force_is_the_latest_that_has_started():
    catalog = _catalog()
    assert catalog.in_force(T1 - timedelta(microseconds=1)) is None
    assert catalog.in_force(T1).version == 1
    assert catalog.in_force(T1 + timedelta(days=100) - timedelta(microseconds=1)).version == 1
    assert catalog.in_force(T1 + timedelta(days=100)).version == 2
    assert catalog.in_force(NOW).version == 2


def test_in_force_compares_instants_across_offsets():
    beijing = timezone(timedelta(hours=8))
    assert _catalog().in_force(datetime(2026, 1, 1, 7, 59, tzinfo=beijing)) is None
    assert _catalog().in_force(datetime(2026, 1, 1, 8, 0, tzinfo=beijing)).version == 1


def test_publishing_numbers_the_next_version_and_leaves_the_catalog_unchanged():
    catalog = _catalog()
    version = catalog.publish([CBC, CT], NOW + timedelta(days=1), NOW)
    assert version.version == 3
    assert set(version.items) == {"CBC", "CT-CHEST"}
    assert len(catalog.versions) == 2
    grown = catalog.with_version(version)
    assert grown.in_force(NOW + timedelta(days=1)) == version
    assert grown.in_force(NOW) == catalog.versions[1]


def test_the_first_published_version_is_number_one():
    assert Catalog().publish({"CBC": CBC}, NOW, NOW).version == 1


def test_published_versions_are_read_only():
    version = Catalog().publish([CBC], NOW, NOW)
    with pytest.raises(TypeError):
        version.items["CT-CHEST"] = CT  # type: ignore[index]
    with pytest.raises(AttributeError):
        version.version = 9  # type: ignore[misc]


def test_a_version_must_start_after_the_latest_one():
    catalog = Catalog((CatalogVersion(1, NOW + timedelta(days=10), {"CBC": CBC}),))
    with pytest.raises(CatalogError) as err:
        catalog.publish([CBC], NOW + timedelta(days=10), NOW)
    assert err.value.field_name == "effective_from"
    assert catalog.publish([CBC], NOW + timedelta(days=10, microseconds=1), NOW).version == 2


def test_a_version_cannot_be_backdated():
    with pytest.raises(CatalogError) as err:
        _catalog().publish([CBC], NOW - timedelta(microseconds=1), NOW)
    assert err.value.field_name == "effective_from"


def test_with_version_refuses_a_version_that_does_not_follow_the_latest():
    catalog = _catalog()
    with pytest.raises(CatalogError):
        catalog.with_version(CatalogVersion(3, T1 + timedelta(days=50), {"CBC": CBC}))
    with pytest.raises(CatalogError):
        catalog.with_version(CatalogVersion(2, NOW, {"CBC": CBC}))


def test_a_catalog_refuses_versions_sharing_a_start_or_numbered_out_of_order():
    with pytest.raises(CatalogError):
        Catalog((CatalogVersion(1, T1, {}), CatalogVersion(2, T1, {})))
    with pytest.raises(CatalogError):
        Catalog((CatalogVersion(2, T1, {}), CatalogVersion(1, NOW, {})))


def test_an_item_keyed_under_another_code_is_refused():
    with pytest.raises(CatalogError) as err:
        CatalogVersion(1, T1, {"FBC": CBC})
    assert err.value.field_name == "items"


@pytest.mark.parametrize(("item", "field_name"), [
    (CatalogItem("", "x", ItemCategory.LABORATORY, 90), "item_code"),
    (CatalogItem("-CBC", "x", ItemCategory.LABORATORY, 90), "item_code"),
    (CatalogItem("CBC 1", "x", ItemCategory.LABORATORY, 90), "item_code"),
    (CatalogItem("C" * 65, "x", ItemCategory.LABORATORY, 90), "item_code"),
    (CatalogItem("CBC", "  ", ItemCategory.LABORATORY, 90), "name"),
    (CatalogItem("CBC", "a\nb", ItemCategory.LABORATORY, 90), "name"),
    (CatalogItem("CBC", "x", "ultrasound", 90), "category"),  # type: ignore[arg-type]
    (CatalogItem("CBC", "x", ItemCategory.LABORATORY, 0), "validity_days"),
    (CatalogItem("CBC", "x", ItemCategory.LABORATORY, 3651), "validity_days"),
    (CatalogItem("CBC", "x", ItemCategory.LABORATORY, True), "validity_days"),  # type: ignore[arg-type]
    (CatalogItem("CBC", "x", ItemCategory.LABORATORY, 90.0), "validity_days"),  # type: ignore[arg-type]
    (CatalogItem("CBC", "x", ItemCategory.LABORATORY, 90, "LOINC"), "loinc"),
    (CatalogItem("CBC", "x", ItemCategory.LABORATORY, 90, conditions=frozenset({"weekdays"})),
     "conditions"),
])
def test_publishing_an_invalid_item_names_the_field(item, field_name):
    with pytest.raises(CatalogError) as err:
        Catalog().publish([item], NOW, NOW)
    assert err.value.field_name == field_name


def test_validity_bounds_and_the_longest_code_are_accepted():
    items = [CatalogItem("A", "x", ItemCategory.LABORATORY, 1),
             CatalogItem("B" + "b._-" * 15 + "bbb", "x", ItemCategory.IMAGING, 3650)]
    version = Catalog().publish(items, NOW, NOW)
    assert len(version.items) == 2


def test_publishing_normalises_names_and_categories():
    raw = CatalogItem("CBC", "  Complete blood count ", "laboratory", 90)  # type: ignore[arg-type]
    item = Catalog().publish([raw], NOW, NOW).items["CBC"]
    assert item.name == "Complete blood count"
    assert item.category is ItemCategory.LABORATORY


def test_an_empty_or_duplicated_item_list_is_refused():
    with pytest.raises(CatalogError) as err:
        Catalog().publish([], NOW, NOW)
    assert err.value.field_name == "items"
    with pytest.raises(CatalogError) as err:
        Catalog().publish([CBC, CBC], NOW, NOW)
    assert err.value.item_code == "CBC"


def test_the_known_conditions_include_the_surgical_one():
    assert NOT_FOR_INPATIENTS_AFTER_SURGERY in KNOWN_CONDITIONS


def test_naive_effective_dates_are_refused():
    with pytest.raises(CatalogError):
        Catalog().publish([CBC], datetime(2027, 1, 1), NOW)


# ---------------------------------------------------------------- QC history


def _period(status, start, end=None, lab="LAB-A", item="CBC", ref="EQA"):
    return QcPeriod(lab, item, status, start, end, ref)


def test_eligibility_uses_half_open_intervals():
    qc = QcHistory((_period(QcStatus.PASSED, T1, NOW),))
    assert not qc.eligible("LAB-A", "CBC", T1 - timedelta(microseconds=1))
    assert qc.eligible("LAB-A", "CBC", T1)
    assert qc.eligible("LAB-A", "CBC", NOW - timedelta(microseconds=1))
    assert not qc.eligible("LAB-A", "CBC", NOW)


def test_a_lab_without_any_period_is_not_eligible():
    assert not QcHistory().eligible("LAB-A", "CBC", NOW)


def test_the_latest_starting_overlapping_period_wins():
    qc = QcHistory((_period(QcStatus.PASSED, T1),
                    _period(QcStatus.FAILED, T1 + timedelta(days=10), T1 + timedelta(days=20))))
    assert qc.eligible("LAB-A", "CBC", T1 + timedelta(days=9))
    assert not qc.eligible("LAB-A", "CBC", T1 + timedelta(days=10))
    assert qc.eligible("LAB-A", "CBC", T1 + timedelta(days=20))


def test_periods_must_end_after_they_start():
    with pytest.raises(QcError):
        _period(QcStatus.PASSED, T1, T1)


def _change(status, start, ref="EQA-2026-2", item="CBC"):
    return QcEligibilityChanged("LAB-A", item, status, start, ref, NOW)


def test_recording_a_change_closes_the_open_period_and_opens_a_new_one():
    qc = QcHistory((_period(QcStatus.PASSED, T1),))
    revoked_at = T1 + timedelta(days=30)
    recorded = qc.record(_change(QcStatus.FAILED, revoked_at), NOW)
    assert recorded.closed == (_period(QcStatus.PASSED, T1, revoked_at),)
    assert recorded.opened == _period(QcStatus.FAILED, revoked_at, ref="EQA-2026-2")
    assert recorded.history.eligible("LAB-A", "CBC", revoked_at - timedelta(microseconds=1))
    assert not recorded.history.eligible("LAB-A", "CBC", revoked_at)
    assert qc.eligible("LAB-A", "CBC", revoked_at)  # the original history is untouched


def test_recording_leaves_other_labs_and_items_alone():
    other = _period(QcStatus.PASSED, T1, item="CT-CHEST")
    qc = QcHistory((_period(QcStatus.PASSED, T1), other))
    recorded = qc.record(_change(QcStatus.FAILED, T1 + timedelta(days=1)), NOW)
    assert other in recorded.history.periods
    assert len(recorded.closed) == 1


def test_the_first_change_for_a_lab_closes_nothing():
    recorded = QcHistory().record(_change(QcStatus.PASSED, T1), NOW)
    assert recorded.closed == ()
    assert recorded.history.eligible("LAB-A", "CBC", NOW)


def test_a_change_may_not_start_at_or_before_a_recorded_period():
    qc = QcHistory((_period(QcStatus.PASSED, T1),))
    with pytest.raises(QcError) as err:
        qc.record(_change(QcStatus.FAILED, T1), NOW)
    assert err.value.field_name == "effective_from"


@pytest.mark.parametrize(("change", "field_name"), [
    (QcEligibilityChanged("", "CBC", QcStatus.PASSED, T1, "EQA", NOW), "lab_id"),
    (QcEligibilityChanged("LAB-A", "CBC X", QcStatus.PASSED, T1, "EQA", NOW), "item_code"),
    (QcEligibilityChanged("LAB-A", "CBC", "maybe", T1, "EQA", NOW), "status"),
    (QcEligibilityChanged("LAB-A", "CBC", QcStatus.PASSED, T1, " ", NOW), "reference"),
    (QcEligibilityChanged("LAB-A", "CBC", QcStatus.PASSED, datetime(2026, 1, 1), "EQA", NOW),
     "effective_from"),
])
def test_invalid_changes_name_the_field(change, field_name):
    with pytest.raises(QcError) as err:
        QcHistory().record(change, NOW)
    assert err.value.field_name == field_name
