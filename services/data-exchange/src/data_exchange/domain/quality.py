"""Data-quality rules on normalised records: errors reject the input with a reason, warnings flag it. Pure."""

from __future__ import annotations

from datetime import datetime, timedelta

from .clinical import (
    CostCategory,
    EncounterKind,
    EncounterRecord,
    Issue,
    OrderRecord,
    Record,
    ResultReport,
)

MAX_STAY_DAYS = 30
MAX_DRUG_SHARE = 0.95
CLOCK_SKEW = timedelta(hours=1)


def check(record: Record, now: datetime, cost_category: dict[str, str] | None = None) -> list[Issue]:
    """Every finding for one record; `cost_category` maps charge codes to categories when known."""
    issues: list[Issue] = []
    match record:
        case EncounterRecord():
            issues += _encounter(record, now, cost_category or {})
        case ResultReport():
            if not record.observations:
                issues.append(Issue("error", "required", "OBX", "a result report needs at least one observation"))
            if record.observed_at > now + CLOCK_SKEW:
                issues.append(Issue("error", "future-date", "OBR-7", "observation time is in the future"))
        case OrderRecord():
            if not record.items:
                issues.append(Issue("error", "required", "OBR-4", "an order needs at least one item"))
    return issues


def _encounter(e: EncounterRecord, now: datetime, categories: dict[str, str]) -> list[Issue]:
    issues: list[Issue] = []
    if e.kind is EncounterKind.DISCHARGED and e.discharged_at is None:
        issues.append(Issue("error", "required", "PV1-45", "a discharge needs the discharge date/time"))
    if e.admitted_at and e.admitted_at > now + CLOCK_SKEW:
        issues.append(Issue("error", "future-date", "PV1-44", "admission time is in the future"))
    if e.admitted_at and e.discharged_at:
        if e.discharged_at < e.admitted_at:
            issues.append(Issue("error", "discharge-before-admission", "PV1-45",
                                "discharge is before admission"))
        elif e.discharged_at - e.admitted_at > timedelta(days=MAX_STAY_DAYS):
            days = (e.discharged_at - e.admitted_at).days
            issues.append(Issue("warning", "long-stay", "PV1-45",
                                f"length of stay {days} days exceeds {MAX_STAY_DAYS}", {"days": str(days)}))
    if any(c.amount_fen < 0 for c in e.cost_lines):
        issues.append(Issue("error", "negative-amount", "FT1-11", "a cost line has a negative amount"))
    total = sum(c.amount_fen for c in e.cost_lines)
    if total > 0:
        drugs = sum(c.amount_fen for c in e.cost_lines if categories.get(c.item.code) == CostCategory.DRUGS)
        if drugs / total > MAX_DRUG_SHARE:
            issues.append(Issue("warning", "drug-share", "FT1", f"drugs are {drugs * 100 // total}% of the stay's "
                                f"cost (above {int(MAX_DRUG_SHARE * 100)}%)", {"drug_share_pct": str(drugs * 100 // total)}))
    if e.kind is EncounterKind.DISCHARGED and e.patient_class == "I" and not any(d.principal for d in e.diagnoses):
        issues.append(Issue("warning", "no-principal-diagnosis", "DG1",
                            "an inpatient discharge without a principal diagnosis cannot be DRG-grouped"))
    return issues
