import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from cost_sharing.domain.ledger import Leg, balances, post, validate_draft
from cost_sharing.domain.settlement import (
    EncounterCost,
    ReferralFacts,
    ReferralPolicy,
    SettlementError,
    settle_referral,
)

REQUESTED = datetime(2026, 3, 10, 8, tzinfo=UTC)
COMPLETED = datetime(2026, 3, 20, 8, tzinfo=UTC)
DAY = timedelta(days=1)


def referral(direction="up", **changes) -> ReferralFacts:
    facts = ReferralFacts("R-1", "AP-SYNTH-1", direction, "H-TOWN", "H-CITY", REQUESTED, COMPLETED)
    return replace(facts, **changes)


def enc(encounter_id, hospital, patient_class, total_fen, discharged_at=REQUESTED) -> EncounterCost:
    return EncounterCost(encounter_id, hospital, patient_class, total_fen, discharged_at)


def episode() -> list[EncounterCost]:
    return [
        enc("T-1", "H-TOWN", "O", 12_345, REQUESTED - 2 * DAY),
        enc("T-2", "H-TOWN", "E", 5_000, REQUESTED),
        enc("T-3", "H-TOWN", "I", 80_000, REQUESTED - 5 * DAY),
        enc("C-1", "H-CITY", "I", 1_234_567, COMPLETED - DAY),
        enc("C-2", "H-CITY", "O", 3_000, COMPLETED - 3 * DAY),
    ]


def test_an_up_referral_splits_outpatient_to_the_origin_and_inpatient_to_the_receiver():
    result = settle_referral(referral(), episode())
    town, city = result.lines
    assert (town.hospital_id, town.bears, town.cost_fen, town.encounters) == (
        "H-TOWN", "outpatient", 17_345, ("T-1", "T-2"))
    assert (city.hospital_id, city.bears, city.cost_fen, city.encounters) == (
        "H-CITY", "inpatient", 1_234_567, ("C-1",))
    assert (town.insurance_fen, town.patient_fen) == (12_142, 5_203)  # 12,141.5 → 12,142
    assert (city.insurance_fen, city.patient_fen) == (864_197, 370_370)  # 864,196.9
    assert any("excluded inpatient encounter T-3 at H-TOWN" in s for s in result.explanation)
    assert any("excluded outpatient encounter C-2 at H-CITY" in s for s in result.explanation)
    assert not result.pending


def test_each_line_becomes_one_balanced_ledger_draft():
    result = settle_referral(referral(), episode())
    town_entry, city_entry = result.entries
    assert town_entry.kind == "referral_settlement"
    assert town_entry.reference == "referral:R-1:H-TOWN"
    assert town_entry.legs == (Leg("insurer:basic", debit_fen=12_142),
                               Leg("patients:copay", debit_fen=5_203),
                               Leg("hospital:H-TOWN", credit_fen=17_345))
    assert city_entry.reference == "referral:R-1:H-CITY"
    assert (town_entry.period, town_entry.occurred_at) == ("2026-03", COMPLETED)
    assert "AP-SYNTH-1" not in town_entry.memo
    for draft in result.entries:
        validate_draft(draft)
    assert balances(result.entries) == {"insurer:basic": -876_339, "patients:copay": -375_573,
                                        "hospital:H-TOWN": 17_345, "hospital:H-CITY": 1_234_567}
    first = post(None, town_entry, "E-1", COMPLETED)
    assert post(first, city_entry, "E-2", COMPLETED).seq == 2


def test_a_down_referral_flips_who_bears_what():
    result = settle_referral(referral("down", origin_hospital="H-CITY",
                                      receiving_hospital="H-TOWN"), episode())
    assert [(line.hospital_id, line.bears, line.encounters) for line in result.lines] == [
        ("H-CITY", "inpatient", ("C-1",)), ("H-TOWN", "outpatient", ("T-1", "T-2"))]


def test_the_episode_window_is_inclusive_at_both_ends():
    encounters = [
        enc("A", "H-TOWN", "O", 100, REQUESTED - 30 * DAY),
        enc("B", "H-TOWN", "O", 100, REQUESTED - 30 * DAY - timedelta(microseconds=1)),
        enc("C", "H-CITY", "I", 100, COMPLETED),
        enc("D", "H-CITY", "I", 100, COMPLETED + timedelta(microseconds=1)),
    ]
    result = settle_referral(referral(), encounters)
    assert [line.encounters for line in result.lines] == [("A",), ("C",)]
    assert sum("outside the episode window" in s for s in result.explanation) == 2


def test_the_lookback_comes_from_the_policy():
    encounters = [enc("A", "H-TOWN", "O", 100, REQUESTED - 10 * DAY)]
    assert settle_referral(referral(), encounters, ReferralPolicy(lookback_days=7)).pending
    assert not settle_referral(referral(), encounters, ReferralPolicy(lookback_days=10)).pending


