from decimal import Decimal
from fractions import Fraction

import pytest

from cost_sharing.domain.allocation import (
    DEFAULT_JOINT_POLICY,
    AllocationError,
    JointServicePolicy,
    Party,
    allocate_pool,
    split_joint_revenue,
)

D = Decimal


def test_a_pool_is_split_by_weights_and_sums_exactly():
    allocation = allocate_pool("consult-fees", 100, {"A": D(1) / 3, "B": D(1) / 3, "C": D(1) / 3})
    assert allocation.pool_id == "consult-fees"
    assert allocation.amount_fen == 100
    assert allocation.shares == {"A": 34, "B": 33, "C": 33}


@pytest.mark.parametrize(
    ("pool_id", "amount", "weights", "field"),
    [
        ("p", 0, {"A": D(1)}, "amount_fen"),
        ("p", -5, {"A": D(1)}, "amount_fen"),
        ("p", 10.0, {"A": D(1)}, "amount_fen"),
        ("", 10, {"A": D(1)}, "pool_id"),
        ("p", 10, {"A": D(0)}, "weights"),
    ],
)
def test_a_pool_needs_an_id_a_positive_amount_and_usable_weights(pool_id, amount, weights, field):
    with pytest.raises(AllocationError) as err:
        allocate_pool(pool_id, amount, weights)
    assert err.value.field == field


def test_one_expert_and_one_site_at_full_scores_split_six_to_four():
    shares, breakdown = split_joint_revenue(10_001, [Party("H-CITY", "expert"),
                                                    Party("H-TOWN", "site")])
    assert shares == {"H-CITY": 6_001, "H-TOWN": 4_000}
    assert sum(shares.values()) == 10_001
    assert abs(Fraction(shares["H-CITY"], shares["H-TOWN"]) - Fraction(3, 2)) < Fraction(1, 1000)
    assert any(line.startswith("expert H-CITY: 0.6 × (") for line in breakdown)
    assert any("H-TOWN receives 40.00 of 100.01 yuan" in line for line in breakdown)


def test_a_lower_expert_score_leaves_more_to_the_site():
    weak = Party("H-CITY", "expert", difficulty=D("0.5"))  # 0.6 × 0.8 = 0.48 against 0.4
    shares, _ = split_joint_revenue(8_800, [weak, Party("H-TOWN", "site")])
    assert shares == {"H-CITY": 4_800, "H-TOWN": 4_000}


def test_several_experts_share_the_expert_weight_by_their_factor_scores():
    parties = [Party("E1", "expert"), Party("E2", "expert", satisfaction=D(0)),
               Party("S", "site")]
    # E1: 0.6 × 1 / 2 = 0.3; E2: 0.6 × 0.8 / 2 = 0.24; S: 0.4
    shares, breakdown = split_joint_revenue(94_000, parties)
    assert shares == {"E1": 30_000, "E2": 24_000, "S": 40_000}
    assert any("/ 2 = 0.240000" in line for line in breakdown)


def test_experts_at_full_scores_together_keep_the_expert_weight():
    parties = [Party("E1", "expert"), Party("E2", "expert"), Party("S", "site")]
    shares, _ = split_joint_revenue(10_000, parties)
    assert shares == {"E1": 3_000, "E2": 3_000, "S": 4_000}


def test_a_role_without_parties_takes_nothing():
    shares, _ = split_joint_revenue(999, [Party("E1", "expert"), Party("E2", "expert")])
    assert shares == {"E1": 500, "E2": 499}


def test_a_custom_policy_is_honoured():
    policy = JointServicePolicy(role_weights={"expert": D("0.5"), "site": D("0.5")},
                                factor_weights={"resources": D(1)})
    parties = [Party("E", "expert", resources=D("0.5"), difficulty=D(0)), Party("S", "site")]
    shares, _ = split_joint_revenue(300, parties, policy)
    assert shares == {"E": 100, "S": 200}


@pytest.mark.parametrize(
    ("parties", "field"),
    [
        ([], "parties"),
        ([Party("E", "expert", resources=D("1.1"))], "parties[0].resources"),
        ([Party("E", "expert", satisfaction=D(-1))], "parties[0].satisfaction"),
        ([Party("E", "expert", difficulty=0.5)], "parties[0].difficulty"),
        ([Party("E", "surgeon")], "parties[0].role"),
        ([Party("E", "expert"), Party("E", "site")], "parties[1].hospital_id"),
        ([Party("E", "expert", D(0), D(0), D(0))], "parties"),
    ],
)
def test_invalid_parties_are_refused_naming_the_field(parties, field):
    with pytest.raises(AllocationError) as err:
        split_joint_revenue(100, parties)
    assert isinstance(err.value, ValueError)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        (JointServicePolicy({"expert": D("0.6"), "site": D("0.4")},
                            {"resources": D("0.5"), "difficulty": D("0.4")}), "factor_weights"),
        (JointServicePolicy({"expert": D("-0.6"), "site": D("0.4")},
                            DEFAULT_JOINT_POLICY.factor_weights), "role_weights.expert"),
        (JointServicePolicy({"expert": D("0.6"), "nurse": D("0.4")},
                            DEFAULT_JOINT_POLICY.factor_weights), "role_weights"),
        (JointServicePolicy(DEFAULT_JOINT_POLICY.role_weights,
                            {"resources": D(1), "luck": D(0)}), "factor_weights"),
    ],
)
def test_invalid_policies_are_refused_naming_the_field(policy, field):
    with pytest.raises(AllocationError) as err:
        split_joint_revenue(100, [Party("E", "expert")], policy)
    assert err.value.field == field


def test_the_split_does_not_depend_on_the_order_of_parties():
    parties = [Party("B", "site", resources=D("0.3")), Party("A", "expert"),
               Party("C", "expert", difficulty=D("0.7"))]
    assert split_joint_revenue(12_345, parties) == split_joint_revenue(12_345, parties[::-1])
