"""Authentication and authorisation failures with reasons safe to show callers."""

from __future__ import annotations

from typing import Final

MISSING_TOKEN: Final = "missing token"
TOKEN_EXPIRED: Final = "token expired"
TOKEN_NOT_YET_VALID: Final = "token not yet valid"
INVALID_SIGNATURE: Final = "invalid signature"
INVALID_AUDIENCE: Final = "invalid audience"
INVALID_ISSUER: Final = "invalid issuer"
MALFORMED_TOKEN: Final = "malformed token"
UNKNOWN_KEY: Final = "unknown key"
INSUFFICIENT_ROLE: Final = "insufficient role"


class AuthError(Exception):
    """The request is not authenticated; `reason` is short and safe to return."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Forbidden(Exception):
    """The principal is authenticated but lacks a required role."""

    def __init__(self, reason: str = INSUFFICIENT_ROLE) -> None:
        super().__init__(reason)
        self.reason = reason
