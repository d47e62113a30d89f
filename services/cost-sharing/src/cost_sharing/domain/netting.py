"""Multilateral netting of settlement balances into the fewest transfers. Pure domain, no I/O.

A positive balance is owed to the party (it receives), a negative one is owed by it (it pays);
the balances must sum to 0. Settling n non-zero parties that split into at most k disjoint groups
each summing to 0 takes exactly n − k transfers at minimum (each group of m needs m − 1: every
transfer can close at most one party, the last one of a group closes two).

:func:`minimal_transfers`:

1. pairs off a debtor and a creditor with exactly opposite balances (one transfer each; this never
   loses optimality: such a pair can always be its own group in a best partition);
2. if at most :data:`EXACT_LIMIT` (16) parties remain, finds the maximum number of zero-sum groups
   exactly by dynamic programming over subsets (O(2^n · n)), so the result is the minimum n − k;
3. beyond that, settles the rest greedily (largest debtor pays largest creditor), which needs at
   most n − 1 transfers — within (n − 1) − (n − k) = k − 1 of the minimum — in O(n log n);
4. within each group the greedy rule settles m parties in at most m − 1 transfers.

Ties are broken by party name, and the output is sorted by (payer, payee), so the same balances
always give the same transfers.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .errors import DomainError

EXACT_LIMIT = 16


class NettingError(DomainError):
    """Balances or obligations cannot be netted; names the offending field."""


@dataclass(frozen=True)
class Transfer:
    """One payment that settles (part of) the netted balances."""

    payer: str
    payee: str
    amount_fen: int


def _is_int(value: object) -> bool:
    """True for an int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def gross_to_balances(obligations: Iterable[tuple[str, str, int]]) -> dict[str, int]:
    """Net balance per party from (payer, payee, amount) obligations; every party, even at 0."""
    result: dict[str, int] = {}
    for index, obligation in enumerate(obligations):
        where = f"obligations[{index}]"
        if not isinstance(obligation, tuple) or len(obligation) != 3:
            raise NettingError(where, "must be a (payer, payee, amount_fen) tuple")
        payer, payee, amount = obligation
        for name, party in (("payer", payer), ("payee", payee)):
            if not isinstance(party, str) or not party:
                raise NettingError(f"{where}.{name}", "must be a non-empty string")
        if payer == payee:
            raise NettingError(where, f"{payer} cannot owe itself")
        if not _is_int(amount) or amount < 0:
            raise NettingError(
                f"{where}.amount_fen", f"must be a non-negative integer, got {amount!r}"
            )
        result[payer] = result.get(payer, 0) - amount
        result[payee] = result.get(payee, 0) + amount
    return result


def apply_transfers(balances: Mapping[str, int], transfers: Iterable[Transfer]) -> dict[str, int]:
    """Balances left after the transfers are paid (all 0 when the transfers settle them)."""
    result = dict(balances)
    for transfer in transfers:
        result[transfer.payer] = result.get(transfer.payer, 0) + transfer.amount_fen
        result[transfer.payee] = result.get(transfer.payee, 0) - transfer.amount_fen
    return result


def _validate(balances: Mapping[str, int]) -> dict[str, int]:
    """The non-zero balances; NettingError if a value is not int fen or they do not sum to 0."""
    nonzero: dict[str, int] = {}
    for party, amount in balances.items():
        if not isinstance(party, str) or not party:
            raise NettingError("balances", f"party names must be non-empty strings, got {party!r}")
        if not _is_int(amount):
            raise NettingError(f"balances[{party}]", f"must be integer fen, got {amount!r}")
        if amount:
            nonzero[party] = amount
    total = sum(nonzero.values())
    if total != 0:
        raise NettingError("balances", f"must sum to 0, got {total}")
    return nonzero


def _pair_opposites(balances: dict[str, int]) -> tuple[list[Transfer], dict[str, int]]:
    """Transfers for debtor/creditor pairs with exactly opposite balances, and what remains."""
    debtors: dict[int, list[str]] = {}
    creditors: dict[int, list[str]] = {}
    for party in sorted(balances):
        amount = balances[party]
        (creditors if amount > 0 else debtors).setdefault(abs(amount), []).append(party)
    transfers: list[Transfer] = []
    rest = dict(balances)
    for amount in sorted(debtors):
        for payer, payee in zip(debtors[amount], creditors.get(amount, []), strict=False):
            transfers.append(Transfer(payer, payee, amount))
            del rest[payer], rest[payee]
    return transfers, rest


def _settle_greedily(group: Mapping[str, int]) -> list[Transfer]:
    """Largest debtor pays largest creditor until all are 0: at most len(group) − 1 transfers."""
    debtors = [(amount, party) for party, amount in group.items() if amount < 0]
    creditors = [(-amount, party) for party, amount in group.items() if amount > 0]
    heapq.heapify(debtors)
    heapq.heapify(creditors)
    transfers: list[Transfer] = []
    while debtors and creditors:
        owed, payer = heapq.heappop(debtors)
        due, payee = heapq.heappop(creditors)
        amount = min(-owed, -due)
        transfers.append(Transfer(payer, payee, amount))
        if owed + amount < 0:
            heapq.heappush(debtors, (owed + amount, payer))
        if due + amount < 0:
            heapq.heappush(creditors, (due + amount, payee))
    return transfers


def _zero_sum_groups(parties: Sequence[str], amounts: Sequence[int]) -> list[list[str]]:
    """A partition of the parties into the maximum number of zero-sum groups (exact, ≤ 16)."""
    n = len(parties)
    size = 1 << n
    sums = [0] * size
    for mask in range(1, size):
        low = mask & -mask
        sums[mask] = sums[mask ^ low] + amounts[low.bit_length() - 1]
    # best[mask]: most zero-sum masks on a chain of one-element removals from mask down to 0,
    # i.e. the most disjoint zero-sum groups mask splits into when sums[mask] == 0.
    best = [0] * size
    for mask in range(1, size):
        top = 0
        rest = mask
        while rest:
            low = rest & -rest
            candidate = best[mask ^ low]
            if candidate > top:
                top = candidate
            rest ^= low
        best[mask] = top + (sums[mask] == 0)
    boundaries = [size - 1]
    mask = size - 1
    while mask:
        target = best[mask] - (sums[mask] == 0)
        rest = mask
        while rest:
            low = rest & -rest
            if best[mask ^ low] == target:
                break
            rest ^= low
        mask ^= low
        if mask and sums[mask] == 0:
            boundaries.append(mask)
    boundaries.append(0)
    groups = []
    for outer, inner in zip(boundaries, boundaries[1:], strict=False):
        members = outer ^ inner
        groups.append([parties[i] for i in range(n) if members >> i & 1])
    return groups


def minimal_transfers(balances: Mapping[str, int]) -> list[Transfer]:
    """Fewest transfers that bring every balance to 0 (exact up to 16 parties), sorted."""
    nonzero = _validate(balances)
    transfers, rest = _pair_opposites(nonzero)
    if len(rest) <= EXACT_LIMIT:
        parties = sorted(rest)
        for group in _zero_sum_groups(parties, [rest[p] for p in parties]) if parties else []:
            transfers.extend(_settle_greedily({p: rest[p] for p in group}))
    else:
        transfers.extend(_settle_greedily(rest))
    return sorted(transfers, key=lambda t: (t.payer, t.payee))


def transfer_count_bound(balances: Mapping[str, int]) -> int:
    """The n − 1 upper bound on transfers for n non-zero parties (0 when all are settled)."""
    return max(len(_validate(balances)) - 1, 0)
