"""`alliance-token` keygen and issue round trip."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from alliance_auth import DEV_AUDIENCE, DEV_ISSUER, Principal
from alliance_auth.cli import main
from alliance_auth.dev import DevKeys
from alliance_auth.thumbprint import jwk_thumbprint


def test_keygen_writes_private_key_and_jwks(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    directory = tmp_path / "keys"
    assert main(["keygen", "--dir", str(directory)]) == 0
    private_key = directory / "signing-key.pem"
    assert stat.S_IMODE(private_key.stat().st_mode) == 0o600
    assert private_key.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    (jwk,) = json.loads((directory / "jwks.json").read_text())["keys"]
    assert jwk["kid"] == jwk_thumbprint(jwk)
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("EC", "P-256", "ES256", "sig")
    assert "d" not in jwk
    assert jwk["kid"] in capsys.readouterr().out


def test_keygen_refuses_to_overwrite_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    directory = str(tmp_path / "keys")
    main(["keygen", "--dir", directory])
    jwks_before = (tmp_path / "keys" / "jwks.json").read_text()
    assert main(["keygen", "--dir", directory]) == 1
    assert "--force" in capsys.readouterr().err
    assert (tmp_path / "keys" / "jwks.json").read_text() == jwks_before
    assert main(["keygen", "--dir", directory, "--force"]) == 0
    assert (tmp_path / "keys" / "jwks.json").read_text() != jwks_before


def test_issued_token_verifies_against_generated_jwks(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    directory = str(tmp_path / "keys")
    main(["keygen", "--dir", directory])
    capsys.readouterr()
    args = ["issue", "--dir", directory, "--sub", "doc-7", "--hospital", "H001"]
    assert main([*args, "--role", "hospital", "--role", "qc_center", "--ttl", "600"]) == 0
    token = capsys.readouterr().out.strip()
    principal = DevKeys.load(directory).verifier().verify(token)
    assert principal == Principal("doc-7", "H001", frozenset({"hospital", "qc_center"}))


def test_issue_honours_issuer_and_audience(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    keys = DevKeys.create(tmp_path)
    common = ["issue", "--dir", str(tmp_path), "--sub", "reg-1", "--role", "regulator"]
    assert main([*common, "--issuer", "https://idp.test", "--audience", "other"]) == 0
    token = capsys.readouterr().out.strip()
    assert keys.verifier("https://idp.test", "other").verify(token).hospital_id is None
    assert (DEV_ISSUER, DEV_AUDIENCE) == ("https://auth.alliance.local/dev", "alliance-platform")


def test_issue_warns_about_unknown_roles(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    DevKeys.create(tmp_path)
    assert main(["issue", "--dir", str(tmp_path), "--sub", "x", "--role", "janitor"]) == 0
    assert "unknown role 'janitor'" in capsys.readouterr().err


def test_issue_without_keys_fails_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["issue", "--dir", str(tmp_path), "--sub", "x", "--role", "hospital"]) == 1
    assert "cannot load keys" in capsys.readouterr().err


def test_dev_keys_load_round_trips(keys: DevKeys) -> None:
    loaded = DevKeys.load(keys.directory)
    assert loaded.kid == keys.kid
    assert loaded.jwks() == keys.jwks()
    assert loaded.verifier().verify(keys.issue("u", roles="qc_center")).roles == {"qc_center"}
