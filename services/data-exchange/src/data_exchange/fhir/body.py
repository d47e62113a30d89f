"""Decoding of `application/fhir+json` request bodies: decimals exact, no NaN, no duplicate keys."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from data_exchange.domain.clinical import Issue

from .checker import ENVELOPE

MAX_BODY = 20 * 1024 * 1024


class _Invalid(ValueError):
    """A JSON text FHIR does not allow."""


def parse_body(raw: bytes | str, *, max_bytes: int = MAX_BODY) -> tuple[Any, list[Issue]]:
    """The decoded JSON (numbers with a fraction or exponent as Decimal), or None and an envelope issue."""
    if len(raw) > max_bytes:
        return None, [Issue("error", "too-long", "", f"the body exceeds {max_bytes} bytes", dict(ENVELOPE))]
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
        if "\x00" in text or "\\u0000" in text:
            raise _Invalid("NUL characters are not allowed")  # PostgreSQL cannot store them; FHIR has no use
        return json.loads(text, parse_float=Decimal, parse_constant=_constant,
                          object_pairs_hook=_unique_keys), []
    except UnicodeDecodeError:
        reason = "the body is not UTF-8"
    except _Invalid as err:
        reason = str(err)
    except json.JSONDecodeError as err:
        reason = f"{err.msg} at line {err.lineno} column {err.colno}"
    except RecursionError:
        reason = "nested too deeply"
    except ValueError:  # an integer beyond the interpreter's digit limit
        reason = "a number has too many digits"
    return None, [Issue("error", "structure", "", f"not valid FHIR JSON: {reason}", dict(ENVELOPE))]


def _constant(name: str) -> Any:
    raise _Invalid(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _Invalid(f"duplicate key {key[:40]!r}")
        out[key] = value
    return out
