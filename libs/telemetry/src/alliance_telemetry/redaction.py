"""Patient-identifier scrubbing shared by log records and exported spans."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[REDACTED]"

# Left/right boundaries: an identifier must not be glued to other letters or digits
# (keeps hex trace ids, UUIDs and long numeric ids intact).
_L = r"(?<![0-9A-Za-z])"
_R = r"(?![0-9A-Za-z])"

#: 18-digit resident ID (17 digits + digit/X) or the old 15-digit format.
ID_NUMBER_RE = re.compile(rf"{_L}(?:\d{{17}}[\dXx]|\d{{15}}){_R}")
#: Mainland mobile number, optionally +86-prefixed and grouped 3-4-4.
MOBILE_RE = re.compile(rf"{_L}(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{{4}}){{2}}{_R}")
#: SQLAlchemy error text carries the bound parameters on one line.
_SQL_PARAMS_RE = re.compile(r"\[parameters: [^\n]*\]")
#: PostgreSQL constraint details: ``Key (id_number)=(110105...) already exists``.
_PG_KEY_RE = re.compile(r"(Key \([^)\n]*\)=\()[^\n]*?(\)(?=[ .]|$))", re.MULTILINE)

_PREFIXES = (
    "patient", "person", "contact", "guardian", "emergency_contact", "family",
    "home", "full", "real", "legal", "first", "last", "given",
)
_WORDS = (
    "name", "surname", "id_number", "id_no", "id_card", "id_card_no", "id_card_number",
    "idcard", "national_id", "national_id_number", "resident_id", "phone", "phone_number",
    "mobile", "mobile_phone", "mobile_number", "telephone", "tel", "address",
)
_LEAF_RE = re.compile(rf"(?:(?:{'|'.join(_PREFIXES)})_)?(?:{'|'.join(_WORDS)})")


def _flex(word: str) -> str:
    """Regex for a snake_case word that also matches camelCase and kebab-case."""
    return word.replace("_", "[_-]?")


_TEXT_KEY = (
    rf"(?:(?:{'|'.join(map(_flex, _PREFIXES))})[_-]?)?"
    rf"(?:{'|'.join(map(_flex, sorted(_WORDS, key=len, reverse=True)))})"
)
#: ``phone=138...``, ``"patient_name": "张三"``, ``?name=张三&...`` inside free text.
_KEY_VALUE_RE = re.compile(
    rf"(?<![\w.])([\"']?{_TEXT_KEY}[\"']?\s*[=:]\s*)"
    r"(\"[^\"]*\"|'[^']*'|[^\s&,;)}\]，；]+)",
    re.IGNORECASE,
)

#: OpenTelemetry semantic-convention namespaces: ``server.address`` is a host, not a patient.
_SEMCONV_NAMESPACES = frozenset({
    "client", "cloud", "code", "container", "db", "deployment", "destination", "enduser",
    "error", "exception", "faas", "host", "http", "k8s", "messaging", "net", "network",
    "os", "otel", "peer", "pool", "process", "rpc", "server", "service", "source",
    "telemetry", "thread", "url", "user_agent",
})
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])([A-Z])")


def _normalise_key(key: str) -> str:
    """``patientName`` / ``Patient-Name`` -> ``patient_name``."""
    return _CAMEL_RE.sub(r"_\1", key).replace("-", "_").lower()


def is_sensitive_key(key: str) -> bool:
    """Whether a field/attribute name denotes a patient identifier."""
    parts = _normalise_key(key).split(".")
    if len(parts) > 1 and parts[0] in _SEMCONV_NAMESPACES:
        return False
    return _LEAF_RE.fullmatch(parts[-1]) is not None


def redact_text(text: str) -> str:
    """Replace ID numbers, mobiles and sensitive ``key=value`` pairs in free text."""
    if not text:
        return text
    text = _SQL_PARAMS_RE.sub(f"[parameters: {REDACTED}]", text)
    text = _PG_KEY_RE.sub(rf"\g<1>{REDACTED}\g<2>", text)
    text = _KEY_VALUE_RE.sub(rf"\g<1>{REDACTED}", text)
    text = ID_NUMBER_RE.sub(REDACTED, text)
    return MOBILE_RE.sub(REDACTED, text)


def redact_value(value: Any) -> Any:
    """Scrub a value by shape (strings, identifier-shaped ints, containers)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bool) or not isinstance(value, int | Mapping | list | tuple):
        return value
    if isinstance(value, int):
        return REDACTED if redact_text(str(value)) != str(value) else value
    if isinstance(value, Mapping):
        return redact_fields(value)
    return type(value)(redact_value(v) for v in value)


def redact_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Scrub a mapping: sensitive keys lose their value, other values are scrubbed by shape."""
    return {
        key: (REDACTED if value not in (None, "") else value)
        if is_sensitive_key(str(key))
        else redact_value(value)
        for key, value in fields.items()
    }
