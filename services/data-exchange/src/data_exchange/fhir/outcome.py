"""OperationOutcome bodies and the HTTP status that goes with a list of issues."""

from __future__ import annotations

from collections.abc import Iterable

from data_exchange.domain.clinical import Issue

from .checker import ENVELOPE
from .systems import ALLIANCE

ISSUE_TYPES = frozenset({
    "invalid", "structure", "required", "value", "invariant", "security", "login", "unknown", "expired",
    "forbidden", "suppressed", "processing", "not-supported", "duplicate", "multiple-matches",
    "not-found", "deleted", "too-long", "code-invalid", "extension", "too-costly", "business-rule",
    "conflict", "transient", "lock-error", "no-store", "exception", "timeout", "incomplete", "throttled",
    "informational",
})
SEVERITIES = frozenset({"fatal", "error", "warning", "information"})
ISSUE_CODE_SYSTEM = f"{ALLIANCE}/CodeSystem/issue"  # our own codes (e.g. unmapped-code) when not FHIR's
_STATUS_DEFAULTS = {400: ("invalid", "the request is invalid"), 404: ("not-found", "not found"),
                    409: ("conflict", "conflict"), 422: ("processing", "the content breaks the profile")}
MAX_TEXT = 200


def operation_outcome(issues: Iterable[Issue], *, status_hint: int | None = None) -> dict:
    """A FHIR OperationOutcome; with no issues, one issue matching `status_hint` (information when 2xx/None)."""
    entries = [_issue(i) for i in issues]
    if not entries:
        if status_hint is not None and status_hint >= 400:
            code, text = _STATUS_DEFAULTS.get(status_hint, ("processing", "the request failed"))
            entries = [{"severity": "error", "code": code, "diagnostics": text}]
        else:
            entries = [{"severity": "information", "code": "informational", "diagnostics": "all OK"}]
    return {"resourceType": "OperationOutcome", "issue": entries}


def _issue(issue: Issue) -> dict:
    severity = issue.severity if issue.severity in SEVERITIES else "error"
    out: dict = {"severity": severity, "code": issue.code if issue.code in ISSUE_TYPES else "business-rule"}
    if issue.code not in ISSUE_TYPES:
        out["details"] = {"coding": [{"system": ISSUE_CODE_SYSTEM, "code": issue.code}]}
    out["diagnostics"] = issue.message
    if issue.location:
        out["expression"] = [issue.location]
    return out


def outcome_status(issues: Iterable[Issue]) -> int:
    """400 for envelope errors, 404/409 for not-found/conflict, 422 for other errors, else 200."""
    errors = [i for i in issues if i.severity in ("error", "fatal")]
    if not errors:
        return 200
    if any(i.details.get("level") == ENVELOPE["level"] for i in errors):
        return 400
    if any(i.code == "not-found" for i in errors):
        return 404
    if any(i.code in ("conflict", "duplicate") for i in errors):
        return 409
    return 422


def outcome_response(issues: list[Issue]) -> tuple[int, dict]:
    """The (status, OperationOutcome) answering a request with these issues."""
    status = outcome_status(issues)
    return status, operation_outcome(issues, status_hint=status)


def not_found(resource_type: str, id: str) -> tuple[int, dict]:
    """404 for an unknown resource."""
    text = f"{_short(resource_type)}/{_short(id)} is not known"
    return 404, operation_outcome([Issue("error", "not-found", "", text)])


def conflict(reason: str) -> tuple[int, dict]:
    """409, e.g. a version or identifier clash."""
    return 409, operation_outcome([Issue("error", "conflict", "", _short(reason))])


def bad_request(reason: str) -> tuple[int, dict]:
    """400 for a body that is not JSON, not a resource, or bad search parameters."""
    return 400, operation_outcome([Issue("error", "invalid", "", _short(reason), dict(ENVELOPE))])


def _short(text: str) -> str:
    text = str(text)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"
