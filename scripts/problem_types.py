"""Every problem type slug the code can produce, collected from the source (used by export_openapi.py and tests).

Found by reading the code, not by running it:
- `Problem(status, "slug", "Title", ...)` and `problem_response(status, "slug", ...)` calls, and the
  `super().__init__(status, "slug", ...)` of Problem subclasses;
- `slug = "..."` class attributes of domain error classes (procurement's errors answer with their own slug);
- the first argument of the data-exchange patient index's `MergeRefused("code", ...)` (and Unmerge, Link) errors
  (answered as 409 with that code as the slug), and procurement's `Refused(status, "slug", ...)`;
- the slugs the HTTP-exception handler derives from its titles (problems.py `_TITLES`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("libs/service-kit/src", "libs/auth/src", "services")
_PROBLEM_CALLS = {"Problem", "problem_response"}
_MPI_REFUSALS = {"MergeRefused", "UnmergeRefused", "LinkRefused"}   # data-exchange: 409 with the code as slug


@dataclass
class ProblemType:
    slug: str
    statuses: set[int] = field(default_factory=set)
    titles: set[str] = field(default_factory=set)
    where: set[str] = field(default_factory=set)


def _literal(node: ast.AST | None) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def _callee(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _problem_bases(tree: ast.Module) -> set[str]:
    """Names of classes in this module that derive from Problem (directly or through another such class)."""
    found = {"Problem"}
    changed = True
    while changed:
        changed = False
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name not in found:
                if any(isinstance(b, ast.Name) and b.id in found for b in node.bases):
                    found.add(node.name)
                    changed = True
    return found


def _in_problem_subclass_init(tree: ast.Module, problem_classes: set[str]) -> set[int]:
    """ids of `super().__init__(...)` calls inside Problem subclasses."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name in problem_classes and node.name != "Problem":
            for call in ast.walk(node):
                if isinstance(call, ast.Call) and _callee(call) == "__init__" \
                        and isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Call) \
                        and _callee(call.func.value) == "super":
                    ids.add(id(call))
    return ids


def _from_file(path: Path) -> Iterator[tuple[str, int | None, str | None]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    super_inits = _in_problem_subclass_init(tree, _problem_bases(tree))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _callee(node)
            if name in _PROBLEM_CALLS or id(node) in super_inits:
                args = node.args
                slug = _literal(args[1]) if len(args) > 1 else None
                for kw in node.keywords:
                    if kw.arg == "slug":
                        slug = _literal(kw.value)
                if isinstance(slug, str):
                    status = _literal(args[0]) if args else None
                    title = _literal(args[2]) if len(args) > 2 else None
                    yield slug, status if isinstance(status, int) else None, title if isinstance(title, str) \
                        else None
            elif name in _MPI_REFUSALS and node.args and isinstance(_literal(node.args[0]), str):
                yield str(_literal(node.args[0])), 409, "Conflict"
            elif name == "Refused" and len(node.args) > 1 and isinstance(_literal(node.args[1]), str):
                status = _literal(node.args[0])
                yield str(_literal(node.args[1])), status if isinstance(status, int) else None, None
        elif isinstance(node, ast.ClassDef):
            for statement in node.body:
                if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                        and isinstance(statement.targets[0], ast.Name) and statement.targets[0].id == "slug" \
                        and isinstance(_literal(statement.value), str):
                    yield str(_literal(statement.value)), _class_status(node), None


def _class_status(node: ast.ClassDef) -> int | None:
    for statement in node.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                and isinstance(statement.targets[0], ast.Name) and statement.targets[0].id == "status":
            value = _literal(statement.value)
            return value if isinstance(value, int) else None
    return None


def collect(root: Path = ROOT) -> dict[str, ProblemType]:
    """slug → what the code says about it, from every source file outside tests."""
    from alliance_service.problems import _TITLES

    found: dict[str, ProblemType] = {}

    def add(slug: str, status: int | None, title: str | None, where: str) -> None:
        entry = found.setdefault(slug, ProblemType(slug))
        if status is not None:
            entry.statuses.add(status)
        if title:
            entry.titles.add(title)
        entry.where.add(where)

    for base in SOURCES:
        for path in sorted((root / base).rglob("*.py")):
            if "tests" in path.relative_to(root).parts or "migrations" in path.parts:
                continue
            for slug, status, title in _from_file(path):
                add(slug, status, title, _owner(path.relative_to(root)))
    for status, title in _TITLES.items():
        add(title.lower().replace(" ", "-"), status, title, "platform")
    return found


def _owner(relative: Path) -> str:
    parts = relative.parts
    return parts[1] if parts[0] == "services" else "platform"


def page(found: dict[str, ProblemType]) -> str:
    """docs/problems.md."""
    lines = [
        "# Problem types",
        "",
        "Generated by `scripts/export_openapi.py` (`make contracts`) from the code (`scripts/problem_types.py` reads",
        "every `Problem(...)` and domain error class) — do not edit; `make contracts-check` fails when it is stale.",
        "",
        "Every REST error is RFC 9457 `application/problem+json`: `type` is",
        "`https://alliance.example/problems/<slug>`, with `title`, `status`, usually `detail`, and for request",
        "validation (`validation-error`) `errors[]` of `{location, message, type}`. Some problems add members of",
        "their own (e.g. `limit` on `request-too-large`, `field` on procurement's input errors). Under `/fhir` the",
        "same errors are FHIR OperationOutcomes; HL7 v2 errors are ACKs. The OpenAPI documents (docs/openapi/)",
        "give each operation's error statuses with this schema.",
        "",
        "| slug | status | title | raised by |",
        "|---|---|---|---|",
    ]
    for slug in sorted(found):
        entry = found[slug]
        statuses = ", ".join(str(s) for s in sorted(entry.statuses)) or "(per error)"
        titles = ", ".join(sorted(entry.titles)) or "(per error)"
        lines.append(f"| `{slug}` | {statuses} | {titles} | {', '.join(sorted(entry.where))} |")
    return "\n".join(lines) + "\n"
