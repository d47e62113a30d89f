"""Allocation of common-cost pools and split of joint-service revenue. Pure domain, no I/O.

Joint-service revenue (remote consultation, joint surgery) is split between the hospitals that
supplied the expert and the one that supplied the site and patient:

* a party's factor score is ``f_p = Σ factor_weight × score`` over resources, difficulty and
  satisfaction, each score in [0, 1], so ``f_p`` is in [0, 1];
* its weight is ``w_p = role_weight × f_p / n_role`` where ``n_role`` is the number of parties in
  that role. The role weight is what the role earns when all its parties score 1; several parties
  in the same role divide it in proportion to their factor scores, and a party scoring below 1
  leaves the difference to the other parties (the weights are normalised by their sum);
* amounts are ``largest_remainder(amount, w)``, so they sum exactly to the revenue. With one expert
  and one site scoring 1 everywhere the default policy splits 6:4.

A hospital may appear once per split; a role without parties simply takes no weight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Literal

from cost_sharing.domain.money import (
    MoneyError,
    format_fen,
    largest_remainder,
    percent,
    quantize_fraction,
    to_fraction,
)

from .errors import DomainError

ROLES = ("expert", "site")
FACTORS = ("resources", "difficulty", "satisfaction")


class AllocationError(DomainError):
    """An allocation or a split cannot be made as asked; names the offending field."""


@dataclass(frozen=True)
class Allocation:
    """A pool amount split into per-hospital shares that sum exactly to it."""

    pool_id: str
    amount_fen: int
    shares: dict[str, int]


def _amount(value: object, field: str) -> int:
    """A positive int amount of fen, else AllocationError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise AllocationError(field, f"must be an integer amount of fen, got {value!r}")
    if value <= 0:
        raise AllocationError(field, f"must be positive, got {value}")
    return value


def _exact(value: object, field: str) -> Fraction:
    """Exact value of a Decimal/int, else AllocationError."""
    try:
        return to_fraction(value, field)
    except MoneyError as err:
        raise AllocationError(err.field, err.message) from None


def allocate_pool(pool_id: str, amount_fen: int, weights: Mapping[str, Decimal]) -> Allocation:
    """Split a common-cost pool by weights (e.g. coefficient shares) with largest remainder."""
    if not isinstance(pool_id, str) or not pool_id:
        raise AllocationError("pool_id", "must be a non-empty string")
    _amount(amount_fen, "amount_fen")
    try:
        shares = largest_remainder(amount_fen, weights)
    except MoneyError as err:
        raise AllocationError(err.field, err.message) from None
    return Allocation(pool_id=pool_id, amount_fen=amount_fen, shares=shares)


@dataclass(frozen=True)
class Party:
    """A hospital in a joint service, its role and its scores in [0, 1]."""

    hospital_id: str
    role: Literal["expert", "site"]
    resources: Decimal = Decimal(1)
    difficulty: Decimal = Decimal(1)
    satisfaction: Decimal = Decimal(1)


@dataclass(frozen=True)
class JointServicePolicy:
    """Role weights (expert/site) and factor weights (resources/difficulty/satisfaction, sum 1)."""

    role_weights: Mapping[str, Decimal]
    factor_weights: Mapping[str, Decimal]


DEFAULT_JOINT_POLICY = JointServicePolicy(
    role_weights=MappingProxyType({"expert": Decimal("0.6"), "site": Decimal("0.4")}),
    factor_weights=MappingProxyType(
        {"resources": Decimal("0.4"), "difficulty": Decimal("0.4"), "satisfaction": Decimal("0.2")}
    ),
)


