"""Statistics without rows: a small cell is never revealed, directly or by subtraction (pure, no I/O)."""

from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction

import pytest

from cost_sharing.domain.disclosure import (
    Aggregate,
    DisclosureError,
    Slice,
    line_of,
    suppress,
    view,
)


def derivable(counts: dict, k: int) -> set:
    """Hidden cells an analyst can compute exactly from the published line totals: checked independently of the
    module, over the rationals (reduced row echelon form: a cell is fixed iff some reduced row is its unit vector)."""
    decision = suppress(counts, k)
    live = {key: n for key, n in counts.items() if n > 0}
    unknown = sorted(decision.cells)
    lines: dict = {}
    for key in live:
        for axis in range(3):
            lines.setdefault(line_of(key, axis), []).append(key)
    rows = [[Fraction(1) if key in keys else Fraction(0) for key in unknown]
            for line, keys in lines.items() if line not in decision.lines]
    reduced = _rref([r for r in rows if any(r)], len(unknown))
    return {unknown[[i for i, v in enumerate(r) if v][0]] for r in reduced if sum(1 for v in r if v) == 1}


def _rref(rows: list, width: int) -> list:
    rows, out = [list(r) for r in rows], []
    for col in range(width):
        pivot = next((r for r in rows if r[col] != 0), None)
        if pivot is None:
            continue
        rows.remove(pivot)
        pivot = [v / pivot[col] for v in pivot]
        rows = [[a - r[col] * b for a, b in zip(r, pivot, strict=True)] for r in rows]
        out = [[a - r[col] * b for a, b in zip(r, pivot, strict=True)] for r in out]
        out.append(pivot)
    return out


def _grid(table: dict) -> dict:
    """A one-month cube from {(hospital, drg group): count}."""
    return {(h, d, "2026-11"): n for (h, d), n in table.items()}


def test_a_cell_of_9_is_suppressed_and_its_row_and_column_get_a_complement():
    counts = _grid({("H1", "FM1"): 9, ("H1", "FT1"): 40, ("H1", "GB1"): 55,
                    ("H2", "FM1"): 30, ("H2", "FT1"): 25, ("H2", "GB1"): 60})
    decision = suppress(counts)
    assert ("H1", "FM1", "2026-11") in decision.primary
    assert len(decision.cells) >= 4          # row H1 and column FM1 each need a second suppressed cell
    assert derivable(counts, 10) == set()


def test_a_cell_of_10_is_shown():
    counts = _grid({("H1", "FM1"): 10, ("H1", "FT1"): 40, ("H2", "FM1"): 30, ("H2", "FT1"): 25})
    assert suppress(counts).cells == frozenset()


def test_two_small_cells_on_a_line_whose_sum_is_below_k_get_a_third():
    counts = _grid({("H1", "A"): 2, ("H1", "B"): 3, ("H1", "C"): 50, ("H2", "A"): 40, ("H2", "B"): 45,
                    ("H2", "C"): 70})
    decision = suppress(counts)
    line = [key for key in decision.cells if key[0] == "H1"]
    assert sum(counts[key] for key in line) >= 10 and len(line) >= 3


def test_a_line_with_nothing_left_to_hide_withholds_its_total():
    counts = {("H1", "A", "2026-10"): 9, ("H1", "A", "2026-11"): 30}      # one line along the months
    decision = suppress(counts)
    assert ("H1", "A", "2026-10") in decision.cells
    assert derivable(counts, 10) == set()


@pytest.mark.parametrize("seed", range(60))
def test_no_suppressed_cell_is_derivable_in_random_cubes(seed):
    rng = random.Random(seed)
    hospitals, groups, months = (rng.randint(1, 4) for _ in range(3))
    counts = {}
    for h in range(hospitals):
        for d in range(groups):
            for m in range(months):
                if rng.random() < 0.8:
                    counts[(f"H{h}", f"D{d}", f"2026-{m + 1:02d}")] = rng.choice(
                        [rng.randint(1, 9), rng.randint(10, 80), rng.randint(10, 80)])
    decision = suppress(counts)
    assert all(counts[key] >= 10 for key in counts if key not in decision.cells)   # never shown directly
    assert derivable(counts, 10) == set()                                          # never by subtraction


def test_a_view_never_shows_a_figure_of_a_suppressed_cell_and_slices_agree():
    data = {(h, d, "2026-11"): Aggregate(n, n * 10_000, Decimal(n), n)
            for (h, d), n in {("H1", "FM1"): 9, ("H1", "FT1"): 40, ("H1", "GB1"): 35, ("H2", "FM1"): 30,
                              ("H2", "FT1"): 25, ("H2", "GB1"): 44, ("H3", "FM1"): 61, ("H3", "FT1"): 52,
                              ("H3", "GB1"): 70}.items()}
    data[("H1", "FM1", "2026-10")] = Aggregate(50, 5_000_000)
    a = view(data, Slice("hospital", "drg_group", "month", "2026-11"))
    b = view(data, Slice("month", "drg_group", "hospital", "H1"))
    hidden_a = {(x["hospital"], x["drg_group"]) for x in a["cells"] if x["suppressed"]}
    assert ("H1", "FM1") in hidden_a and all(set(x) == {"hospital", "drg_group", "suppressed"}
                                             for x in a["cells"] if x["suppressed"])
    assert a["cells_suppressed"] == len(hidden_a) >= 2 and len(hidden_a) < len(a["cells"])
    hidden_b = {(x["month"], x["drg_group"]) for x in b["cells"] if x["suppressed"]}
    assert ("2026-11", "FM1") in hidden_b                      # the same cell, the same decision in another slice
    shown = next(x for x in a["cells"] if not x["suppressed"])
    assert set(shown) >= {"cases", "total_cost_fen", "cost_per_case_fen", "mean_cost_ratio"}
    assert all(x["cases"] >= 10 for part in ("cells", "row_totals", "column_totals") for x in a[part]
               if not x["suppressed"])


def test_questions_are_checked():
    with pytest.raises(DisclosureError):
        Slice("hospital", "hospital", "month", "2026-11")
    with pytest.raises(DisclosureError):
        suppress({("H", "D", "M"): 3}, k=1)
    with pytest.raises(DisclosureError):
        suppress({("H", "D", "M"): -1})
