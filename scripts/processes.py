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


# /proc/<pid>/stat state letters: what each means for one of our services
STATES = {"R": "running", "S": "running", "D": "running", "I": "running", "W": "running", "P": "running",
          "Z": "zombie", "X": "dead", "x": "dead", "T": "stopped", "t": "stopped", "K": "dead"}


def proc_state(pid: int) -> str | None:
    """The state letter of `pid` from /proc (None when there is no such process)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # "pid (comm) S ..." — comm may itself contain spaces and parentheses: the state follows the last ')'
    return stat[stat.rindex(")") + 2:].split(" ", 1)[0] or None


def proc_cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_service_command(cmdline: list[str], name: str) -> bool:
    """Whether a command line is `alliance-<name> run` (directly or through a Python interpreter)."""
    return any(Path(part).name == f"alliance-{name}" for part in cmdline[:3]) and "run" in cmdline


def inspect(pid: int, name: str) -> str:
    """What `pid` is for service `name`: running, stopped (SIGSTOP), zombie, dead, gone, or not-ours (reused)."""
    state = proc_state(pid)
    if state is None:
        return "gone"
    meaning = STATES.get(state, "running")
    if meaning in ("zombie", "dead"):
        return meaning          # a zombie has no command line left; it is not running whoever it was
    if not is_service_command(proc_cmdline(pid), name):
        return "not-ours"       # the pid was reused by another program: never signal it
    return meaning


def _recorded(name: str) -> int | None:
    try:
        return int((STATE / f"{name}.pid").read_text())
    except (FileNotFoundError, ValueError):
        return None


def _state(name: str) -> tuple[int | None, str]:
    """The recorded pid of `name` and what it is now ("no-pid-file" when none was recorded)."""
    pid = _recorded(name)
    return (pid, "no-pid-file") if pid is None else (pid, inspect(pid, name))


def _pid(name: str) -> int | None:
    """The pid of `name` if it is alive and really our service (running or stopped), else None."""
    pid, state = _state(name)
    return pid if state in ("running", "stopped") else None


def _ready(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=3) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as exc:      # 503 not-ready: its body says which dependency since when
        try:
            return json.loads(exc.read())
        except ValueError:
            return None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def up() -> int:
    STATE.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **infra_env()}
    for name, *_ in SERVICES:
        pid, state = _state(name)
        if state == "running":
            print(f"  {name:28} already running (pid {pid})")
            continue
        if state == "stopped":          # frozen (SIGSTOP): it answers nothing; replace it
            _signal(pid, signal.SIGKILL)
            _wait_gone(name)
        if pid is not None:
            print(f"  {name:28} was {state} (pid {pid}); starting it again")
            (STATE / f"{name}.pid").unlink(missing_ok=True)
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


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _wait_gone(name: str, seconds: float = 10.0) -> bool:
    """Wait until `name` is no longer alive (a zombie counts as gone: it runs nothing)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _pid(name) is None:
            return True
        time.sleep(0.1)
    return _pid(name) is None


def down() -> int:
    for name, *_ in SERVICES:
        pid, state = _state(name)
        if state in ("running", "stopped"):
            _signal(pid, signal.SIGTERM)
            if state == "stopped":
                _signal(pid, signal.SIGCONT)    # a stopped process only acts on SIGTERM once continued
            if not _wait_gone(name):
                _signal(pid, signal.SIGKILL)
                _wait_gone(name)
            print(f"  {name:28} stopped")
        elif pid is not None:
            print(f"  {name:28} was {state} (pid {pid}); nothing to stop")
        (STATE / f"{name}.pid").unlink(missing_ok=True)
    return 0


def status() -> int:
    for name, _prefix, port, _ in SERVICES:
        pid, state = _state(name)
        ready = _ready(port) if state == "running" else None
        what = {"running": f"running pid {pid}", "stopped": f"stopped (SIGSTOP) pid {pid}",
                "zombie": f"exited (zombie) pid {pid}", "dead": f"dead pid {pid}", "gone": "exited",
                "not-ours": f"exited (pid {pid} reused)", "no-pid-file": "not started"}[state]
        detail = json.dumps(ready.get("degraded") or ready["checks"]) if ready else ""
        print(f"  {name:28} {what:28} {detail}")
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
