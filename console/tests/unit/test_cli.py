"""`alliance-console start | status | stop`: what `make up` / `make down` call."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "alliance_console", command], env=env,
                          capture_output=True, text=True, timeout=60)


def test_start_serves_in_the_background_and_stop_ends_it(tmp_path):
    port = _free_port()
    env = {**os.environ, "CONSOLE_HTTP_PORT": str(port), "CONSOLE_STATE_DIR": str(tmp_path),
           "CONSOLE_DEV_KEYS_DIR": str(tmp_path / "keys")}
    started = _cli("start", env)
    try:
        assert started.returncode == 0, started.stderr
        assert f"http://127.0.0.1:{port}/" in started.stdout
        pid = int((tmp_path / "console.pid").read_text())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            assert r.status == 200
        assert "already running" in _cli("start", env).stdout
        assert f"running pid {pid}" in _cli("status", env).stdout
    finally:
        stopped = _cli("stop", env)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not (tmp_path / "console.pid").exists()
    assert "stopped" in _cli("status", env).stdout
    assert (tmp_path / "console.log").exists()


def test_a_bad_setting_stops_it_with_the_variable_named():
    env = {**os.environ, "CONSOLE_ENVIRONMENT": "staging"}
    r = _cli("run", env)
    assert r.returncode == 2 and "CONSOLE_ENVIRONMENT" in r.stderr
