from datetime import UTC, datetime, timedelta

import pytest

from results_mutual_recognition.domain.recognition import (
    Catalog,
    CatalogItem,
    CatalogVersion,
    CheckSummary,
    Choice,
    ChoiceError,
    ChoiceKind,
    DeclineReason,
    IndexedResult,
    IndicatorRow,
    ItemCategory,
    Outcome,
    PriceEntry,
    PriceError,
    PriceList,
    QcHistory,
    QcPeriod,
    QcStatus,
    RecognitionDecided,
    RequestContext,
    decide,
    indicators,
    record_choice,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PRODUCED = datetime(2026, 8, 1, 9, 0, tzinfo=UTC)
ORDER = PRODUCED + timedelta(days=2)
CBC = CatalogItem("CBC", "Complete blood count", ItemCategory.LABORATORY, 90)
CATALOG = Catalog((CatalogVersion(1, T0, {"CBC": CBC}),))
QC = QcHistory((QcPeriod("LAB-A", "CBC", QcStatus.PASSED, T0, None, "EQA-1"),))
PRICES = PriceList((
    PriceEntry("H001", "CBC", 2500, T0),
    PriceEntry("H001", "CBC", 2800, ORDER),
    PriceEntry("H003", "CBC", 2000, T0),
))


def _result(rid, hospital="H002", at=PRODUCED):
    return IndexedResult(rid, "P-SYN-1", "CBC", hospital, "LAB-A", "5.6", "10*9/L", at,
                         f"RPT-{rid}", "F")


RESULTS = [_result("R1"), _result("R2", "H003", PRODUCED - timedelta(days=5))]


def _decided(at=ORDER, hospital="H001", results=RESULTS):
    ctx = RequestContext(hospital, at)
    return decide("CBC", results, CATALOG, QC, ctx), ctx


# ---------------------------------------------------------------- prices


def test_the_price_in_force_is_the_latest_started_one_for_that_hospital():
    assert PRICES.price("H001", "CBC", ORDER - timedelta(microseconds=1)) == 2500
    assert PRICES.price("H001", "CBC", ORDER) == 2800
    assert PRICES.price("H003", "CBC", ORDER) == 2000
    assert PRICES.price("H001", "CBC", T0 - timedelta(microseconds=1)) is None
    assert PRICES.price("H009", "CBC", ORDER) is None
    assert PRICES.price("H001", "CT-CHEST", ORDER) is None


@pytest.mark.parametrize("price", [-1, 1.5, True])
def test_prices_are_non_negative_integer_fen(price):
    with pytest.raises(PriceError) as err:
        PriceEntry("H001", "CBC", price, T0)
    assert err.value.field_name == "price_fen"


def test_two_prices_starting_together_are_refused():
    with pytest.raises(PriceError):
        PriceList((PriceEntry("H001", "CBC", 1, T0), PriceEntry("H001", "CBC", 2, T0)))


# ---------------------------------------------------------------- choices


def test_reusing_a_recognised_result_saves_the_requesting_hospital_s_price():
    decision, ctx = _decided()
    event = record_choice(decision, Choice(ChoiceKind.REUSE, "CBC", "R2"), PRICES, ctx)
    assert event.outcome is Outcome.REUSED
    assert (event.result_id, event.issuing_hospital) == ("R2", "H003")
    assert event.saving_fen == 2800  # H001's price at the order, not the issuer's
    assert not event.price_missing
    assert (event.patient_id, event.requesting_hospital, event.at) == ("P-SYN-1", "H001", ORDER)
    assert event.decline_reason is None


def test_reuse_without_a_price_saves_nothing_and_flags_it():
    decision, ctx = _decided(hospital="H005")
    event = record_choice(decision, Choice(ChoiceKind.REUSE, "CBC", "R1"), PRICES, ctx)
    assert (event.saving_fen, event.price_missing) == (0, True)


def test_a_zero_price_is_a_price_not_a_missing_one():
    decision, ctx = _decided()
    prices = PriceList((PriceEntry("H001", "CBC", 0, T0),))
    event = record_choice(decision, Choice(ChoiceKind.REUSE, "CBC", "R1"), prices, ctx)
    assert (event.saving_fen, event.price_missing) == (0, False)


def test_reusing_a_result_that_was_not_recognised_is_refused():
    expired = _result("R-OLD", at=PRODUCED - timedelta(days=200))
    decision, ctx = _decided(results=[*RESULTS, expired])
    for result_id in ("R-OLD", "R-UNKNOWN", None):
        with pytest.raises(ChoiceError) as err:
            record_choice(decision, Choice(ChoiceKind.REUSE, "CBC", result_id), PRICES, ctx)
        assert err.value.field_name == "result_id"


def test_nothing_can_be_reused_or_declined_when_nothing_was_recognised():
    decision, ctx = _decided(results=[])
    with pytest.raises(ChoiceError) as err:
        record_choice(decision, Choice(ChoiceKind.DECLINE, "CBC", None,
                                       DeclineReason.PATIENT_REQUEST), PRICES, ctx)
    assert err.value.field_name == "kind"


def test_declining_records_the_reason_and_saves_nothing():
    decision, ctx = _decided()
    event = record_choice(decision, Choice(ChoiceKind.DECLINE, "CBC", None,
                                           DeclineReason.CONDITION_CHANGED), PRICES, ctx)
    assert event.outcome is Outcome.DECLINED
    assert event.decline_reason is DeclineReason.CONDITION_CHANGED
    assert (event.saving_fen, event.price_missing, event.result_id, event.issuing_hospital) == (
        0, False, None, None)


def test_a_decline_may_name_the_recognised_result_it_passes_over():
    decision, ctx = _decided()
    event = record_choice(decision, Choice(ChoiceKind.DECLINE, "CBC", "R1",
                                           DeclineReason.QUALITY_DOUBT), PRICES, ctx)
    assert (event.result_id, event.issuing_hospital) == ("R1", "H002")


def test_a_decline_needs_a_reason():
    decision, ctx = _decided()
    with pytest.raises(ChoiceError) as err:
        record_choice(decision, Choice(ChoiceKind.DECLINE, "CBC"), PRICES, ctx)
    assert err.value.field_name == "decline_reason"


def test_declining_for_another_reason_needs_text():
    decision, ctx = _decided()
    for text in ("", "   "):
        with pytest.raises(ChoiceError) as err:
            record_choice(decision, Choice(ChoiceKind.DECLINE, "CBC", None, DeclineReason.OTHER,
                                           text), PRICES, ctx)
        assert err.value.field_name == "text"
    event = record_choice(decision, Choice(ChoiceKind.DECLINE, "CBC", None, DeclineReason.OTHER,
                                           " sample haemolysed "), PRICES, ctx)
    assert event.decline_text == "sample haemolysed"


def test_overlong_or_control_character_text_is_refused():
    decision, ctx = _decided()
    for text in ("x" * 501, "a\x00b"):
        with pytest.raises(ChoiceError):
            record_choice(decision, Choice(ChoiceKind.DECLINE, "CBC", None, DeclineReason.OTHER,
                                           text), PRICES, ctx)


def test_a_reuse_cannot_carry_a_decline_reason():
    decision, ctx = _decided()
    with pytest.raises(ChoiceError) as err:
        record_choice(decision, Choice(ChoiceKind.REUSE, "CBC", "R1",
                                       DeclineReason.QUALITY_DOUBT), PRICES, ctx)
    assert err.value.field_name == "decline_reason"


def test_a_choice_must_match_the_decision_s_item_hospital_and_time():
    decision, ctx = _decided()
    with pytest.raises(ChoiceError) as err:
        record_choice(decision, Choice(ChoiceKind.REUSE, "CT-CHEST", "R1"), PRICES, ctx)
    assert err.value.field_name == "item_code"
    with pytest.raises(ChoiceError) as err:
        record_choice(decision, Choice(ChoiceKind.REUSE, "CBC", "R1"), PRICES,
                      RequestContext("H003", ORDER))
    assert err.value.field_name == "requesting_hospital"
    with pytest.raises(ChoiceError) as err:
        record_choice(decision, Choice(ChoiceKind.REUSE, "CBC", "R1"), PRICES,
                      RequestContext("H001", ORDER - timedelta(microseconds=1)))
    assert err.value.field_name == "at"


def test_decision_ids_are_deterministic_unless_given():
    decision, ctx = _decided()
    choice = Choice(ChoiceKind.REUSE, "CBC", "R1")
    first = record_choice(decision, choice, PRICES, ctx)
    assert first.decision_id == record_choice(decision, choice, PRICES, ctx).decision_id
    assert first.decision_id.startswith("rd-")
    assert "P-SYN-1" not in first.decision_id
    assert record_choice(decision, choice, PRICES, ctx, decision_id="D-42").decision_id == "D-42"


def test_two_hospitals_can_each_reuse_the_same_result():
    events = []
    for hospital in ("H001", "H003"):
        decision, ctx = _decided(hospital=hospital)
        events.append(record_choice(decision, Choice(ChoiceKind.REUSE, "CBC", "R1"), PRICES, ctx))
    assert [(e.requesting_hospital, e.saving_fen) for e in events] == [("H001", 2800),
                                                                      ("H003", 2000)]
    assert events[0].decision_id != events[1].decision_id


# ---------------------------------------------------------------- indicators


def _event(outcome, at, saving=0, missing=False, hospital="H001", item="CBC"):
    return RecognitionDecided("D", "P-SYN-1", hospital, item, outcome, None, None, saving,
                              missing, None, at)


def test_indicators_count_checks_choices_rates_and_savings_per_hospital_item_and_month():
    aug = datetime(2026, 8, 10, tzinfo=UTC)
    checks = [CheckSummary("H001", "CBC", aug, True) for _ in range(4)] + [
        CheckSummary("H001", "CBC", aug, False)]
    decisions = [_event(Outcome.REUSED, aug, 2500), _event(Outcome.REUSED, aug, 0, True),
                 _event(Outcome.REUSED, aug, 2500), _event(Outcome.DECLINED, aug)]
    (row,) = indicators(decisions, checks)
    assert row == IndicatorRow("H001", "CBC", "2026-08", checks=5, recognisable=4, reused=3,
                               declined=1, savings_fen=5000, price_missing=1)
    assert row.recognition_rate == 0.75
    assert row.repeat_test_rate == 0.25


def test_rates_are_undefined_without_recognisable_checks():
    (row,) = indicators([], [CheckSummary("H001", "CBC", datetime(2026, 8, 1, tzinfo=UTC),
                                          False)])
    assert (row.checks, row.recognisable) == (1, 0)
    assert row.recognition_rate is None and row.repeat_test_rate is None


def test_months_are_counted_in_beijing_time_by_default():
    late_utc = datetime(2026, 8, 31, 16, 30, tzinfo=UTC)  # 2026-09-01 00:30 +08:00
    rows = indicators([_event(Outcome.REUSED, late_utc, 100)],
                      [CheckSummary("H001", "CBC", late_utc, True)])
    assert [r.period for r in rows] == ["2026-09"]
    assert [r.period for r in indicators([], [CheckSummary("H001", "CBC", late_utc, True)],
                                         tz=UTC)] == ["2026-08"]


def test_indicator_rows_are_split_and_sorted_by_hospital_item_and_month():
    aug, sep = datetime(2026, 8, 5, tzinfo=UTC), datetime(2026, 9, 5, tzinfo=UTC)
    rows = indicators(
        [_event(Outcome.REUSED, sep, 10, hospital="H002"), _event(Outcome.DECLINED, aug)],
        [CheckSummary("H001", "CT-CHEST", aug, True), CheckSummary("H001", "CBC", sep, True)])
    assert [(r.hospital_id, r.item_code, r.period) for r in rows] == [
        ("H001", "CBC", "2026-08"), ("H001", "CBC", "2026-09"), ("H001", "CT-CHEST", "2026-08"),
        ("H002", "CBC", "2026-09")]
    assert rows[3].savings_fen == 10 and rows[3].recognition_rate is None


def test_item_decisions_feed_indicators_directly():
    recognised, _ = _decided()
    missing, _ = _decided(results=[])
    (row,) = indicators([], [recognised, missing])
    assert (row.checks, row.recognisable, row.period) == (2, 1, "2026-08")


def test_indicators_survive_a_check_at_the_end_of_the_calendar():
    """Issue 12 finding 5: a stored check at 9999-12-31T23:59:59Z overflowed China time and broke every read."""
    from results_mutual_recognition.domain.recognition import CheckSummary, indicators

    end = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    start = datetime(1, 1, 1, tzinfo=UTC)
    rows = indicators([], [CheckSummary("H001", "LAB-CBC", end, True), CheckSummary("H001", "LAB-CBC", start, False)])
    assert [(r.period, r.checks) for r in rows] == [("0001-01", 1), ("9999-12", 1)]
