"""Contribution coefficients (贡献系数) from a versioned formula. Pure domain, no I/O.

For hospitals h with level factor L_h, volume metrics v_{h,m} and resource metrics r_{h,m}:

* ``V_h = Σ_m volume_metrics[m] × v_{h,m}`` and ``R_h = Σ_m resource_metrics[m] × r_{h,m}``;
  a metric a hospital did not report counts as 0, a reported metric the formula does not weigh is
  ignored (and said so in the breakdown).
* ``volume_score_h = V_h / ΣV`` (0 for everyone when ΣV = 0), ``resource_score_h`` likewise.
* ``raw_h = L_h × (volume_weight × volume_score_h + resource_weight × resource_score_h)``.
* When Σraw = 0 (nobody reported any volume or resource the formula weighs) ``raw_h = L_h``: the
  alliance still shares costs, by level alone.
* ``share_h = raw_h / Σraw``.

Everything is computed exactly (rationals) and only the reported scores, raw values and shares are
rounded half up to 6 decimals. Allocate with :func:`allocation_weights` (the ``share`` values):
:func:`~cost_sharing.domain.money.largest_remainder` normalises them, so amounts still sum exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

from cost_sharing.domain.money import MoneyError, quantize_fraction, to_fraction

from .errors import DomainError

PLACES = 6


class FormulaError(DomainError):
    """A formula or a hospital's inputs are invalid; names the offending field."""


@dataclass(frozen=True)
class Formula:
    """One version of the coefficient formula: level factors, weights and metric weights."""

    version: int
    level_factors: Mapping[str, Decimal]
    volume_weight: Decimal
    resource_weight: Decimal
    volume_metrics: Mapping[str, Decimal]
    resource_metrics: Mapping[str, Decimal]


DEFAULT_FORMULA = Formula(
    version=1,
    level_factors=MappingProxyType(
        {"tertiary": Decimal("1.2"), "secondary": Decimal("1.0"), "primary": Decimal("0.8")}
    ),
    volume_weight=Decimal("0.6"),
    resource_weight=Decimal("0.4"),
    volume_metrics=MappingProxyType(
        {"referrals_handled": Decimal(1), "case_mix_volume": Decimal(1)}
    ),
    resource_metrics=MappingProxyType(
        {"equipment_units": Decimal(1), "experts": Decimal(1), "beds_shared": Decimal(1)}
    ),
)


@dataclass(frozen=True)
class HospitalInputs:
    """What one hospital contributed in the period: its level, volume and resource metrics."""

    hospital_id: str
    level: str
    volume: Mapping[str, Decimal]
    resources: Mapping[str, Decimal]


@dataclass(frozen=True)
class Coefficient:
    """A hospital's coefficient with its components (6 dp) and a human-readable breakdown."""

    hospital_id: str
    level_factor: Decimal
    volume_score: Decimal
    resource_score: Decimal
    raw: Decimal
    share: Decimal
    breakdown: tuple[str, ...]


def _number(value: object, field: str) -> Fraction:
    """Exact value of a Decimal/int field, as a FormulaError when it is not one."""
    try:
        return to_fraction(value, field)
    except MoneyError as err:
        raise FormulaError(err.field, err.message) from None