def test_encounters_at_other_hospitals_are_left_out_and_said_so():
    result = settle_referral(referral(), [enc("X", "H-ELSE", "I", 500)])
    assert result.pending
    assert any("H-ELSE: not a hospital of this referral" in s for s in result.explanation)


def test_without_costs_the_episode_stays_pending():
    result = settle_referral(referral(), [])
    assert (result.lines, result.entries, result.pending) == ((), (), True)
    assert result.referral_id == "R-1"
    assert "pending" in result.explanation[-1]


def test_a_line_of_zero_cost_is_reported_but_not_posted():
    result = settle_referral(referral(), [enc("A", "H-TOWN", "O", 0), enc("B", "H-CITY", "I", 10)])
    assert [line.cost_fen for line in result.lines] == [0, 10]
    assert [draft.reference for draft in result.entries] == ["referral:R-1:H-CITY"]


def test_zero_legs_are_omitted_when_one_party_pays_everything():
    encounters = [enc("B", "H-CITY", "I", 1_000)]
    full = settle_referral(referral(), encounters, ReferralPolicy(insurance_share=Decimal(1)))
    assert [leg.account for leg in full.entries[0].legs] == ["insurer:basic", "hospital:H-CITY"]
    none = settle_referral(referral(), encounters, ReferralPolicy(insurance_share=Decimal(0),
                                                                  payer_account="insurer:x"))
    assert [leg.account for leg in none.entries[0].legs] == ["patients:copay", "hospital:H-CITY"]


def test_insurance_rounds_half_up_to_the_fen():
    result = settle_referral(referral(), [enc("B", "H-CITY", "I", 5)])  # 3.5 fen
    assert (result.lines[0].insurance_fen, result.lines[0].patient_fen) == (4, 1)


def test_the_same_facts_in_any_order_give_the_same_settlement():
    encounters = episode()
    expected = settle_referral(referral(), encounters)
    rng = random.Random(7)
    for _ in range(5):
        rng.shuffle(encounters)
        assert settle_referral(referral(), encounters) == expected


def test_an_encounter_delivered_twice_counts_once():
    encounters = episode()
    assert settle_referral(referral(), encounters + encounters[:2]) == settle_referral(
        referral(), encounters)


def test_an_encounter_id_with_two_different_costs_is_refused():
    with pytest.raises(SettlementError) as err:
        settle_referral(referral(), [enc("A", "H-TOWN", "O", 1), enc("A", "H-TOWN", "O", 2)])
    assert err.value.field == "encounters[1].encounter_id"


def test_the_accounting_period_is_the_china_month_of_completion():
    late = datetime(2026, 3, 31, 17, tzinfo=UTC)  # 1 April 01:00 in China
    result = settle_referral(referral(completed_at=late), [enc("B", "H-CITY", "I", 10)])
    assert result.entries[0].period == "2026-04"


@pytest.mark.parametrize(
    ("facts", "encounters", "policy", "field"),
    [
        (referral(direction="sideways"), [], ReferralPolicy(), "direction"),
        (referral(receiving_hospital="H-TOWN"), [], ReferralPolicy(), "receiving_hospital"),
        (referral(completed_at=REQUESTED - DAY), [], ReferralPolicy(), "completed_at"),
        (referral(requested_at=datetime(2026, 3, 1)), [], ReferralPolicy(), "requested_at"),
        (referral(referral_id=""), [], ReferralPolicy(), "referral_id"),
        (referral(), [enc("A", "H-TOWN", "X", 1)], ReferralPolicy(), "encounters[0].patient_class"),
        (referral(), [enc("A", "H-TOWN", "O", -1)], ReferralPolicy(), "encounters[0].total_fen"),
        (referral(), [enc("A", "H-TOWN", "O", 1.0)], ReferralPolicy(), "encounters[0].total_fen"),
        (referral(), [enc("A", "H-TOWN", "O", 1, datetime(2026, 3, 1))], ReferralPolicy(),
         "encounters[0].discharged_at"),
        (referral(), [], ReferralPolicy(insurance_share=Decimal("1.1")), "insurance_share"),
        (referral(), [], ReferralPolicy(insurance_share=0.7), "insurance_share"),
        (referral(), [], ReferralPolicy(lookback_days=-1), "lookback_days"),
        (referral(), [], ReferralPolicy(payer_account="patients:copay"), "payer_account"),
    ],
)
def test_invalid_facts_are_refused_naming_the_field(facts, encounters, policy, field):
    with pytest.raises(SettlementError) as err:
        settle_referral(facts, encounters, policy)
    assert isinstance(err.value, ValueError)
    assert err.value.field == field
