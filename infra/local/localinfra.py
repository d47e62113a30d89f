#!/usr/bin/env python3
"""Local PostgreSQL + Kafka for development and tests, without Docker.

Standard library only (Python 3.11+): it runs with the system ``python3``
before any virtualenv exists.

    python3 infra/local/localinfra.py up        # install/init/start both, print env
    python3 infra/local/localinfra.py down      # stop both
    python3 infra/local/localinfra.py status    # running/stopped (exit 0 only if both run)
    python3 infra/local/localinfra.py env [--format=shell|dotenv]
    python3 infra/local/localinfra.py stop-kafka|start-kafka|kill-kafka
    python3 infra/local/localinfra.py stop-pg|start-pg
    python3 infra/local/localinfra.py kafka-user NAME --read TOPIC   # SCRAM user, read-only

Progress goes to stderr; ``up`` and ``env`` print only the variables on stdout,
so ``eval "$(python3 infra/local/localinfra.py up)"`` works.

State lives in ``<repo>/.local`` (override: ALLIANCE_LOCAL_DIR); downloaded
Kafka jars are cached in ``${XDG_CACHE_HOME:-~/.cache}/alliance`` so later runs,
even from a fresh clone, are offline.  Ports: ALLIANCE_PG_PORT (55432),
ALLIANCE_KAFKA_PORT (59092), ALLIANCE_KAFKA_CONTROLLER_PORT (59093),
ALLIANCE_KAFKA_SASL_PORT (59094: SASL/SCRAM with ACLs; see ``kafka-user``).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import errno
import fcntl
import glob
import hashlib
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import NoReturn

# --------------------------------------------------------------------------- config

KAFKA_VERSION = "3.9.2"
HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
KAFKA_POM = HERE / "kafka" / "pom.xml"

SERVICE_DATABASES = {
    "DATA_EXCHANGE": "data_exchange",
    "REFERRAL": "referral",
    "PROCUREMENT": "procurement",
    "COST_SHARING": "cost_sharing",
    "RESULTS_MUTUAL_RECOGNITION": "results_mutual_recognition",
}
PG_USER = "alliance"  # the database superuser created by initdb
PG_SYSTEM_USER = "postgres"  # OS user that owns the cluster when we run as root

KAFKA_READY_TIMEOUT = 90.0
KAFKA_STOP_TIMEOUT = 20.0
PG_START_TIMEOUT = 60


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        die(f"{name}={raw!r} is not a port number")
    if not 1 <= value <= 65535:
        die(f"{name}={value} is out of range")
    return value


class Cfg:
    def __init__(self) -> None:
        local = os.environ.get("ALLIANCE_LOCAL_DIR", "").strip()
        self.local = Path(local).expanduser().resolve() if local else REPO / ".local"
        cache = os.environ.get("XDG_CACHE_HOME", "").strip()
        self.cache = (Path(cache).expanduser() if cache else Path.home() / ".cache") / "alliance"
        self.pg_port = _port("ALLIANCE_PG_PORT", 55432)
        self.kafka_port = _port("ALLIANCE_KAFKA_PORT", 59092)
        self.ctrl_port = _port("ALLIANCE_KAFKA_CONTROLLER_PORT", 59093)
        # the authenticated listener (SASL/SCRAM): regulators and anyone who is not a super user
        self.sasl_port = _port("ALLIANCE_KAFKA_SASL_PORT", self.kafka_port + 2)
        if len({self.pg_port, self.kafka_port, self.ctrl_port, self.sasl_port}) != 4:
            die(
                "ALLIANCE_PG_PORT, ALLIANCE_KAFKA_PORT, ALLIANCE_KAFKA_CONTROLLER_PORT and "
                "ALLIANCE_KAFKA_SASL_PORT must be four different ports"
            )
        # PostgreSQL
        self.pg_dir = self.local / "pg"
        self.pg_data = self.pg_dir / "data"
        self.pg_run = self.pg_dir / "run"
        self.pg_log = self.pg_dir / "pg.log"
        # Kafka
        self.k_dir = self.local / "kafka"
        self.k_data = self.k_dir / "data"
        self.k_props = self.k_dir / "server.properties"
        self.k_log4j = self.k_dir / "log4j.properties"
        self.k_pid = self.k_dir / "kafka.pid"
        self.k_log = self.k_dir / "kafka.log"  # JVM stdout/stderr (+ WARN and above)
        self.k_server_log = self.k_dir / "server.log"  # log4j INFO file appender
        self.k_cluster_id = self.k_dir / "cluster.id"
        self.k_home = self.cache / f"kafka-{KAFKA_VERSION}"
        self.k_libs = self.k_home / "libs"
        self.k_marker = self.k_home / "fetched.ok"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def sasl_bootstrap(self) -> str:
        return f"127.0.0.1:{self.sasl_port}"

    def env_vars(self) -> list[tuple[str, str]]:
        base = f"alliance@127.0.0.1:{self.pg_port}"
        out = [
            ("ALLIANCE_KAFKA_BOOTSTRAP", self.bootstrap),
            ("ALLIANCE_KAFKA_SASL_BOOTSTRAP", self.sasl_bootstrap),
            ("ALLIANCE_PG_DSN", f"postgresql://{base}/postgres"),
        ]
        for prefix, db in SERVICE_DATABASES.items():
            out.append((f"{prefix}_DATABASE_URL", f"postgresql+asyncpg://{base}/{db}"))
        for prefix in SERVICE_DATABASES:
            out.append((f"{prefix}_KAFKA_BOOTSTRAP", self.bootstrap))
        return out


# --------------------------------------------------------------------------- helpers


class Failure(Exception):
    pass


def die(msg: str) -> NoReturn:
    raise Failure(msg)


def log(msg: str) -> None:
    print(f"[localinfra] {msg}", file=sys.stderr, flush=True)


def is_root() -> bool:
    return os.geteuid() == 0


def tail(path: Path, lines: int = 40) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode("utf-8", "replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    return "\n".join(data.splitlines()[-lines:])


def port_free(port: int) -> bool:
    """True if we could bind 127.0.0.1:port the way the servers do (SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def tcp_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    """Alive and not a zombie (a zombie is dead for our purposes)."""
    if pid <= 0:
        return False
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it happens to be our child
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        st = Path(f"/proc/{pid}/stat").read_text()
        state = st[st.rindex(")") + 2 :].split()[0]
        return state not in ("Z", "X")
    except (OSError, ValueError, IndexError):
        return True


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]


