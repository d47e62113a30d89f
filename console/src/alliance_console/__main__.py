"""`alliance-console` / `python -m alliance_console`: run the console, or start/stop it in the background.

    alliance-console            serve in the foreground (same as `run`)
    alliance-console start      serve in the background; pid and log in CONSOLE_STATE_DIR
    alliance-console stop       stop the background console
    alliance-console status     say whether it is running
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from .settings import Settings, SettingsError

NAME = "console"


def _url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.http_host in ("", "0.0.0.0", "::") else settings.http_host
    return f"http://{host}:{settings.http_port}"


def _pid(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def run(settings: Settings) -> int:
    import uvicorn

    from .app import create_app

    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)   # one line per proxied call is uvicorn's job
    print(f"alliance console on {_url(settings)}/ ({settings.environment})", flush=True)
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port,
                log_level=settings.log_level.lower())
    return 0


def start(settings: Settings) -> int:
    pidfile, logfile = settings.state_dir / f"{NAME}.pid", settings.state_dir / f"{NAME}.log"
    if pid := _pid(pidfile):
        print(f"  {NAME:28} already running (pid {pid})")
        return 0
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with open(logfile, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "alliance_console", "run"], stdout=out,
                                stderr=out, stdin=subprocess.DEVNULL, start_new_session=True)
    pidfile.write_text(str(proc.pid))
    url = _url(settings)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pidfile.unlink(missing_ok=True)
            print(f"{NAME} exited with {proc.returncode}; last log lines:", file=sys.stderr)
            print(logfile.read_text(errors="replace")[-2000:], file=sys.stderr)
            return 1
        if _healthy(url):
            print(f"  {NAME:28} ready: {url}/  (pid {proc.pid}, log {logfile})")
            return 0
        time.sleep(0.2)
    print(f"{NAME} did not answer on {url} within 30 s; see {logfile}", file=sys.stderr)
    return 1


def stop(settings: Settings) -> int:
    pidfile = settings.state_dir / f"{NAME}.pid"
    pid = _pid(pidfile)
    if pid is None:
        pidfile.unlink(missing_ok=True)
        return 0
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if _pid(pidfile) is None:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)
    print(f"  {NAME:28} stopped")
    return 0


def status(settings: Settings) -> int:
    pid = _pid(settings.state_dir / f"{NAME}.pid")
    state = f"running pid {pid}" if pid else "stopped"
    health = "answering" if pid and _healthy(_url(settings)) else ""
    print(f"  {NAME:28} {state:18} {_url(settings) + '/ ' + health if pid else ''}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="alliance-console", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="run", choices=["run", "start", "stop", "status"])
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"alliance-console: {exc}", file=sys.stderr)
        return 2
    return {"run": run, "start": start, "stop": stop, "status": status}[args.command](settings)


if __name__ == "__main__":
    raise SystemExit(main())
