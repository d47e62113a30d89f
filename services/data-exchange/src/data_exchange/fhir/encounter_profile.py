"""Profile rules of Encounter: class, visit number, period, diagnoses, procedures and cost lines."""

from __future__ import annotations

from decimal import Decimal

from . import systems
from .checker import Checker, join, shown
from .datetimes import not_before
from .elements import Context, codings, identifiers, reference_value, subject

ENCOUNTER_STATUS = ("planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled",
                    "entered-in-error", "unknown")
ACCEPTED_STATUS = ("arrived", "triaged", "in-progress", "onleave", "finished")
MAX_AMOUNT = Decimal("10000000000")  # CNY per cost line
COST_PARTS = ("item", "amount", "quantity")


def encounter(c: Checker, r: dict, path: str, ctx: Context) -> None:
    """Encounter: status, class IMP|AMB|EMER, subject, identifier, period, diagnoses, cost lines."""
    status = c.code(r, "status", path, ENCOUNTER_STATUS, required=True)
    if status is not None and status not in ACCEPTED_STATUS:
        c.error("not-supported", join(path, "status"), f"status must be one of {', '.join(ACCEPTED_STATUS)}")
    _class(c, r, path)
    subject(c, r, path, ctx)
    identifiers(c, r, "identifier", path, required=True)
    codings(c, r, "serviceType", path)
    _period(c, r, path, finished=status == "finished")
    _diagnoses(c, r, path, ctx)
    for ext_path, ext in c.objects(r, "extension", path):
        if c.uri(ext, "url", ext_path, required=True) == systems.COST_LINE:
            cost_line(c, ext, ext_path)


def _class(c: Checker, r: dict, path: str) -> None:
    value = c.obj(r, "class", path, required=True)
    if value is None:
        return
    where = join(path, "class")
    system = c.uri(value, "system", where, required=True)
    if system is not None and system != systems.ENCOUNTER_CLASS:
        c.error("code-invalid", join(where, "system"), f"must be {systems.ENCOUNTER_CLASS}")
    c.code(value, "code", where, tuple(systems.ENCOUNTER_CLASSES), required=True)


def _period(c: Checker, r: dict, path: str, *, finished: bool) -> None:
    period = c.obj(r, "period", path, required=True)
    if period is None:
        return
    where = join(path, "period")
    start = c.datetime(period, "start", where, required=True, to_the_day=True)
    end = c.datetime(period, "end", where, required=finished, to_the_day=True)
    if start is not None and end is not None and not not_before(end, start):
        c.error("invariant", join(where, "end"), "period.end must not be before period.start (per-1)")


def _diagnoses(c: Checker, r: dict, path: str, ctx: Context) -> None:
    principal: dict[str, int] = {}
    for item_path, item in c.objects(r, "diagnosis", path):
        ref = c.obj(item, "condition", item_path, required=True)
        if ref is not None:
            where = join(item_path, "condition")
            text = ref.get("reference")
            if isinstance(text, str) and not text.startswith("#"):
                c.error("not-supported", join(where, "reference"),
                        "diagnoses and procedures must be contained resources (#id)")
            else:
                reference_value(c, ref, where, ("Condition", "Procedure"), ctx, allow_identifier=False)
        roles = codings(c, item, "use", item_path)
        use = ""
        for system, code in roles:
            if system == systems.DIAGNOSIS_ROLE:
                if code not in systems.DIAGNOSIS_ROLES:
                    c.error("code-invalid", join(item_path, "use"), f"unknown diagnosis role {shown(code)}")
                use = code
        if c.integer(item, "rank", item_path, minimum=1) == 1 and _is_condition(ref, ctx):
            principal[use] = principal.get(use, 0) + 1
            if principal[use] == 2:
                c.error("invariant", join(item_path, "rank"), "only one rank 1 diagnosis per use")


def _is_condition(ref: dict | None, ctx: Context) -> bool:
    text = ref.get("reference") if ref is not None else None
    if not isinstance(text, str) or not text.startswith("#"):
        return False
    target = ctx.contained.get(text[1:])
    return target is not None and target.get("resourceType") == "Condition"


def cost_line(c: Checker, ext: dict, path: str) -> None:
    """The cost-line extension: item (valueCoding), amount (valueMoney, CNY, ≤2 decimals), quantity."""
    for key in ext:
        if isinstance(key, str) and key.startswith("value") and ext[key] is not None:
            c.error("structure", join(path, key), "a complex extension has no value[x]")
    seen: dict[str, int] = {}
    for part_path, part in c.objects(ext, "extension", path, required=True):
        url = c.uri(part, "url", part_path, required=True)
        if url not in COST_PARTS:
            continue
        seen[url] = seen.get(url, 0) + 1
        if seen[url] > 1:
            c.error("structure", part_path, f"{url} appears more than once")
        elif url == "item":
            _item(c, part, part_path)
        elif url == "amount":
            _amount(c, part, part_path)
        else:
            c.integer(part, "valueInteger", part_path, required=True, minimum=1)
    for url in ("item", "amount"):
        if url not in seen and isinstance(ext.get("extension"), list):
            c.error("required", join(path, "extension"), f"a cost line needs an {url} sub-extension")


def _item(c: Checker, part: dict, path: str) -> None:
    value = c.obj(part, "valueCoding", path, required=True)
    if value is not None:
        where = join(path, "valueCoding")
        c.uri(value, "system", where, required=True)
        c.code(value, "code", where, required=True)
        c.string(value, "display", where)


def _amount(c: Checker, part: dict, path: str) -> None:
    money = c.obj(part, "valueMoney", path, required=True)
    if money is None:
        return
    where = join(path, "valueMoney")
    c.code(money, "currency", where, ("CNY",), required=True)
    value = c.decimal(money, "value", where, required=True)
    if value is None:
        return
    if value < 0 or value >= MAX_AMOUNT:
        c.error("value", join(where, "value"), f"must be between 0 and {MAX_AMOUNT} CNY")
    elif value.as_tuple().exponent < -2 and value != value.quantize(Decimal("0.01")):  # type: ignore[operator]
        c.error("value", join(where, "value"), "at most 2 decimals (fen)")