@contextlib.contextmanager
def file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for lock {path} (another localinfra is running)")
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


_apt_updated = False


def apt_install(packages: list[str], why: str) -> None:
    global _apt_updated
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    if not is_root():
        die(f"{why}; run as root: apt-get update && {' '.join(cmd)}")
    if not shutil.which("apt-get"):
        die(f"{why}, and apt-get is not available: install {' '.join(packages)} by hand")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if not _apt_updated:
        log(f"{why}: running apt-get update")
        if subprocess.run(["apt-get", "update"], env=env, stdout=sys.stderr).returncode:
            die("apt-get update failed")
        _apt_updated = True
    log(f"{why}: running {' '.join(cmd)}")
    if subprocess.run(cmd, env=env, stdout=sys.stderr).returncode:
        die(f"{' '.join(cmd)} failed")


# --------------------------------------------------------------------------- PostgreSQL


def _pg_version_key(bindir: str) -> tuple:
    m = re.search(r"/postgresql/([0-9.]+)/bin", bindir)
    return tuple(int(x) for x in m.group(1).split(".")) if m else (0,)


def _has_server(bindir: str) -> bool:
    return all(
        os.access(os.path.join(bindir, b), os.X_OK) for b in ("initdb", "pg_ctl", "postgres")
    )


def find_pg_bindir(cfg: Cfg, install: bool) -> str | None:
    # An existing cluster must be run by its own major version.
    with contextlib.suppress(OSError):
        major = (cfg.pg_data / "PG_VERSION").read_text().strip()
        for cand in (f"/usr/lib/postgresql/{major}/bin", f"/usr/pgsql-{major}/bin"):
            if _has_server(cand):
                return cand
    if shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                ["pg_config", "--bindir"], capture_output=True, text=True, timeout=10
            ).stdout.strip()
            if out and _has_server(out):
                return out
    cands = sorted(
        (d for d in glob.glob("/usr/lib/postgresql/*/bin") if _has_server(d)), key=_pg_version_key
    )
    if cands:
        return cands[-1]
    if not install:
        return None
    apt_install(["postgresql"], "no PostgreSQL server binaries found")
    log(
        "note: the Debian package may have created/started its own cluster on port 5432; "
        "it is left alone, we run our own"
    )
    return find_pg_bindir(cfg, install=False) or die(
        "PostgreSQL installed but no initdb/pg_ctl/postgres found under /usr/lib/postgresql/*/bin"
    )


