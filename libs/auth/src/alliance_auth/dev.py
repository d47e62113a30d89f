"""Local ES256 signing keys and token issuing for development, demos and tests."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from alliance_auth.jwks import JwksSource
from alliance_auth.thumbprint import jwk_thumbprint
from alliance_auth.verifier import TokenVerifier

DEV_ISSUER: Final = "https://auth.alliance.local/dev"
DEV_AUDIENCE: Final = "alliance-platform"
DEFAULT_KEY_DIR: Final = Path(".local/keys")
PRIVATE_KEY_FILE: Final = "signing-key.pem"
JWKS_FILE: Final = "jwks.json"


@dataclass(frozen=True)
class DevKeys:
    """An EC P-256 private key on disk next to the JWKS publishing its public half."""

    directory: Path
    private_key: ec.EllipticCurvePrivateKey
    kid: str

    @classmethod
    def create(cls, directory: str | os.PathLike[str], *, force: bool = False) -> DevKeys:
        """Generate a key pair into `directory`; refuse to overwrite unless `force`."""
        keys = cls._of(Path(directory), ec.generate_private_key(ec.SECP256R1()))
        existing = [p for p in (keys.private_key_path, keys.jwks_path) if p.exists()]
        if existing and not force:
            raise FileExistsError(f"{existing[0]} already exists")
        keys.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = keys.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_private(keys.private_key_path, pem)
        keys.jwks_path.write_text(json.dumps(keys.jwks(), indent=2) + "\n", encoding="utf-8")
        return keys

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> DevKeys:
        """Load a key pair previously written by `create`."""
        path = Path(directory)
        key = serialization.load_pem_private_key((path / PRIVATE_KEY_FILE).read_bytes(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError(f"{path / PRIVATE_KEY_FILE} is not an EC P-256 private key")
        return cls._of(path, key)

    @classmethod
    def _of(cls, directory: Path, key: ec.EllipticCurvePrivateKey) -> DevKeys:
        """Build DevKeys with the RFC 7638 thumbprint as kid."""
        return cls(directory, key, jwk_thumbprint(_public_jwk(key)))

    @property
    def private_key_path(self) -> Path:
        """Path of the PEM private key."""
        return self.directory / PRIVATE_KEY_FILE

    @property
    def jwks_path(self) -> Path:
        """Path of the public JWKS."""
        return self.directory / JWKS_FILE

    def jwks(self) -> dict[str, Any]:
        """Return the public JWKS document."""
        jwk = {**_public_jwk(self.private_key), "kid": self.kid, "alg": "ES256", "use": "sig"}
        return {"keys": [jwk]}

    def verifier(self, issuer: str = DEV_ISSUER, audience: str = DEV_AUDIENCE) -> TokenVerifier:
        """Return a TokenVerifier reading this key pair's JWKS file."""
        return TokenVerifier(JwksSource(self.jwks_path), issuer, audience)

    def issue(
        self,
        sub: str,
        hospital_id: str | None = None,
        roles: Iterable[str] = (),
        ttl: int = 3600,
        issuer: str = DEV_ISSUER,
        audience: str = DEV_AUDIENCE,
        now: datetime | float | None = None,
    ) -> str:
        """Return a signed ES256 access token."""
        if isinstance(roles, str):
            roles = (roles,)
        issued_at = int(_timestamp(now))
        claims: dict[str, Any] = {
            "iss": issuer,
            "aud": audience,
            "sub": sub,
            "iat": issued_at,
            "exp": issued_at + ttl,
            "jti": uuid.uuid4().hex,
            "roles": list(roles),
        }
        if hospital_id is not None:
            claims["hospital_id"] = hospital_id
        headers = {"kid": self.kid, "typ": "JWT"}
        return jwt.encode(claims, self.private_key, algorithm="ES256", headers=headers)


def _public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    """Return the public JWK members (kty, crv, x, y) of `key`."""
    jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {name: jwk[name] for name in ("kty", "crv", "x", "y")}


def _timestamp(now: datetime | float | None) -> float:
    """Return `now` as POSIX seconds, defaulting to the current time."""
    if now is None:
        return time.time()
    return now.timestamp() if isinstance(now, datetime) else float(now)


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` readable by the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(data)
