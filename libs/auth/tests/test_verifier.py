"""TokenVerifier: signature, algorithm and claim checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import RSAAlgorithm

from alliance_auth import AuthError, JwksSource, Principal, TokenVerifier
from alliance_auth.dev import DEV_AUDIENCE, DEV_ISSUER, DevKeys

Claims = Callable[..., dict[str, Any]]
Sign = Callable[..., str]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _raw_token(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(payload).encode())
    return f"{head}.{body}.{_b64(signature)}"


def _reason(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(AuthError) as caught:
        verifier.verify(token)
    return caught.value.reason


def test_valid_token_yields_principal(keys: DevKeys, verifier: TokenVerifier) -> None:
    token = keys.issue("user-1", hospital_id="H001", roles=("hospital", "qc_center"))
    assert verifier.verify(token) == Principal(
        "user-1", "H001", frozenset({"hospital", "qc_center"})
    )


async def test_averify_yields_the_same_principal(keys: DevKeys, verifier: TokenVerifier) -> None:
    token = keys.issue("user-1", hospital_id="H001", roles=["hospital"])
    assert await verifier.averify(token) == verifier.verify(token)


def test_token_without_hospital_id_yields_none(keys: DevKeys, verifier: TokenVerifier) -> None:
    principal = verifier.verify(keys.issue("reg-1", roles=["regulator"]))
    assert principal.hospital_id is None
    assert principal.roles == {"regulator"}


@pytest.mark.parametrize("roles", [None, []])
def test_a_token_without_any_role_is_defective_not_a_caller(
    verifier: TokenVerifier, claims: Claims, sign_es256: Sign, roles: list | None
) -> None:
    assert _reason(verifier, sign_es256(claims(roles=roles))) == "token carries no role"


@pytest.mark.parametrize("token", ["", "   "])
def test_rejects_missing_token(verifier: TokenVerifier, token: str) -> None:
    assert _reason(verifier, token) == "missing token"


def test_rejects_expired_token(keys: DevKeys, verifier: TokenVerifier) -> None:
    token = keys.issue("user-1", hospital_id="H001", roles=["hospital"], ttl=60, now=time.time() - 3600)
    assert _reason(verifier, token) == "token expired"


def test_accepts_token_expired_within_leeway(keys: DevKeys, verifier: TokenVerifier) -> None:
    token = keys.issue("user-1", hospital_id="H001", roles=["hospital"], ttl=60, now=time.time() - 70)
    assert verifier.verify(token).subject == "user-1"


def test_rejects_token_issued_in_the_future_beyond_leeway(
    keys: DevKeys, verifier: TokenVerifier
) -> None:
    token = keys.issue("user-1", hospital_id="H001", roles=["hospital"], now=time.time() + 120)
    assert _reason(verifier, token) == "token not yet valid"


def test_rejects_token_signed_by_another_key_with_same_kid(
    verifier: TokenVerifier, claims: Claims, sign_es256: Sign
) -> None:
    forged = sign_es256(claims(), key=ec.generate_private_key(ec.SECP256R1()))
    assert _reason(verifier, forged) == "invalid signature"


def test_rejects_unknown_kid(keys: DevKeys, verifier: TokenVerifier, claims: Claims) -> None:
    token = jwt.encode(claims(), keys.private_key, algorithm="ES256", headers={"kid": "nope"})
    assert _reason(verifier, token) == "unknown key"


def test_rejects_wrong_audience(keys: DevKeys, verifier: TokenVerifier) -> None:
    token = keys.issue("user-1", hospital_id="H001", roles=["hospital"], audience="another-platform")
    assert _reason(verifier, token) == "invalid audience"


def test_rejects_wrong_issuer(keys: DevKeys, verifier: TokenVerifier) -> None:
    token = keys.issue("user-1", hospital_id="H001", roles=["hospital"], issuer="https://evil.example")
    assert _reason(verifier, token) == "invalid issuer"


def test_rejects_alg_none(keys: DevKeys, verifier: TokenVerifier, claims: Claims) -> None:
    token = _raw_token({"alg": "none", "kid": keys.kid, "typ": "JWT"}, claims())
    assert _reason(verifier, token) == "invalid signature"


def test_rejects_hs256_keyed_with_the_public_key(
    keys: DevKeys, verifier: TokenVerifier, claims: Claims
) -> None:
    public_pem = keys.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    unsigned = _raw_token({"alg": "HS256", "kid": keys.kid}, claims()).rsplit(".", 1)[0]
    mac = hmac.new(public_pem, unsigned.encode(), hashlib.sha256).digest()
    assert _reason(verifier, f"{unsigned}.{_b64(mac)}") == "invalid signature"


@pytest.mark.parametrize("token", ["abc", "a.b.c", "a.b", "Bearer x.y.z", "x" * 20_000])
def test_rejects_malformed_token(verifier: TokenVerifier, token: str) -> None:
    assert _reason(verifier, token) == "malformed token"


@pytest.mark.parametrize("claim", ["sub", "exp", "iat", "iss", "aud"])
def test_rejects_token_missing_a_required_claim(
    verifier: TokenVerifier, claims: Claims, sign_es256: Sign, claim: str
) -> None:
    with pytest.raises(AuthError):
        verifier.verify(sign_es256(claims(**{claim: None})))


@pytest.mark.parametrize(
    "override", [{"roles": "hospital"}, {"roles": ["hospital", 7]}, {"hospital_id": 1}]
)
def test_rejects_ill_typed_custom_claims(
    verifier: TokenVerifier, claims: Claims, sign_es256: Sign, override: dict[str, Any]
) -> None:
    assert _reason(verifier, sign_es256(claims(**override))) == "malformed token"


def _with_rsa_key(keys: DevKeys) -> rsa.RSAPrivateKey:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True) | {"kid": "rsa-1"}
    document = keys.jwks()
    document["keys"].append(jwk)
    keys.jwks_path.write_text(json.dumps(document))
    return rsa_key


def test_accepts_rs256_token_from_an_rsa_jwk(keys: DevKeys, claims: Claims) -> None:
    rsa_key = _with_rsa_key(keys)
    token = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    assert keys.verifier().verify(token).subject == "user-1"


def test_rejects_es256_header_naming_an_rsa_key(keys: DevKeys, claims: Claims) -> None:
    _with_rsa_key(keys)
    token = jwt.encode(claims(), keys.private_key, algorithm="ES256", headers={"kid": "rsa-1"})
    assert _reason(keys.verifier(), token) == "invalid signature"


def test_rereads_jwks_file_after_key_rotation(keys: DevKeys, verifier: TokenVerifier) -> None:
    old_token = keys.issue("user-1", hospital_id="H001", roles=["hospital"])
    assert verifier.verify(old_token).subject == "user-1"
    rotated = DevKeys.create(keys.directory, force=True)
    stat = rotated.jwks_path.stat()
    os.utime(rotated.jwks_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert verifier.verify(rotated.issue("user-2", hospital_id="H001", roles=["hospital"])).subject == "user-2"
    assert _reason(verifier, old_token) == "unknown key"


def test_missing_jwks_file_rejects_tokens_as_unknown_key(keys: DevKeys) -> None:
    verifier = TokenVerifier(JwksSource(keys.directory / "absent.json"), DEV_ISSUER, DEV_AUDIENCE)
    assert _reason(verifier, keys.issue("user-1", hospital_id="H001", roles=["hospital"])) == "unknown key"


def test_rejects_hospital_token_without_hospital_id(
    verifier: TokenVerifier, claims: Claims, sign_es256: Sign
) -> None:
    token = sign_es256(claims(hospital_id=None, roles=["hospital"]))
    assert _reason(verifier, token) == "role hospital requires a hospital_id claim"
    assert _reason(verifier, sign_es256({**claims(), "hospital_id": ""})) == "malformed token"


def test_rejects_hospital_token_without_hospital_id_even_with_another_role(
    keys: DevKeys, verifier: TokenVerifier
) -> None:
    token = keys.issue("user-1", roles=["hospital", "alliance_admin"])
    assert _reason(verifier, token) == "role hospital requires a hospital_id claim"


def test_roles_without_a_home_hospital_need_no_hospital_id(keys: DevKeys, verifier: TokenVerifier) -> None:
    for role in ("alliance_admin", "regulator", "qc_center", "supplier"):
        assert verifier.verify(keys.issue("user-1", roles=[role])).hospital_id is None