class PgRunner:
    """Runs server-side binaries as the cluster owner (postgres when we are root)."""

    def __init__(self, cfg: Cfg, bindir: str) -> None:
        self.cfg = cfg
        self.bindir = bindir
        self.user: pwd.struct_passwd | None = None
        if is_root():
            self.user = self._ensure_system_user()

    @staticmethod
    def _ensure_system_user() -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(PG_SYSTEM_USER)
        except KeyError:
            pass
        log(f"creating system user {PG_SYSTEM_USER!r} (initdb refuses to run as root)")
        cmd = [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/var/lib/postgresql",
            "--shell",
            "/bin/sh",
            PG_SYSTEM_USER,
        ]
        if subprocess.run(cmd, stdout=sys.stderr).returncode:
            die(f"could not create system user {PG_SYSTEM_USER}: {' '.join(cmd)}")
        return pwd.getpwnam(PG_SYSTEM_USER)

    def bin(self, name: str) -> str:
        return os.path.join(self.bindir, name)

    def wrap(self, argv: list[str]) -> list[str]:
        if self.user is None:
            return argv
        if shutil.which("runuser"):
            return ["runuser", "-u", self.user.pw_name, "--", *argv]
        return ["su", "-s", "/bin/sh", self.user.pw_name, "-c", shlex.join(argv)]

    def run(self, argv: list[str], **kw) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        if self.user is not None:
            env["HOME"] = self.user.pw_dir
        kw.setdefault("cwd", str(self.cfg.pg_dir))
        return subprocess.run(self.wrap(argv), env=env, **kw)

    # -- filesystem preparation
    def prepare_dirs(self) -> None:
        cfg = self.cfg
        cfg.pg_dir.mkdir(parents=True, exist_ok=True)
        cfg.pg_run.mkdir(parents=True, exist_ok=True)
        if self.user is None:
            return
        uid, gid = self.user.pw_uid, self.user.pw_gid
        if any(p.stat().st_uid != uid for p in (cfg.pg_dir, cfg.pg_run)) or (
            cfg.pg_data.exists() and cfg.pg_data.stat().st_uid != uid
        ):
            log(f"chown -R {self.user.pw_name} {cfg.pg_dir}")
            for root, dirs, files in os.walk(cfg.pg_dir):
                os.chown(root, uid, gid)
                for name in dirs + files:
                    with contextlib.suppress(FileNotFoundError):
                        os.lchown(os.path.join(root, name), uid, gid)
        self._ensure_traversable(cfg.pg_dir.parent)

    def _ensure_traversable(self, path: Path) -> None:
        """Make sure the postgres user can reach `path` (x on every ancestor)."""
        assert self.user is not None
        uid = self.user.pw_uid
        gids = {self.user.pw_gid} | set(os.getgrouplist(self.user.pw_name, self.user.pw_gid))
        chain = [path, *path.parents]
        for d in reversed(chain):
            st = d.stat()
            if st.st_uid == uid:
                ok = bool(st.st_mode & stat.S_IXUSR)
            elif st.st_gid in gids:
                ok = bool(st.st_mode & stat.S_IXGRP)
            else:
                ok = bool(st.st_mode & stat.S_IXOTH)
            if not ok:
                os.chmod(d, stat.S_IMODE(st.st_mode) | stat.S_IXOTH)
                who = self.user.pw_name
                log(f"note: chmod o+x {d} so the {who} user can reach {self.cfg.pg_dir}")

    # -- state
    def running_pid(self) -> int | None:
        """pid of our postmaster, or None (checked with pg_ctl status)."""
        if not (self.cfg.pg_data / "PG_VERSION").exists():
            return None
        r = self.run(
            [self.bin("pg_ctl"), "status", "-D", str(self.cfg.pg_data)],
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            return None
        m = re.search(r"PID:\s*(\d+)", r.stdout)
        return int(m.group(1)) if m else -1

    def running_port(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            lines = (self.cfg.pg_data / "postmaster.pid").read_text().splitlines()
            return int(lines[3])
        return None


def pg_initdb(pg: PgRunner) -> None:
    cfg = pg.cfg
    if (cfg.pg_data / "PG_VERSION").exists():
        return
    if cfg.pg_data.exists() and any(cfg.pg_data.iterdir()):
        die(
            f"{cfg.pg_data} exists, is not empty and has no PG_VERSION: remove it "
            f"(or `down` and delete {cfg.local}) and retry"
        )
    base = [
        pg.bin("initdb"),
        "-D",
        str(cfg.pg_data),
        "-U",
        PG_USER,
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-sync",
    ]
    log(f"initdb {cfg.pg_data} (superuser {PG_USER}, trust auth)")
    r = pg.run([*base, "--locale=C.UTF-8"], capture_output=True, text=True)
    if r.returncode != 0:
        log(
            "initdb with --locale=C.UTF-8 failed; retrying with --no-locale\n" + r.stdout + r.stderr
        )
        if cfg.pg_data.exists():
            shutil.rmtree(cfg.pg_data)
        r = pg.run([*base, "--no-locale"], capture_output=True, text=True)
        if r.returncode != 0:
            die("initdb failed:\n" + r.stdout + r.stderr)


def pg_start(cfg: Cfg, install: bool = True) -> PgRunner:
    bindir = find_pg_bindir(cfg, install=install)
    pg = PgRunner(cfg, bindir)
    pg.prepare_dirs()
    pg_initdb(pg)
    pid = pg.running_pid()
    if pid is not None:
        port = pg.running_port()
        if port is not None and port != cfg.pg_port:
            die(
                f"our PostgreSQL ({cfg.pg_data}) is already running on port {port}, not "
                f"ALLIANCE_PG_PORT={cfg.pg_port}: run `stop-pg` first"
            )
        log(f"postgres: already running (pid {pid}, port {cfg.pg_port}); verifying")
    else:
        if not port_free(cfg.pg_port):
            die(
                f"port 127.0.0.1:{cfg.pg_port} is already in use by another process "
                f"(not our PostgreSQL): set ALLIANCE_PG_PORT to a free port"
            )
        sock_dir = str(cfg.pg_run)
        if len(os.fsencode(sock_dir)) + len(f"/.s.PGSQL.{cfg.pg_port}") > 107:
            log(f"note: {sock_dir} is too long for a unix socket path; TCP only")
            sock_dir = ""
        opts = " ".join(
            [
                f"-p {cfg.pg_port}",
                f"-k {shlex.quote(sock_dir)}",
                "-c listen_addresses=127.0.0.1",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=300",
                "-c shared_buffers=128MB",
            ]
        )
        log(f"postgres: starting {bindir}/postgres on 127.0.0.1:{cfg.pg_port} (log {cfg.pg_log})")
        t0 = time.monotonic()
        r = pg.run(
            [
                pg.bin("pg_ctl"),
                "start",
                "-D",
                str(cfg.pg_data),
                "-l",
                str(cfg.pg_log),
                "-w",
                "-t",
                str(PG_START_TIMEOUT),
                "-o",
                opts,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if r.returncode != 0:
            die(
                f"pg_ctl start failed (exit {r.returncode}):\n{r.stdout}\n"
                f"--- tail of {cfg.pg_log} ---\n{tail(cfg.pg_log)}"
            )
        log(f"postgres: pg_ctl reports started in {time.monotonic() - t0:.1f}s")
    pg_wait_ready(pg)
    pg_create_databases(pg)
    return pg


def _psql(
    pg: PgRunner, sql: str, db: str = "postgres", timeout: float = 20
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGCONNECT_TIMEOUT"] = "5"
    return subprocess.run(
        [
            pg.bin("psql"),
            "-X",
            "-q",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            str(pg.cfg.pg_port),
            "-U",
            PG_USER,
            "-d",
            db,
            "-c",
            sql,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def pg_wait_ready(pg: PgRunner, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            r = _psql(pg, "select 1")
            if r.returncode == 0 and r.stdout.strip() == "1":
                return
            err = r.stderr.strip()
        except subprocess.TimeoutExpired:
            err = "psql timed out"
        if time.monotonic() > deadline:
            die(
                f"PostgreSQL on 127.0.0.1:{pg.cfg.pg_port} is not answering queries: {err}\n"
                f"--- tail of {pg.cfg.pg_log} ---\n{tail(pg.cfg.pg_log)}"
            )
        time.sleep(0.25)


def pg_create_databases(pg: PgRunner) -> None:
    r = _psql(pg, "select datname from pg_database")
    if r.returncode != 0:
        die(f"listing databases failed: {r.stderr}")
    have = set(r.stdout.split())
    for db in SERVICE_DATABASES.values():
        if db in have:
            continue
        log(f"postgres: createdb {db}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        c = subprocess.run(
            [pg.bin("createdb"), "-h", "127.0.0.1", "-p", str(pg.cfg.pg_port), "-U", PG_USER, db],
            capture_output=True,
            text=True,
            env=env,
        )
        if c.returncode != 0 and "already exists" not in c.stderr:
            die(f"createdb {db} failed: {c.stderr}")


def pg_stop(cfg: Cfg) -> None:
    bindir = find_pg_bindir(cfg, install=False)
    if bindir is None or not (cfg.pg_data / "PG_VERSION").exists():
        log("postgres: not initialised (nothing to stop)")
        return
    pg = PgRunner(cfg, bindir)
    pid = pg.running_pid()
    if pid is None:
        log("postgres: already stopped")
        return
    log(f"postgres: pg_ctl stop -m fast (pid {pid})")
    r = pg.run(
        [pg.bin("pg_ctl"), "stop", "-D", str(cfg.pg_data), "-m", "fast", "-w", "-t", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if r.returncode != 0:
        log(f"pg_ctl stop -m fast failed:\n{r.stdout}\nfalling back to -m immediate")
        r = pg.run(
            [pg.bin("pg_ctl"), "stop", "-D", str(cfg.pg_data), "-m", "immediate", "-w"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if r.returncode != 0:
            die(f"could not stop PostgreSQL:\n{r.stdout}")
    log("postgres: stopped")


def pg_status(cfg: Cfg) -> tuple[bool, str]:
    bindir = find_pg_bindir(cfg, install=False)
    if bindir is None:
        return False, "stopped (PostgreSQL not installed)"
    if not (cfg.pg_data / "PG_VERSION").exists():
        return False, f"stopped (not initialised: {cfg.pg_data})"
    pid = PgRunner(cfg, bindir).running_pid()
    if pid is None:
        return False, f"stopped (data {cfg.pg_data})"
    port = PgRunner(cfg, bindir).running_port()
    return True, f"running (pid {pid}, 127.0.0.1:{port}, data {cfg.pg_data})"


# --------------------------------------------------------------------------- Kafka: install


def _pom_digest() -> str:
    return hashlib.sha256(KAFKA_POM.read_bytes()).hexdigest()


def kafka_libs_ok(cfg: Cfg) -> bool:
    jar = cfg.k_libs / f"kafka_2.13-{KAFKA_VERSION}.jar"
    try:
        return jar.is_file() and cfg.k_marker.read_text().split()[0] == _pom_digest()
    except (OSError, IndexError):
        return False


def ensure_java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.access(os.path.join(java_home, "bin", "java"), os.X_OK):
        return os.path.join(java_home, "bin", "java")
    java = shutil.which("java")
    if java:
        return java
    apt_install(["default-jre-headless"], "no java found (Kafka needs Java 11+)")
    return shutil.which("java") or die("java still not found after installing it")


def ensure_kafka_libs(cfg: Cfg) -> None:
    if kafka_libs_ok(cfg):
        return
    with file_lock(cfg.cache / f"kafka-{KAFKA_VERSION}.lock"):
        if kafka_libs_ok(cfg):
            return
        if not shutil.which("mvn"):
            apt_install(["maven"], "no mvn found (needed once to fetch the Kafka jars)")
        ensure_java()
        cfg.k_home.mkdir(parents=True, exist_ok=True)
        tmp = cfg.k_home / f"libs.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        cmd = [
            "mvn",
            "-B",
            "-q",
            "-Dstyle.color=never",
            "-f",
            str(KAFKA_POM),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={tmp}",
        ]
        log(f"kafka: fetching Kafka {KAFKA_VERSION} jars into {cfg.k_libs} (one-off; cached)")
        log("kafka: " + " ".join(cmd))
        t0 = time.monotonic()
        r = subprocess.run(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=str(HERE / "kafka"),
        )
        if r.returncode != 0 or not (tmp / f"kafka_2.13-{KAFKA_VERSION}.jar").is_file():
            shutil.rmtree(tmp, ignore_errors=True)
            die(f"fetching the Kafka jars with mvn failed (exit {r.returncode}):\n{r.stdout}")
        old = cfg.k_home / f"libs.old-{os.getpid()}"
        if cfg.k_libs.exists():
            cfg.k_libs.rename(old)
        tmp.rename(cfg.k_libs)
        shutil.rmtree(old, ignore_errors=True)
        jars = sorted(p.name for p in cfg.k_libs.glob("*.jar"))
        cfg.k_marker.write_text(f"{_pom_digest()}\n" + "\n".join(jars) + "\n")
        log(f"kafka: {len(jars)} jars fetched in {time.monotonic() - t0:.1f}s")


# --------------------------------------------------------------------------- Kafka: config


def write_kafka_config(cfg: Cfg) -> None:
    cfg.k_dir.mkdir(parents=True, exist_ok=True)
    cfg.k_data.mkdir(parents=True, exist_ok=True)
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{cfg.ctrl_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{cfg.kafka_port},CONTROLLER://127.0.0.1:{cfg.ctrl_port},"
        f"SASL_PLAINTEXT://127.0.0.1:{cfg.sasl_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{cfg.kafka_port},"
        f"SASL_PLAINTEXT://127.0.0.1:{cfg.sasl_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,"
        "SASL_PLAINTEXT:SASL_PLAINTEXT",
        # Authorisation as in production: SCRAM users on the SASL listener get only what ACLs
        # grant them. The loopback PLAINTEXT listener (services, tests, tools on this machine)
        # and the controller are the ANONYMOUS super user.
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config":
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": "User:ANONYMOUS",
        "allow.everyone.if.no.acl.found": "false",
        "log.dirs": str(cfg.k_data),
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "3",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "3",
        "min.insync.replicas": "1",
        "default.replication.factor": "1",
        "num.partitions": "3",
        "auto.create.topics.enable": "true",
        "group.initial.rebalance.delay.ms": "0",
        "log.cleaner.dedupe.buffer.size": "2097152",
    }
    text = "# Generated by infra/local/localinfra.py on every start; edits are overwritten.\n"
    text += "".join(f"{k}={v}\n" for k, v in props.items())
    cfg.k_props.write_text(text)

    fmt = "[%d] %p %m (%c)%n"
    log4j = f"""# Generated by infra/local/localinfra.py.
log4j.rootLogger=INFO, file, stdout

# INFO and above: {cfg.k_server_log}
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File={cfg.k_server_log}
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern={fmt}

# WARN and above also to stdout (captured in {cfg.k_log})
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.Threshold=WARN
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern={fmt}

# Noisy loggers
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.network.RequestChannel$=WARN
log4j.logger.kafka.authorizer.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.kafka.log.UnifiedLog$=WARN
log4j.logger.org.apache.kafka.storage.internals.log=WARN
log4j.logger.org.apache.kafka.clients=WARN
log4j.logger.org.apache.kafka.common.utils.AppInfoParser=WARN
log4j.logger.org.apache.kafka.common.config.AbstractConfig=WARN
log4j.logger.kafka.server.KafkaConfig=WARN
log4j.logger.org.apache.zookeeper=WARN
"""
    cfg.k_log4j.write_text(log4j)


def kafka_cluster_id(cfg: Cfg) -> str:
    with contextlib.suppress(OSError):
        cid = cfg.k_cluster_id.read_text().strip()
        if len(cid) == 22:
            return cid
    cid = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
    cfg.k_cluster_id.write_text(cid + "\n")
    return cid


def kafka_format(cfg: Cfg, java: str) -> None:
    if (cfg.k_data / "meta.properties").exists():
        return
    cid = kafka_cluster_id(cfg)
    log(f"kafka: formatting storage {cfg.k_data} (cluster id {cid})")
    r = subprocess.run(
        [
            java,
            f"-Dlog4j.configuration=file:{cfg.k_log4j}",
            "-cp",
            f"{cfg.k_libs}/*",
            "kafka.tools.StorageTool",
            "format",
            "--ignore-formatted",
            "-t",
            cid,
            "-c",
            str(cfg.k_props),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=str(cfg.k_dir),
    )
    if r.returncode != 0 or not (cfg.k_data / "meta.properties").exists():
        die(f"kafka storage format failed (exit {r.returncode}):\n{r.stdout}")


# --------------------------------------------------------------------------- Kafka: wire probes


class KafkaProbe:
    """Just enough of the Kafka protocol to prove a broker really answers."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.corr = 0

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self) -> KafkaProbe:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _recv(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            buf += chunk
        return bytes(buf)

    def request(self, api_key: int, api_version: int, body: bytes) -> bytes:
        self.corr += 1
        client_id = b"localinfra"
        # request header v1: api_key, api_version, correlation_id, client_id (nullable string)
        header = struct.pack(">hhih", api_key, api_version, self.corr, len(client_id)) + client_id
        payload = header + body
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)
        (size,) = struct.unpack(">i", self._recv(4))
        resp = self._recv(size)
        (corr,) = struct.unpack_from(">i", resp, 0)  # response header v0
        if corr != self.corr:
            raise ConnectionError(f"correlation id mismatch ({corr} != {self.corr})")
        return resp[4:]

    def api_versions(self) -> int:
        """ApiVersions v0 -> number of APIs; raises on a non-zero error code."""
        body = self.request(18, 0, b"")
        err, count = struct.unpack_from(">hi", body, 0)
        if err != 0:
            raise RuntimeError(f"ApiVersions error_code {err}")
        return count

    def metadata_brokers(self) -> list[tuple[int, str, int]]:
        """Metadata v1 with topics=null (all topics) -> [(node_id, host, port)]."""
        body = self.request(3, 1, struct.pack(">i", -1))
        off = 0
        (n,) = struct.unpack_from(">i", body, off)
        off += 4
        brokers = []
        for _ in range(n):
            node_id, hlen = struct.unpack_from(">ih", body, off)
            off += 6
            host = body[off : off + hlen].decode()
            off += hlen
            port, rlen = struct.unpack_from(">ih", body, off)
            off += 6 + max(rlen, 0)
            brokers.append((node_id, host, port))
        return brokers

    def find_coordinator(self, group: str) -> int:
        """FindCoordinator v0 for a group -> error code (0 = coordinator ready)."""
        g = group.encode()
        body = self.request(10, 0, struct.pack(">h", len(g)) + g)
        (err,) = struct.unpack_from(">h", body, 0)
        return err


def kafka_probe(port: int) -> tuple[bool, str]:
    """One readiness attempt: (ready, what is missing)."""
    try:
        with KafkaProbe(port) as p:
            p.api_versions()
            brokers = p.metadata_brokers()
            if len(brokers) != 1:
                return False, f"metadata lists {len(brokers)} brokers (want 1)"
            err = p.find_coordinator("localinfra-readiness")
            if err != 0:
                return False, f"group coordinator not ready (FindCoordinator error {err})"
            return True, "ok"
    except (OSError, ConnectionError, RuntimeError, struct.error) as exc:
        return False, f"{type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------- Kafka: process


def kafka_pid(cfg: Cfg) -> int | None:
    """pid of OUR broker (verified via /proc cmdline), from the pid file or a /proc scan."""
    props = str(cfg.k_props)

    def ours(pid: int) -> bool:
        args = cmdline(pid)
        return "kafka.Kafka" in args and props in args and pid_alive(pid)

    with contextlib.suppress(OSError, ValueError):
        pid = int(cfg.k_pid.read_text().strip())
        if ours(pid):
            return pid
    for entry in os.listdir("/proc"):
        if entry.isdigit() and ours(int(entry)):
            cfg.k_pid.write_text(f"{entry}\n")
            return int(entry)
    return None


def _configured_kafka_port(cfg: Cfg) -> int | None:
    with contextlib.suppress(OSError):
        m = re.search(
            r"^advertised\.listeners=PLAINTEXT://127\.0\.0\.1:(\d+)", cfg.k_props.read_text(), re.M
        )
        if m:
            return int(m.group(1))
    return None


def kafka_launch(cfg: Cfg) -> tuple[int, float]:
    """Start the broker if needed, without waiting for readiness.

    Returns (pid, monotonic time the JVM was spawned or found running)."""
    pid = kafka_pid(cfg)
    if pid is not None:
        port = _configured_kafka_port(cfg)
        if port is not None and port != cfg.kafka_port:
            die(
                f"our Kafka ({cfg.k_dir}) is already running on port {port}, not "
                f"ALLIANCE_KAFKA_PORT={cfg.kafka_port}: run `stop-kafka` first"
            )
        log(f"kafka: already running (pid {pid}, {cfg.bootstrap}); verifying")
        return pid, time.monotonic()
    for port, var in (
        (cfg.kafka_port, "ALLIANCE_KAFKA_PORT"),
        (cfg.ctrl_port, "ALLIANCE_KAFKA_CONTROLLER_PORT"),
    ):
        if not port_free(port):
            die(
                f"port 127.0.0.1:{port} is already in use by another process "
                f"(not our Kafka): set {var} to a free port"
            )
    java = ensure_java()
    ensure_kafka_libs(cfg)
    write_kafka_config(cfg)
    kafka_format(cfg, java)
    argv = [
        java,
        "-Xms256m",
        "-Xmx512m",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{cfg.k_log4j}",
        "-cp",
        f"{cfg.k_libs}/*",
        "kafka.Kafka",
        str(cfg.k_props),
    ]
    log(
        f"kafka: starting broker on {cfg.bootstrap} (controller 127.0.0.1:{cfg.ctrl_port}; "
        f"logs {cfg.k_log}, {cfg.k_server_log})"
    )
    with open(cfg.k_log, "ab") as out:
        out.write(f"\n===== localinfra start {time.strftime('%Y-%m-%d %H:%M:%S')} =====\n".encode())
        out.flush()
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(cfg.k_dir),
            start_new_session=True,
            close_fds=True,
        )
        t_spawn = time.monotonic()
    cfg.k_pid.write_text(f"{proc.pid}\n")
    return proc.pid, t_spawn


def kafka_wait_ready(cfg: Cfg, pid: int, t_spawn: float) -> None:
    t0 = t_spawn
    deadline = t0 + KAFKA_READY_TIMEOUT
    why = "port not open yet"
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            die(
                f"Kafka broker (pid {pid}) exited during startup.\n"
                f"--- tail of {cfg.k_log} ---\n{tail(cfg.k_log)}\n"
                f"--- tail of {cfg.k_server_log} ---\n{tail(cfg.k_server_log, 20)}"
            )
        if tcp_open(cfg.kafka_port):
            ok, why = kafka_probe(cfg.kafka_port)
            if ok:
                log(
                    f"kafka: ready on {cfg.bootstrap} in {time.monotonic() - t0:.1f}s "
                    "(ApiVersions ok, Metadata: 1 broker, group coordinator ok)"
                )
                return
        else:
            why = "port not open yet"
        time.sleep(0.2)
    die(
        f"Kafka broker (pid {pid}) not ready on {cfg.bootstrap} after {KAFKA_READY_TIMEOUT:.0f}s "
        f"(last check: {why}).\n--- tail of {cfg.k_log} ---\n{tail(cfg.k_log)}\n"
        f"--- tail of {cfg.k_server_log} ---\n{tail(cfg.k_server_log)}"
    )


def _wait_dead(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return not pid_alive(pid)


def kafka_stop(cfg: Cfg, hard: bool = False) -> None:
    pid = kafka_pid(cfg)
    if pid is None:
        log("kafka: already stopped")
        cfg.k_pid.unlink(missing_ok=True)
        return
    if hard:
        log(f"kafka: SIGKILL pid {pid} (crash simulation)")
        os.kill(pid, signal.SIGKILL)
        if not _wait_dead(pid, 10):
            die(f"kafka pid {pid} survived SIGKILL")
    else:
        log(f"kafka: SIGTERM pid {pid} (controlled shutdown, up to {KAFKA_STOP_TIMEOUT:.0f}s)")
        t0 = time.monotonic()
        os.kill(pid, signal.SIGTERM)
        if _wait_dead(pid, KAFKA_STOP_TIMEOUT):
            log(f"kafka: stopped in {time.monotonic() - t0:.1f}s")
        else:
            log(f"kafka: still alive after {KAFKA_STOP_TIMEOUT:.0f}s, SIGKILL")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            if not _wait_dead(pid, 10):
                die(f"kafka pid {pid} survived SIGKILL")
    cfg.k_pid.unlink(missing_ok=True)


def kafka_status(cfg: Cfg) -> tuple[bool, str]:
    pid = kafka_pid(cfg)
    if pid is None:
        return False, f"stopped (data {cfg.k_data})"
    ok, why = kafka_probe(cfg.kafka_port) if tcp_open(cfg.kafka_port) else (False, "port closed")
    state = "ready" if ok else f"not ready: {why}"
    return True, f"running (pid {pid}, {cfg.bootstrap}, {state})"


# --------------------------------------------------------------------------- commands


def print_env(cfg: Cfg, fmt: str = "shell") -> None:
    for key, value in cfg.env_vars():
        if fmt == "dotenv":
            print(f"{key}={value}")
        else:
            print(f"export {key}={shlex.quote(value)}")
    sys.stdout.flush()


def preflight_ports(cfg: Cfg) -> None:
    """Fail before starting anything if a port we need is held by someone else."""
    problems = []
    if kafka_pid(cfg) is None:
        for port, var in (
            (cfg.kafka_port, "ALLIANCE_KAFKA_PORT"),
            (cfg.ctrl_port, "ALLIANCE_KAFKA_CONTROLLER_PORT"),
            (cfg.sasl_port, "ALLIANCE_KAFKA_SASL_PORT"),
        ):
            if not port_free(port):
                problems.append(
                    f"port 127.0.0.1:{port} is already in use by another process "
                    f"(not our Kafka): set {var} to a free port"
                )
    pg_running = False
    bindir = find_pg_bindir(cfg, install=False)
    if bindir is not None and (cfg.pg_data / "PG_VERSION").exists():
        pg_running = PgRunner(cfg, bindir).running_pid() is not None
    if not pg_running and not port_free(cfg.pg_port):
        problems.append(
            f"port 127.0.0.1:{cfg.pg_port} is already in use by another process "
            f"(not our PostgreSQL): set ALLIANCE_PG_PORT to a free port"
        )
    if problems:
        die("\n  ".join(["cannot start:", *problems]))


def cmd_up(cfg: Cfg, args) -> int:
    t0 = time.monotonic()
    with file_lock(cfg.local / "localinfra.lock"):
        preflight_ports(cfg)
        # Launch Kafka first (JVM boot is the slow part), bring PostgreSQL up meanwhile.
        pid, t_spawn = kafka_launch(cfg)
        pg_start(cfg)
        kafka_wait_ready(cfg, pid, t_spawn)
    log(f"up: done in {time.monotonic() - t0:.1f}s")
    print_env(cfg, args.format)
    return 0


def cmd_down(cfg: Cfg, args) -> int:
    with file_lock(cfg.local / "localinfra.lock"):
        kafka_stop(cfg)
        pg_stop(cfg)
    return 0


def cmd_status(cfg: Cfg, args) -> int:
    pg_ok, pg_msg = pg_status(cfg)
    k_ok, k_msg = kafka_status(cfg)
    print(f"postgres: {pg_msg}")
    print(f"kafka: {k_msg}")
    return 0 if (pg_ok and k_ok) else 3


def cmd_env(cfg: Cfg, args) -> int:
    print_env(cfg, args.format)
    return 0


def cmd_start_kafka(cfg: Cfg, args) -> int:
    with file_lock(cfg.local / "localinfra.lock"):
        kafka_wait_ready(cfg, *kafka_launch(cfg))
    return 0


def cmd_stop_kafka(cfg: Cfg, args) -> int:
    with file_lock(cfg.local / "localinfra.lock"):
        kafka_stop(cfg)
    return 0


def cmd_kill_kafka(cfg: Cfg, args) -> int:
    with file_lock(cfg.local / "localinfra.lock"):
        kafka_stop(cfg, hard=True)
    return 0


def cmd_start_pg(cfg: Cfg, args) -> int:
    with file_lock(cfg.local / "localinfra.lock"):
        pg_start(cfg)
    return 0


def cmd_stop_pg(cfg: Cfg, args) -> int:
    with file_lock(cfg.local / "localinfra.lock"):
        pg_stop(cfg)
    return 0


def _kafka_tool(cfg: Cfg, main_class: str, *args: str) -> str:
    """Run one of Kafka's own admin tools against the local broker's super-user listener."""
    java = ensure_java()
    r = subprocess.run(
        [java, f"-Dlog4j.configuration=file:{cfg.k_log4j}", "-cp", f"{cfg.k_libs}/*", main_class,
         "--bootstrap-server", cfg.bootstrap, *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=str(cfg.k_dir),
    )
    if r.returncode != 0:
        die(f"{main_class} failed (exit {r.returncode}):\n{r.stdout}")
    return r.stdout


def cmd_kafka_user(cfg: Cfg, args) -> int:
    """Create (or re-key) a SCRAM user for the SASL listener and grant it read-only topics."""
    if kafka_pid(cfg) is None:
        die("kafka is not running: run `localinfra.py up` first")
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", args.name) or args.name == "ANONYMOUS":
        die(f"{args.name!r} is not a usable user name (letters, digits, . _ -)")
    password = args.password or base64.urlsafe_b64encode(os.urandom(18)).decode()
    if "," in password or "]" in password or "=" in password:
        die("the password may not contain , ] or =")
    _kafka_tool(cfg, "kafka.admin.ConfigCommand", "--alter", "--entity-type", "users",
                "--entity-name", args.name,
                "--add-config", f"SCRAM-SHA-512=[iterations=8192,password={password}]")
    principal = f"User:{args.name}"
    if args.own_prefix:
        _kafka_tool(cfg, "kafka.admin.AclCommand", "--add", "--allow-principal", principal,
                    "--operation", "All", "--topic", args.own_prefix, "--group", args.own_prefix,
                    "--resource-pattern-type", "prefixed")
    if args.read:
        topics = [a for t in args.read for a in ("--topic", t)]
        _kafka_tool(cfg, "kafka.admin.AclCommand", "--add", "--allow-principal", principal,
                    "--operation", "Read", "--operation", "Describe", *topics)
        group = args.group_prefix or f"{args.name}-"
        _kafka_tool(cfg, "kafka.admin.AclCommand", "--add", "--allow-principal", principal,
                    "--operation", "Read", "--group", group, "--resource-pattern-type", "prefixed")
    if args.own_prefix:
        log(f"kafka: user {args.name} owns topics and groups named {args.own_prefix}*")
    log(f"kafka: user {args.name} may read {', '.join(args.read) or 'nothing more'} "
        f"on {cfg.sasl_bootstrap} (SASL_PLAINTEXT, SCRAM-SHA-512)")
    print(f"KAFKA_BOOTSTRAP={cfg.sasl_bootstrap}")
    print("KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT")
    print("KAFKA_SASL_MECHANISM=SCRAM-SHA-512")
    print(f"KAFKA_USERNAME={args.name}")
    print(f"KAFKA_PASSWORD={password}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="localinfra.py",
        description="Local PostgreSQL + Kafka (KRaft) for the alliance platform, no Docker needed.",
        epilog="Env: ALLIANCE_PG_PORT (55432), ALLIANCE_KAFKA_PORT (59092), "
        "ALLIANCE_KAFKA_CONTROLLER_PORT (59093), ALLIANCE_KAFKA_SASL_PORT (Kafka's + 2), ALLIANCE_LOCAL_DIR (<repo>/.local), "
        "XDG_CACHE_HOME (jar cache in $XDG_CACHE_HOME/alliance).",
    )
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    def add(name, fn, help_, fmt=False):
        p = sub.add_parser(name, help=help_)
        if fmt:
            p.add_argument(
                "--format",
                choices=["shell", "dotenv"],
                default="shell",
                help="shell: `export K=V` lines (default); dotenv: plain K=V",
            )
        p.set_defaults(fn=fn)

    add(
        "up",
        cmd_up,
        "install/init/start PostgreSQL and Kafka (idempotent), then print env",
        fmt=True,
    )
    add("down", cmd_down, "stop Kafka and PostgreSQL (idempotent)")
    add("status", cmd_status, "show running/stopped (exit 0 if both run, 3 otherwise)")
    add("env", cmd_env, "print the connection variables", fmt=True)
    add("start-kafka", cmd_start_kafka, "start Kafka (keeps data) and wait until ready")
    add("stop-kafka", cmd_stop_kafka, "stop Kafka (SIGTERM, SIGKILL after 20 s)")
    add("kill-kafka", cmd_kill_kafka, "SIGKILL Kafka (crash simulation)")
    add("start-pg", cmd_start_pg, "start PostgreSQL (keeps data) and wait until ready")
    add("stop-pg", cmd_stop_pg, "stop PostgreSQL (pg_ctl stop -m fast)")
    user = sub.add_parser(
        "kafka-user",
        help="create a SCRAM user on the SASL listener and grant it topics; print its settings",
    )
    user.add_argument("name")
    user.add_argument("--password", help="default: a random one, printed")
    user.add_argument("--read", action="append", default=[], metavar="TOPIC",
                      help="a topic it may read (repeatable)")
    user.add_argument("--group-prefix", help="consumer groups it may read with (default: '<name>-')")
    user.add_argument("--own-prefix", metavar="PREFIX",
                      help="all rights on topics and groups starting with PREFIX (a service's own)")
    user.set_defaults(fn=cmd_kafka_user)

    args = ap.parse_args(argv)
    try:
        cfg = Cfg()
        return args.fn(cfg, args)
    except Failure as exc:
        print(f"localinfra: error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
