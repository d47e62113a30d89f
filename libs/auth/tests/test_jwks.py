"""JwksSource: URL fetching, key rotation, rate limiting and JWKS parsing."""

from __future__ import annotations

import httpx
import pytest

from alliance_auth import AuthError, JwksSource, TokenVerifier
from alliance_auth.dev import DEV_AUDIENCE, DEV_ISSUER, DevKeys
from alliance_auth.jwks import parse_jwks
from alliance_auth.thumbprint import jwk_thumbprint

RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPeb"
    "WKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQ"
    "MicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2Nc"
    "Rwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)


class FakeClock:
    """A monotonic clock the test advances by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _url_verifier(url: str, clock: FakeClock, min_refresh_seconds: float = 60) -> TokenVerifier:
    source = JwksSource(url, min_refresh_seconds=min_refresh_seconds, clock=clock)
    return TokenVerifier(source, DEV_ISSUER, DEV_AUDIENCE)


async def test_url_jwks_is_fetched_on_first_use(keys: DevKeys, jwks_server) -> None:
    jwks_server.document = keys.jwks()
    verifier = _url_verifier(jwks_server.url, FakeClock())
    principal = await verifier.averify(keys.issue("user-1", hospital_id="H001", roles=["hospital"]))
    assert principal.subject == "user-1"
    await verifier.averify(keys.issue("user-2", hospital_id="H001", roles=["hospital"]))
    assert jwks_server.hits == 1


def test_sync_verify_fetches_url_jwks(keys: DevKeys, jwks_server) -> None:
    jwks_server.document = keys.jwks()
    verifier = _url_verifier(jwks_server.url, FakeClock())
    assert verifier.verify(keys.issue("user-1", hospital_id="H001", roles=["hospital"])).subject == "user-1"
    assert jwks_server.hits == 1


async def test_url_jwks_is_refetched_for_a_rotated_key(
    tmp_path, keys: DevKeys, jwks_server
) -> None:
    clock = FakeClock()
    jwks_server.document = keys.jwks()
    verifier = _url_verifier(jwks_server.url, clock)
    await verifier.averify(keys.issue("user-1", hospital_id="H001", roles=["hospital"]))
    rotated = DevKeys.create(tmp_path / "rotated")
    jwks_server.document = {"keys": keys.jwks()["keys"] + rotated.jwks()["keys"]}
    clock.now += 61
    principal = await verifier.averify(rotated.issue("user-2", hospital_id="H001", roles=["hospital"]))
    assert principal.subject == "user-2"
    assert jwks_server.hits == 2
    assert verifier.jwks.key_ids == {keys.kid, rotated.kid}


async def test_unknown_kid_refetch_is_rate_limited(tmp_path, keys: DevKeys, jwks_server) -> None:
    clock = FakeClock()
    jwks_server.document = keys.jwks()
    verifier = _url_verifier(jwks_server.url, clock)
    await verifier.averify(keys.issue("user-1", hospital_id="H001", roles=["hospital"]))
    stranger = DevKeys.create(tmp_path / "stranger").issue("x", hospital_id="H001", roles=["hospital"])
    for advance in (0, 10, 49):
        clock.now += advance
        with pytest.raises(AuthError, match="unknown key"):
            await verifier.averify(stranger)
    assert jwks_server.hits == 1
    clock.now += 2
    with pytest.raises(AuthError, match="unknown key"):
        verifier.verify(stranger)
    assert jwks_server.hits == 2


async def test_bad_jwks_response_keeps_cached_keys(keys: DevKeys, jwks_server) -> None:
    jwks_server.document = keys.jwks()
    verifier = _url_verifier(jwks_server.url, FakeClock(), min_refresh_seconds=0)
    token = keys.issue("user-1", hospital_id="H001", roles=["hospital"])
    await verifier.averify(token)
    jwks_server.document = ["not", "a", "jwks"]
    with pytest.raises(AuthError, match="unknown key"):
        await verifier.averify(DevKeys.create(keys.directory / "other").issue("x"))
    assert jwks_server.hits == 2
    assert (await verifier.averify(token)).subject == "user-1"


async def test_unreachable_jwks_url_rejects_tokens_as_unknown_key(keys: DevKeys) -> None:
    source = JwksSource("http://127.0.0.1:9/jwks.json", timeout_seconds=2)
    verifier = TokenVerifier(source, DEV_ISSUER, DEV_AUDIENCE)
    with pytest.raises(AuthError, match="unknown key"):
        await verifier.averify(keys.issue("user-1", hospital_id="H001", roles=["hospital"]))
    with pytest.raises(httpx.HTTPError):
        await source.arefresh()


def test_parse_jwks_keeps_only_public_signing_keys(keys: DevKeys) -> None:
    public = keys.jwks()["keys"][0]
    document = {
        "keys": [
            public,
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac", "alg": "HS256"},
            public | {"kid": "private", "d": "AAAA"},
            public | {"kid": "encryption", "use": "enc"},
            public | {"kid": "es512", "alg": "ES512"},
            {"kty": "EC", "kid": "broken"},
            "junk",
        ]
    }
    assert set(parse_jwks(document)) == {keys.kid}


@pytest.mark.parametrize("document", [[], {"keys": "x"}, {"nokeys": []}])
def test_parse_jwks_rejects_non_jwks_documents(document: object) -> None:
    with pytest.raises(ValueError, match="not a JWKS"):
        parse_jwks(document)


def test_thumbprint_matches_rfc7638_example() -> None:
    jwk = {"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_dev_kid_is_the_thumbprint_of_the_published_key(keys: DevKeys) -> None:
    jwk = keys.jwks()["keys"][0]
    assert jwk["kid"] == jwk_thumbprint(jwk) == keys.kid
    assert (jwk["alg"], jwk["use"], jwk["crv"]) == ("ES256", "sig", "P-256")