def _fmt(value: Fraction | Decimal) -> str:
    """A number as written: exact when it has at most 6 decimals, else rounded to 6."""
    exact = Fraction(value)
    if (exact * 10**PLACES).denominator == 1:
        text = format(quantize_fraction(exact, PLACES), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return format(quantize_fraction(exact, PLACES), "f")


def _fixed(value: Fraction) -> str:
    """A number with exactly 6 decimals."""
    return format(quantize_fraction(value, PLACES), "f")


def validate_formula(f: Formula) -> None:
    """FormulaError unless weights are ≥ 0 and sum to 1, factors > 0 and metric weights ≥ 0."""
    if isinstance(f.version, bool) or not isinstance(f.version, int) or f.version < 1:
        raise FormulaError("version", f"must be a positive integer, got {f.version!r}")
    if not f.level_factors:
        raise FormulaError("level_factors", "at least one level is needed")
    for level, factor in f.level_factors.items():
        if not isinstance(level, str) or not level:
            raise FormulaError("level_factors", f"level names must be non-empty, got {level!r}")
        if _number(factor, f"level_factors.{level}") <= 0:
            raise FormulaError(f"level_factors.{level}", f"must be positive, got {factor}")
    volume_weight = _number(f.volume_weight, "volume_weight")
    resource_weight = _number(f.resource_weight, "resource_weight")
    for name, weight in (("volume_weight", volume_weight), ("resource_weight", resource_weight)):
        if weight < 0:
            raise FormulaError(name, f"must not be negative, got {getattr(f, name)}")
    if volume_weight + resource_weight != 1:
        raise FormulaError(
            "volume_weight",
            f"volume_weight + resource_weight must be 1, got "
            f"{f.volume_weight} + {f.resource_weight}",
        )
    for group in ("volume_metrics", "resource_metrics"):
        for metric, weight in getattr(f, group).items():
            if not isinstance(metric, str) or not metric:
                raise FormulaError(group, f"metric names must be non-empty, got {metric!r}")
            if _number(weight, f"{group}.{metric}") < 0:
                raise FormulaError(f"{group}.{metric}", f"must not be negative, got {weight}")


def _weighted_sum(
    weights: Mapping[str, Decimal], values: Mapping[str, Decimal], field: str
) -> tuple[Fraction, str, tuple[str, ...]]:
    """Σ weight × value over the formula's metrics, its written form, and the ignored metrics."""
    total = Fraction(0)
    terms: list[str] = []
    for metric in sorted(weights):
        raw = values.get(metric, Decimal(0))
        value = _number(raw, f"{field}.{metric}")
        if value < 0:
            raise FormulaError(f"{field}.{metric}", f"must not be negative, got {raw}")
        total += Fraction(weights[metric]) * value
        terms.append(f"{metric} {_fmt(Fraction(weights[metric]))} × {_fmt(value)}")
    ignored = tuple(sorted(m for m in values if m not in weights))
    written = " + ".join(terms) if terms else "no metrics"
    return total, written, ignored


def compute_coefficients(formula: Formula, inputs: Sequence[HospitalInputs]) -> list[Coefficient]:
    """Each hospital's contribution coefficient under ``formula``, sorted by hospital id."""
    validate_formula(formula)
    seen: set[str] = set()
    for item in inputs:
        if not isinstance(item.hospital_id, str) or not item.hospital_id:
            raise FormulaError("hospital_id", "must be a non-empty string")
        if item.hospital_id in seen:
            raise FormulaError("hospital_id", f"{item.hospital_id} appears more than once")
        seen.add(item.hospital_id)
        if item.level not in formula.level_factors:
            known = ", ".join(sorted(formula.level_factors))
            raise FormulaError(
                "level", f"{item.hospital_id}: unknown level {item.level!r} (known: {known})"
            )
    ordered = sorted(inputs, key=lambda item: item.hospital_id)
    if not ordered:
        return []

    volume_weight = Fraction(formula.volume_weight)
    resource_weight = Fraction(formula.resource_weight)
    volumes: dict[str, tuple[Fraction, str, tuple[str, ...]]] = {}
    resources: dict[str, tuple[Fraction, str, tuple[str, ...]]] = {}
    for item in ordered:
        volumes[item.hospital_id] = _weighted_sum(formula.volume_metrics, item.volume, "volume")
        resources[item.hospital_id] = _weighted_sum(
            formula.resource_metrics, item.resources, "resources"
        )
    volume_sum = sum((v[0] for v in volumes.values()), Fraction(0))
    resource_sum = sum((r[0] for r in resources.values()), Fraction(0))

    scores: dict[str, tuple[Fraction, Fraction, Fraction, Fraction]] = {}
    for item in ordered:
        factor = Fraction(formula.level_factors[item.level])
        v_score = volumes[item.hospital_id][0] / volume_sum if volume_sum else Fraction(0)
        r_score = resources[item.hospital_id][0] / resource_sum if resource_sum else Fraction(0)
        raw = factor * (volume_weight * v_score + resource_weight * r_score)
        scores[item.hospital_id] = (factor, v_score, r_score, raw)
    raw_sum = sum((s[3] for s in scores.values()), Fraction(0))
    fallback = raw_sum == 0
    if fallback:
        scores = {h: (f, v, r, f) for h, (f, v, r, _) in scores.items()}
        raw_sum = sum((s[3] for s in scores.values()), Fraction(0))

    result: list[Coefficient] = []
    for item in ordered:
        hid = item.hospital_id
        factor, v_score, r_score, raw = scores[hid]
        v_total, v_written, v_ignored = volumes[hid]
        r_total, r_written, r_ignored = resources[hid]
        lines = [
            f"formula v{formula.version}",
            f"level {item.level} × {_fmt(factor)}",
            f"volume metrics: {v_written} = {_fmt(v_total)}",
            f"resource metrics: {r_written} = {_fmt(r_total)}",
        ]
        for name, ignored in (("volume", v_ignored), ("resource", r_ignored)):
            if ignored:
                lines.append(
                    f"{name} metrics not in formula v{formula.version}, ignored: "
                    + ", ".join(ignored)
                )
        if volume_sum:
            lines.append(
                f"volume {_fmt(volume_weight)} × {_fmt(v_total)}/{_fmt(volume_sum)} = "
                f"{_fixed(volume_weight * v_score)}"
            )
        else:
            lines.append("volume score 0 for every hospital: no hospital reported any volume")
        if resource_sum:
            lines.append(
                f"resource {_fmt(resource_weight)} × {_fmt(r_total)}/{_fmt(resource_sum)} = "
                f"{_fixed(resource_weight * r_score)}"
            )
        else:
            lines.append("resource score 0 for every hospital: no hospital reported any resources")
        if fallback:
            lines.append(
                f"raw = level factor {_fmt(factor)}: no hospital has any weighted volume or "
                f"resources, so costs are shared by level alone"
            )
        else:
            lines.append(
                f"raw {_fmt(factor)} × ({_fixed(volume_weight * v_score)} + "
                f"{_fixed(resource_weight * r_score)}) = {_fixed(raw)}"
            )
        share = raw / raw_sum
        lines.append(f"share {_fixed(raw)}/{_fixed(raw_sum)} = {_fixed(share)}")
        result.append(
            Coefficient(
                hospital_id=hid,
                level_factor=Decimal(formula.level_factors[item.level]),
                volume_score=quantize_fraction(v_score, PLACES),
                resource_score=quantize_fraction(r_score, PLACES),
                raw=quantize_fraction(raw, PLACES),
                share=quantize_fraction(share, PLACES),
                breakdown=tuple(lines),
            )
        )
    return result


def allocation_weights(coefficients: Sequence[Coefficient]) -> dict[str, Decimal]:
    """The weights to allocate a pool with: each hospital's (6 dp) share."""
    return {c.hospital_id: c.share for c in coefficients}
