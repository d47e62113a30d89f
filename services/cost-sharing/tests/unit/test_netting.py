import random
import time

import pytest

from cost_sharing.domain.netting import (
    NettingError,
    Transfer,
    apply_transfers,
    gross_to_balances,
    minimal_transfers,
    transfer_count_bound,
)


def cash_positions(payments) -> dict[str, int]:
    """Net cash each party ends with after the payments (received − paid), zeros dropped."""
    cash: dict[str, int] = {}
    for payer, payee, amount in payments:
        cash[payer] = cash.get(payer, 0) - amount
        cash[payee] = cash.get(payee, 0) + amount
    return {party: amount for party, amount in cash.items() if amount}


def as_payments(transfers):
    return [(t.payer, t.payee, t.amount_fen) for t in transfers]


def partitions(items):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for partition in partitions(rest):
        yield [[first], *partition]
        for i in range(len(partition)):
            yield [*partition[:i], [first, *partition[i]], *partition[i + 1:]]


def brute_force_minimum(balances: dict[str, int]) -> int:
    """n − (most zero-sum groups), by trying every partition of the non-zero parties."""
    parties = [p for p, v in balances.items() if v]
    best = max(sum(1 for group in partition if sum(balances[p] for p in group) == 0)
               if all(sum(balances[p] for p in group) == 0 for group in partition) else 0
               for partition in partitions(parties)) if parties else 0
    return len(parties) - best


def random_obligations(rng, parties, count, top=10_000):
    obligations = []
    for _ in range(count):
        payer, payee = rng.sample(parties, 2)
        obligations.append((payer, payee, rng.randint(1, top)))
    return obligations


def test_independent_debts_need_one_transfer_each():
    balances = gross_to_balances([("A", "B", 5), ("C", "D", 7)])
    assert minimal_transfers(balances) == [Transfer("A", "B", 5), Transfer("C", "D", 7)]


def test_a_cycle_of_debts_nets_to_nothing():
    assert minimal_transfers(gross_to_balances([("A", "B", 5), ("B", "C", 5), ("C", "A", 5)])) == []


def test_a_chain_of_debts_collapses_to_one_transfer():
    balances = gross_to_balances([("A", "B", 9), ("B", "C", 9), ("C", "D", 9)])
    assert minimal_transfers(balances) == [Transfer("A", "D", 9)]


def test_hidden_zero_sum_subgroups_are_found():
    # largest debtor to largest creditor needs 5 transfers; {A, B, C} and {D, E, F} need 2 each
    balances = {"A": -3, "B": 7, "C": -4, "D": 5, "E": -6, "F": 1}
    transfers = minimal_transfers(balances)
    assert len(transfers) == brute_force_minimum(balances) == 4
    assert {t.payer + t.payee for t in transfers} <= {"AB", "CB", "ED", "EF"}


def test_netting_settles_the_same_positions_as_gross_payment():
    rng = random.Random(20261123)
    for _ in range(200):
        parties = [f"H{i:02d}" for i in range(rng.randint(2, 22))]
        obligations = random_obligations(rng, parties, rng.randint(1, 40))
        balances = gross_to_balances(obligations)
        transfers = minimal_transfers(balances)
        assert cash_positions(as_payments(transfers)) == cash_positions(obligations)
        assert set(apply_transfers(balances, transfers).values()) <= {0}
        assert all(t.amount_fen > 0 and t.payer != t.payee for t in transfers)
        assert len(transfers) <= transfer_count_bound(balances)
        assert len({(t.payer, t.payee) for t in transfers}) == len(transfers)


def test_the_exact_minimum_matches_brute_force_on_small_instances():
    rng = random.Random(42)
    for _ in range(150):
        n = rng.randint(2, 8)
        amounts = [rng.choice([-3, -2, -1, 1, 2, 3, 5, -5]) for _ in range(n - 1)]
        amounts.append(-sum(amounts))
        balances = {f"P{i}": a for i, a in enumerate(amounts)}
        transfers = minimal_transfers(balances)
        assert len(transfers) == brute_force_minimum(balances)
        assert set(apply_transfers(balances, transfers).values()) <= {0}


def test_sixteen_parties_are_solved_exactly_in_reasonable_time():
    amounts = [3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, -53]  # no opposite pairs
    balances = {f"P{i:02d}": a for i, a in enumerate([*amounts, -sum(amounts)])}
    started = time.perf_counter()
    transfers = minimal_transfers(balances)
    assert time.perf_counter() - started < 10
    assert set(apply_transfers(balances, transfers).values()) <= {0}
    assert len(transfers) == 14  # two debtors, so at most two zero-sum groups: 16 − 2


def test_beyond_sixteen_parties_the_greedy_bound_holds_and_opposites_pair_off():
    pairs = {}
    for i in range(20):
        pairs[f"D{i:02d}"] = -(100 + i)
        pairs[f"C{i:02d}"] = 100 + i
    assert len(minimal_transfers(pairs)) == 20
    rng = random.Random(11)
    parties = [f"H{i:03d}" for i in range(120)]
    balances = gross_to_balances(random_obligations(rng, parties, 600, top=10**9))
    transfers = minimal_transfers(balances)
    assert len(transfers) <= transfer_count_bound(balances)
    assert set(apply_transfers(balances, transfers).values()) <= {0}


def test_the_output_is_deterministic_and_sorted():
    balances = {"Z": -10, "A": -5, "M": 8, "B": 7}
    transfers = minimal_transfers(balances)
    assert transfers == minimal_transfers(dict(reversed(list(balances.items()))))
    assert transfers == sorted(transfers, key=lambda t: (t.payer, t.payee))


def test_settled_parties_need_no_transfers():
    assert minimal_transfers({}) == []
    assert minimal_transfers({"A": 0, "B": 0}) == []
    assert minimal_transfers({"A": 0, "B": -3, "C": 3}) == [Transfer("B", "C", 3)]


@pytest.mark.parametrize(
    ("balances", "field"),
    [({"A": 5, "B": -4}, "balances"), ({"A": 1.0, "B": -1.0}, "balances[A]"),
     ({"": 1, "B": -1}, "balances"), ({"A": True, "B": -1}, "balances[A]")],
)
def test_unusable_balances_are_refused(balances, field):
    with pytest.raises(NettingError) as err:
        minimal_transfers(balances)
    assert isinstance(err.value, ValueError)
    assert err.value.field == field


@pytest.mark.parametrize(
    "obligation",
    [("A", "A", 5), ("A", "B", -1), ("A", "B", 1.5), ("", "B", 1), ("A", "B")],
)
def test_unusable_obligations_are_refused(obligation):
    with pytest.raises(NettingError):
        gross_to_balances([obligation])


def test_gross_obligations_become_net_balances():
    assert gross_to_balances([("A", "B", 5), ("B", "A", 2), ("C", "A", 1)]) == {
        "A": -2, "B": 3, "C": -1,
    }
