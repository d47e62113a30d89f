"""Shared fixtures: throwaway dev keys, a verifier, and a local JWKS HTTP server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from alliance_auth import TokenVerifier
from alliance_auth.dev import DEV_AUDIENCE, DEV_ISSUER, DevKeys


@pytest.fixture
def keys(tmp_path: Path) -> DevKeys:
    """A fresh dev key pair on disk."""
    return DevKeys.create(tmp_path / "keys")


@pytest.fixture
def verifier(keys: DevKeys) -> TokenVerifier:
    """A verifier trusting `keys` with the dev issuer and audience."""
    return keys.verifier()


@pytest.fixture
def claims() -> Callable[..., dict[str, Any]]:
    """Build a valid claim set relative to the current time, with overrides."""

    def build(**overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        base = {
            "iss": DEV_ISSUER,
            "aud": DEV_AUDIENCE,
            "sub": "user-1",
            "iat": now,
            "exp": now + 300,
            "hospital_id": "H001",
            "roles": ["hospital"],
        }
        base.update(overrides)
        return {k: v for k, v in base.items() if v is not None}

    return build


@pytest.fixture
def sign_es256(keys: DevKeys) -> Callable[..., str]:
    """Sign arbitrary claims with an EC key (the dev key by default) under the dev kid."""

    def sign(payload: dict[str, Any], key: ec.EllipticCurvePrivateKey | None = None) -> str:
        headers = {"kid": keys.kid}
        return jwt.encode(payload, key or keys.private_key, algorithm="ES256", headers=headers)

    return sign


@dataclass
class JwksServer:
    """A local HTTP server publishing a mutable JWKS document."""

    url: str
    document: dict[str, Any] = field(default_factory=lambda: {"keys": []})
    hits: int = 0


@pytest.fixture
def jwks_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[JwksServer]:
    """Serve `JwksServer.document` on 127.0.0.1 at a random port."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    state = JwksServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits += 1
            body = json.dumps(state.document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
