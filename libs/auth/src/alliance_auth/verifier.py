"""Bearer JWT verification producing a Principal."""

from __future__ import annotations

from typing import Any, Final

import jwt
from jwt import PyJWK

from alliance_auth.errors import (
    INVALID_AUDIENCE,
    INVALID_ISSUER,
    INVALID_SIGNATURE,
    MALFORMED_TOKEN,
    MISSING_TOKEN,
    TOKEN_EXPIRED,
    TOKEN_NOT_YET_VALID,
    AuthError,
)
from alliance_auth.jwks import ALLOWED_ALGORITHMS, JwksSource
from alliance_auth.principal import Principal
from alliance_auth.roles import NO_ROLE, Roles

REQUIRED_CLAIMS: Final = ("exp", "iat", "iss", "aud", "sub")
MAX_TOKEN_LENGTH: Final = 16_384
#: Claims a role is meaningless without: a token holding the role but not the claim is rejected.
CLAIMS_REQUIRED_BY_ROLE: Final = {Roles.HOSPITAL: "hospital_id"}

_FAILURES: Final[tuple[tuple[type[jwt.PyJWTError], str], ...]] = (
    (jwt.ExpiredSignatureError, TOKEN_EXPIRED),
    (jwt.ImmatureSignatureError, TOKEN_NOT_YET_VALID),
    (jwt.InvalidSignatureError, INVALID_SIGNATURE),
    (jwt.InvalidAudienceError, INVALID_AUDIENCE),
    (jwt.InvalidIssuerError, INVALID_ISSUER),
)


class TokenVerifier:
    """Verifies RS256/ES256 access tokens against a JWKS, issuer and audience."""

    def __init__(
        self, jwks: JwksSource, issuer: str, audience: str, leeway_seconds: int = 30
    ) -> None:
        self.jwks = jwks
        self.issuer = issuer
        self.audience = audience
        self.leeway_seconds = leeway_seconds

    def verify(self, token: str) -> Principal:
        """Verify `token` and return its Principal; a URL JWKS is fetched blockingly if needed."""
        header = _header(token)
        return self._decode(token, header["alg"], self.jwks.get_key(header.get("kid")))

    async def averify(self, token: str) -> Principal:
        """Verify `token`, refreshing a URL JWKS without blocking the event loop."""
        header = _header(token)
        return self._decode(token, header["alg"], await self.jwks.aget_key(header.get("kid")))

    def _decode(self, token: str, alg: str, key: PyJWK) -> Principal:
        """Check signature and registered claims, then build the Principal."""
        if key.algorithm_name != alg:
            raise AuthError(INVALID_SIGNATURE)
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.PyJWTError as exc:
            raise AuthError(_reason(exc)) from exc
        return principal_from_claims(claims)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Build a Principal from verified claims, rejecting ill-typed ones."""
    subject = claims.get("sub")
    hospital_id = claims.get("hospital_id")
    roles = claims.get("roles", [])
    if not isinstance(subject, str) or not subject:
        raise AuthError(MALFORMED_TOKEN)
    if hospital_id is not None and (not isinstance(hospital_id, str) or not hospital_id):
        raise AuthError(MALFORMED_TOKEN)
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise AuthError(MALFORMED_TOKEN)
    if not roles:
        raise AuthError(NO_ROLE)
    for role, claim in CLAIMS_REQUIRED_BY_ROLE.items():
        if role in roles and not claims.get(claim):
            raise AuthError(missing_claim_reason(role, claim))
    return Principal(subject=subject, hospital_id=hospital_id, roles=frozenset(roles))


def missing_claim_reason(role: str, claim: str) -> str:
    """The reason given for a token whose role needs a claim it does not carry."""
    return f"role {role} requires a {claim} claim"


def _header(token: str) -> dict[str, Any]:
    """Return the unverified JOSE header after basic shape and algorithm checks."""
    if not token or not token.strip():
        raise AuthError(MISSING_TOKEN)
    if len(token) > MAX_TOKEN_LENGTH:
        raise AuthError(MALFORMED_TOKEN)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise AuthError(MALFORMED_TOKEN) from exc
    if header.get("alg") not in ALLOWED_ALGORITHMS:
        raise AuthError(INVALID_SIGNATURE)
    return header


def _reason(exc: jwt.PyJWTError) -> str:
    """Map a PyJWT failure to a short reason."""
    for error_type, reason in _FAILURES:
        if isinstance(exc, error_type):
            return reason
    return MALFORMED_TOKEN
