"""Statistics without rows (可用不可见): small-cell suppression of an aggregate cube, with complementary suppression.

Decisions that are part of the contract:

* The only things that leave are aggregates of a three-dimensional cube (hospital × DRG group × month): its cells
  and its line totals (the sum of the cells along one dimension with the other two fixed). Nothing else is ever
  published — no plane or grand totals — so every published figure is a cell or a line total of the same cube.
* A cell with fewer than ``k`` cases (but more than none) is suppressed (primary suppression). A line total below
  ``k`` is suppressed too (then every case-bearing cell on the line is below ``k`` and suppressed already).
* Complementary suppression: on every line whose total is published, the suppressed cells are either none, or at
  least two whose combined count is at least ``k`` — otherwise the smallest published case-bearing cell of the line
  is suppressed as well, and the check runs again everywhere until nothing changes. When a line has nothing left to
  suppress, its total is suppressed instead. So no suppressed cell equals a published total minus published cells.
* Suppression is decided on the whole cube, once per question, and every slice shows the same decisions: two slices
  through the same cell cannot be played against each other.
* Empty cells (no case) are not part of the cube; absent means zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .errors import DomainError

DIMENSIONS = ("hospital", "drg_group", "month")
DEFAULT_MIN_COUNT = 10

Key = tuple[str, str, str]
Line = tuple[int, tuple[str, str]]       # (axis summed over, the other two coordinates in DIMENSIONS order)


class DisclosureError(DomainError):
    """A disclosure question is invalid; names the offending field."""


@dataclass(frozen=True, slots=True)
class Aggregate:
    """Figures of one cell or line: cases, total cost in fen, and the sum of cost/standard over cases with one."""

    cases: int
    cost_fen: int
    ratio_sum: Decimal = Decimal(0)
    ratio_cases: int = 0

    def __add__(self, other: Aggregate) -> Aggregate:
        return Aggregate(self.cases + other.cases, self.cost_fen + other.cost_fen, self.ratio_sum + other.ratio_sum,
                         self.ratio_cases + other.ratio_cases)

    def figures(self) -> dict:
        """What is published of it: cases, cost, cost per case (fen, half-up), mean DRG cost ratio."""
        per_case = (2 * self.cost_fen + self.cases) // (2 * self.cases) if self.cases else None
        ratio = ((self.ratio_sum / self.ratio_cases).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
                 if self.ratio_cases else None)
        return {"cases": self.cases, "total_cost_fen": self.cost_fen, "cost_per_case_fen": per_case,
                "mean_cost_ratio": str(ratio) if ratio is not None else None}


def line_of(key: Key, axis: int) -> Line:
    """The line through `key` along `axis`."""
    return axis, tuple(v for i, v in enumerate(key) if i != axis)  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Suppression:
    """Which cells and line totals of a cube are withheld."""

    cells: frozenset[Key]
    lines: frozenset[Line]
    primary: frozenset[Key]


def suppress(counts: Mapping[Key, int], k: int = DEFAULT_MIN_COUNT) -> Suppression:
    """Primary and complementary suppression of a cube of case counts (see the module's rules)."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise DisclosureError("k", "must be an integer of at least 2")
    for key, n in counts.items():
        if len(key) != 3 or isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise DisclosureError("counts", "must map (hospital, drg group, month) to a non-negative integer")
    live = {key: n for key, n in counts.items() if n > 0}
    members: dict[Line, list[Key]] = {}
    for key in sorted(live):
        for axis in range(3):
            members.setdefault(line_of(key, axis), []).append(key)
    primary = frozenset(key for key, n in live.items() if n < k)
    hidden = set(primary)
    hidden_lines = {line for line, keys in members.items() if sum(live[x] for x in keys) < k}

    def complement(line: Line) -> None:
        """Hide the smallest published case-bearing cell of the line, or, with none left, its total."""
        spare = sorted((x for x in members[line] if x not in hidden), key=lambda x: (live[x], x))
        if spare:
            hidden.add(spare[0])
        else:
            hidden_lines.add(line)

    while True:
        changed = True
        while changed:          # every published line: no suppressed cell, or ≥ 2 that hold ≥ k cases together
            changed = False
            for line, keys in members.items():
                if line in hidden_lines:
                    continue
                inside = [x for x in keys if x in hidden]
                if inside and (len(inside) < 2 or sum(live[x] for x in inside) < k):
                    complement(line)
                    changed = True
        exposed = _derivable(members, hidden, hidden_lines)
        if not exposed:         # no suppressed cell follows from the published totals by any combination
            return Suppression(frozenset(hidden), frozenset(hidden_lines), primary)
        for key in exposed:
            lines = [line_of(key, axis) for axis in range(3) if line_of(key, axis) not in hidden_lines]
            if lines:
                complement(min(lines, key=lambda line: (sum(live[x] for x in members[line] if x not in hidden),
                                                        line)))


_PRIME = 2**61 - 1


def _derivable(members: Mapping[Line, list[Key]], hidden: set[Key], hidden_lines: set[Line]) -> list[Key]:
    """Suppressed cells fixed by the published line totals: those whose unit vector is in the span of the lines'
    equations over the suppressed cells (reduced row echelon form, modulo a large prime: a cell fixed over the
    rationals is fixed modulo the prime, so this errs only towards suppressing more)."""
    order = sorted(hidden)
    index = {key: i for i, key in enumerate(order)}
    rows: list[dict[int, int]] = []
    for line, keys in members.items():
        if line not in hidden_lines:
            row = {index[x]: 1 for x in keys if x in index}
            if row:
                rows.append(row)
    pivots: dict[int, dict[int, int]] = {}          # pivot column → reduced row (pivot coefficient 1)
    for row in rows:
        row = dict(row)
        for col, prow in pivots.items():             # eliminate known pivots from the new row
            factor = row.get(col)
            if factor:
                for j, v in prow.items():
                    value = (row.get(j, 0) - factor * v) % _PRIME
                    if value:
                        row[j] = value
                    else:
                        row.pop(j, None)
        if not row:
            continue
        col = min(row)
        inverse = pow(row[col], _PRIME - 2, _PRIME)
        row = {j: v * inverse % _PRIME for j, v in row.items()}
        for other in pivots.values():                # keep the form reduced: clear the new pivot elsewhere
            factor = other.get(col)
            if factor:
                for j, v in row.items():
                    value = (other.get(j, 0) - factor * v) % _PRIME
                    if value:
                        other[j] = value
                    else:
                        other.pop(j, None)
        pivots[col] = row
    return [order[col] for col, row in sorted(pivots.items()) if len(row) == 1]


def cube(cells: Iterable[tuple[Key, Aggregate]]) -> dict[Key, Aggregate]:
    """The cube from aggregated cells (a key met twice is summed)."""
    out: dict[Key, Aggregate] = {}
    for key, agg in cells:
        out[key] = out[key] + agg if key in out else agg
    return out


@dataclass(frozen=True, slots=True)
class Slice:
    """One two-dimensional view of the cube: rows × columns at a fixed value of the third dimension."""

    rows: str
    columns: str
    fixed: str
    value: str

    def __post_init__(self) -> None:
        dims = (self.rows, self.columns, self.fixed)
        if sorted(dims) != sorted(DIMENSIONS):
            raise DisclosureError("rows", f"rows, columns and the fixed dimension must be {', '.join(DIMENSIONS)} "
                                          "in some order, each once")
        if not isinstance(self.value, str) or not self.value:
            raise DisclosureError(self.fixed, "is required")


def view(data: Mapping[Key, Aggregate], s: Slice, k: int = DEFAULT_MIN_COUNT) -> dict:
    """The slice's cells and line totals under the whole cube's suppression; suppressed figures are withheld."""
    decision = suppress({key: a.cases for key, a in data.items()}, k)
    r, c, f = (DIMENSIONS.index(d) for d in (s.rows, s.columns, s.fixed))
    mine = {key: a for key, a in data.items() if key[f] == s.value}

    def cell(key: Key, agg: Aggregate) -> dict:
        base = {s.rows: key[r], s.columns: key[c]}
        return base | ({"suppressed": True} if key in decision.cells else {"suppressed": False} | agg.figures())

    def totals(axis: int, keep: int) -> list[dict]:
        sums: dict[Key, Aggregate] = {}
        for key, agg in mine.items():
            anchor = tuple("" if i == axis else v for i, v in enumerate(key))
            sums[anchor] = sums[anchor] + agg if anchor in sums else agg  # type: ignore[index]
        out = []
        for anchor, agg in sorted(sums.items()):
            hidden = line_of(anchor, axis) in decision.lines
            out.append({DIMENSIONS[keep]: anchor[keep]} | (
                {"suppressed": True} if hidden else {"suppressed": False} | agg.figures()))
        return out

    cells = [cell(key, agg) for key, agg in sorted(mine.items(), key=lambda kv: (kv[0][r], kv[0][c]))]
    row_totals, column_totals = totals(c, r), totals(r, c)
    return {"rows": s.rows, "columns": s.columns, s.fixed: s.value, "min_count": k, "cells": cells,
            "row_totals": row_totals, "column_totals": column_totals,
            "cells_suppressed": sum(1 for x in cells if x["suppressed"]),
            "totals_suppressed": sum(1 for x in row_totals + column_totals if x["suppressed"])}
