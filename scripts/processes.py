"""Start, stop and inspect the five services as local processes (used by `make up`, `make down`, `make demo`)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.get("ALLIANCE_LOCAL_DIR", ROOT / ".local")) / "services"
KEYS = ROOT / ".local" / "keys"
BIN = Path(sys.executable).parent

# name, env prefix, HTTP port, gRPC port
SERVICES = [
    ("data-exchange", "DATA_EXCHANGE_", 8081, 9081),
    ("referral", "REFERRAL_", 8082, 9082),
    ("procurement", "PROCUREMENT_", 8083, 9083),
    ("cost-sharing", "COST_SHARING_", 8084, 9084),
    ("results-mutual-recognition", "RESULTS_MUTUAL_RECOGNITION_", 8085, 9085),
]


def infra_env() -> dict[str, str]:
    out = subprocess.run([sys.executable, str(ROOT / "infra/local/localinfra.py"), "env", "--format=dotenv"],
                         check=True, capture_output=True, text=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


PEERS = {"results-mutual-recognition": {"RESULTS_MUTUAL_RECOGNITION_DATA_EXCHANGE_GRPC": "127.0.0.1:9081"},
         "referral": {"REFERRAL_DATA_EXCHANGE_GRPC": "127.0.0.1:9081", "REFERRAL_RECOGNITION_GRPC": "127.0.0.1:9085"},
         # one checkpoint key across restarts, so a regulator can pin its public key
         "cost-sharing": {"COST_SHARING_LEDGER_SIGNING_KEY_FILE": str(KEYS / "ledger-signing-key.pem")}}


def service_env(name: str) -> dict[str, str]:
    prefix = next(p for n, p, *_ in SERVICES if n == name)
    return {f"{prefix}JWKS": str(KEYS / "jwks.json"), **PEERS.get(name, {})}


def _pid(name: str) -> int | None:
    try:
        pid = int((STATE / f"{name}.pid").read_text())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None


def _ready(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=3) as r:
            return json.loads(r.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def up() -> int:
    STATE.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **infra_env()}
    for name, *_ in SERVICES:
        if _pid(name):
            print(f"  {name:28} already running (pid {_pid(name)})")
            continue
        senv = {**env, **service_env(name)}
        subprocess.run([str(BIN / f"alliance-{name}"), "migrate"], env=senv, check=True,
                       stdout=subprocess.DEVNULL)
        log = open(STATE / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child process
        proc = subprocess.Popen([str(BIN / f"alliance-{name}"), "run"], env=senv, stdout=log, stderr=log,
                                start_new_session=True)
        (STATE / f"{name}.pid").write_text(str(proc.pid))
        print(f"  {name:28} started (pid {proc.pid}), log {STATE / (name + '.log')}")
    deadline = time.monotonic() + 90
    for name, _prefix, port, grpc_port in SERVICES:
        while _ready(port) is None or _ready(port).get("status") != "ready":
            if time.monotonic() > deadline or _pid(name) is None:
                print(f"{name} did not become ready; last log lines:", file=sys.stderr)
                print((STATE / f"{name}.log").read_text(errors="replace")[-3000:], file=sys.stderr)
                return 1
            time.sleep(0.3)
        print(f"  {name:28} ready: http://127.0.0.1:{port}/docs  grpc 127.0.0.1:{grpc_port}")
    return 0


def down() -> int:
    for name, *_ in SERVICES:
        pid = _pid(name)
        if pid is None:
            continue
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if _pid(name) is None:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
        (STATE / f"{name}.pid").unlink(missing_ok=True)
        print(f"  {name:28} stopped")
    return 0


def status() -> int:
    for name, _prefix, port, _ in SERVICES:
        pid = _pid(name)
        ready = _ready(port) if pid else None
        print(f"  {name:28} {'running pid ' + str(pid) if pid else 'stopped':18} "
              f"{json.dumps(ready['checks']) if ready else ''}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "env"])
    parser.add_argument("service", nargs="?")
    args = parser.parse_args()
    if args.command == "env":
        print("\n".join(f"{k}={v}" for k, v in service_env(args.service).items()))
        return 0
    return {"up": up, "down": down, "status": status}[args.command]()


if __name__ == "__main__":
    raise SystemExit(main())
