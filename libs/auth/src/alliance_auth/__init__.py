"""OAuth2 resource-server auth for alliance services: JWT verification against a JWKS."""

from alliance_auth.dev import DEV_AUDIENCE, DEV_ISSUER
from alliance_auth.errors import AuthError, Forbidden
from alliance_auth.jwks import ALLOWED_ALGORITHMS, JwksSource
from alliance_auth.principal import Principal
from alliance_auth.roles import Roles
from alliance_auth.verifier import TokenVerifier

__all__ = [
    "ALLOWED_ALGORITHMS",
    "DEV_AUDIENCE",
    "DEV_ISSUER",
    "AuthError",
    "Forbidden",
    "JwksSource",
    "Principal",
    "Roles",
    "TokenVerifier",
]