def validate_joint_policy(policy: JointServicePolicy) -> None:
    """AllocationError unless role weights are ≥ 0 and factor weights are ≥ 0 summing to 1."""
    for role, weight in policy.role_weights.items():
        if role not in ROLES:
            raise AllocationError("role_weights", f"unknown role {role!r} (known: expert, site)")
        if _exact(weight, f"role_weights.{role}") < 0:
            raise AllocationError(f"role_weights.{role}", f"must not be negative, got {weight}")
    total = Fraction(0)
    for factor, weight in policy.factor_weights.items():
        if factor not in FACTORS:
            raise AllocationError(
                "factor_weights", f"unknown factor {factor!r} (known: {', '.join(FACTORS)})"
            )
        value = _exact(weight, f"factor_weights.{factor}")
        if value < 0:
            raise AllocationError(f"factor_weights.{factor}", f"must not be negative, got {weight}")
        total += value
    if total != 1:
        raise AllocationError("factor_weights", f"must sum to 1, got {quantize_fraction(total)}")


def _validate_parties(parties: Sequence[Party], policy: JointServicePolicy) -> None:
    """AllocationError on no parties, a repeated hospital, a bad role or a score outside [0, 1]."""
    if not parties:
        raise AllocationError("parties", "at least one party is needed")
    seen: set[str] = set()
    for index, party in enumerate(parties):
        where = f"parties[{index}]"
        if not isinstance(party.hospital_id, str) or not party.hospital_id:
            raise AllocationError(f"{where}.hospital_id", "must be a non-empty string")
        if party.hospital_id in seen:
            raise AllocationError(f"{where}.hospital_id", f"{party.hospital_id} appears twice")
        seen.add(party.hospital_id)
        if party.role not in ROLES:
            raise AllocationError(f"{where}.role", f"must be expert or site, got {party.role!r}")
        if party.role not in policy.role_weights:
            raise AllocationError(f"{where}.role", f"the policy has no weight for {party.role}")
        for factor in FACTORS:
            score = _exact(getattr(party, factor), f"{where}.{factor}")
            if not 0 <= score <= 1:
                raise AllocationError(
                    f"{where}.{factor}", f"must be in [0, 1], got {getattr(party, factor)}"
                )


def _fmt(value: Fraction | Decimal) -> str:
    """A number in its shortest exact form up to 6 decimals."""
    text = format(quantize_fraction(Fraction(value), 6), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def split_joint_revenue(
    amount_fen: int,
    parties: Sequence[Party],
    policy: JointServicePolicy = DEFAULT_JOINT_POLICY,
) -> tuple[dict[str, int], tuple[str, ...]]:
    """Split joint-service revenue by role and factor scores; the shares and their breakdown."""
    _amount(amount_fen, "amount_fen")
    validate_joint_policy(policy)
    _validate_parties(parties, policy)
    ordered = sorted(parties, key=lambda p: (ROLES.index(p.role), p.hospital_id))
    counts = {role: sum(1 for p in ordered if p.role == role) for role in ROLES}
    factor_weights = {f: Fraction(policy.factor_weights.get(f, Decimal(0))) for f in FACTORS}

    weights: dict[str, Fraction] = {}
    lines: list[str] = []
    for party in ordered:
        role_weight = Fraction(policy.role_weights[party.role])
        scores = {f: Fraction(getattr(party, f)) for f in FACTORS}
        factor_score = sum((factor_weights[f] * scores[f] for f in FACTORS), Fraction(0))
        weight = role_weight * factor_score / counts[party.role]
        weights[party.hospital_id] = weight
        terms = " + ".join(f"{_fmt(factor_weights[f])}×{_fmt(scores[f])} {f}" for f in FACTORS)
        lines.append(
            f"{party.role} {party.hospital_id}: {_fmt(role_weight)} × ({terms}) "
            f"/ {counts[party.role]} = {format(quantize_fraction(weight), 'f')}"
        )
    total_weight = sum(weights.values(), Fraction(0))
    if total_weight == 0:
        raise AllocationError("parties", "every party scores 0, there is nothing to split by")
    shares = largest_remainder(amount_fen, weights)  # exact rational weights
    for party in ordered:
        share = shares[party.hospital_id]
        lines.append(
            f"{party.hospital_id} receives {format_fen(share)} of {format_fen(amount_fen)} yuan "
            f"({percent(share, amount_fen)}%)"
        )
    return shares, tuple(lines)

