"""scripts/processes.py tells a live service from a zombie, a stopped one and a pid reused by another program."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def processes(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("alliance_processes", ROOT / "scripts" / "processes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "STATE", tmp_path / "services")
    (tmp_path / "services").mkdir()
    return module


@pytest.fixture
def fake_service(tmp_path):
    """A real process whose command line is `alliance-data-exchange run` (a sleeping Python script)."""
    script = tmp_path / "alliance-data-exchange"
    script.write_text("import time\nwhile True:\n    time.sleep(0.1)\n")
    proc = subprocess.Popen([sys.executable, str(script), "run"])
    yield proc
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGCONT)
        proc.kill()
    proc.wait()


def _zombie() -> int:
    """A child that has exited and that nobody has reaped yet."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    for _ in range(100):
        if Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z"):
            return pid
        time.sleep(0.01)
    raise AssertionError("the child did not become a zombie")


def test_a_zombie_is_not_a_running_service_though_signal_0_reaches_it(processes, capsys):
    pid = _zombie()
    try:
        os.kill(pid, 0)                               # what the script used to trust: a zombie passes it
        (processes.STATE / "data-exchange.pid").write_text(str(pid))
        assert processes.proc_state(pid) == "Z"
        assert processes.inspect(pid, "data-exchange") == "zombie"
        assert processes._pid("data-exchange") is None
        processes.status()
        assert f"exited (zombie) pid {pid}" in capsys.readouterr().out
    finally:
        os.waitpid(pid, 0)
    assert processes.inspect(pid, "data-exchange") == "gone"


def test_running_and_stopped_services_are_told_apart_and_down_ends_a_stopped_one(processes, fake_service, capsys):
    pid = fake_service.pid
    (processes.STATE / "data-exchange.pid").write_text(str(pid))
    for _ in range(100):      # until the interpreter has exec'd and /proc shows its command line
        if processes.inspect(pid, "data-exchange") == "running":
            break
        time.sleep(0.02)
    assert processes.inspect(pid, "data-exchange") == "running"
    assert processes._pid("data-exchange") == pid
    os.kill(pid, signal.SIGSTOP)
    for _ in range(100):
        if processes.proc_state(pid) in ("T", "t"):
            break
        time.sleep(0.01)
    assert processes.inspect(pid, "data-exchange") == "stopped"
    processes.status()
    assert f"stopped (SIGSTOP) pid {pid}" in capsys.readouterr().out
    processes.down()                                   # SIGTERM + SIGCONT: it ends although it was stopped
    assert fake_service.wait(10) == -signal.SIGTERM
    assert not (processes.STATE / "data-exchange.pid").exists()


def test_a_reused_pid_is_not_ours_and_is_never_signalled(processes, capsys):
    me = os.getpid()                                   # alive, but pytest, not alliance-data-exchange
    (processes.STATE / "data-exchange.pid").write_text(str(me))
    assert processes.inspect(me, "data-exchange") == "not-ours"
    assert processes._pid("data-exchange") is None
    processes.down()                                   # would SIGTERM pytest itself if it trusted the pid
    assert "was not-ours" in capsys.readouterr().out


def test_the_state_survives_a_command_name_with_parentheses_and_spaces(processes, tmp_path):
    odd = tmp_path / "a) b (c"                      # the kernel's comm field is the executable's name
    odd.symlink_to(sys.executable)
    proc = subprocess.Popen([str(odd), "-c", "import time; time.sleep(5)"])
    try:
        time.sleep(0.2)
        assert ") b (c" in Path(f"/proc/{proc.pid}/stat").read_text()
        assert processes.proc_state(proc.pid) in ("R", "S", "D")
    finally:
        proc.kill()
        proc.wait()
    assert processes.proc_state(proc.pid) is None
