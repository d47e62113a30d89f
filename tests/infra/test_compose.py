"""The compose stack (infra/docker-compose.yml) and its image (infra/Dockerfile), checked without a Docker engine:
the console is in it, every service has a /readyz healthcheck, and the runtime image carries no test tooling."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "infra" / "docker-compose.yml").read_text())["services"]
DOCKERFILE = (ROOT / "infra" / "Dockerfile").read_text()
SERVICES = {"data-exchange": 8081, "referral": 8082, "procurement": 8083, "cost-sharing": 8084,
            "results-mutual-recognition": 8085}
TEST_TOOLING = ("pytest", "pytest-asyncio", "pytest-timeout", "testcontainers", "docker", "ruff", "grpcio-tools",
                "alliance-testing")


def stages(text: str) -> list[tuple[str, str, list[str]]]:
    """(base image, stage name, instructions) per FROM, continuation lines joined."""
    out: list[tuple[str, str, list[str]]] = []
    for line in re.sub(r"\\\n\s*", " ", text).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if m := re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.I):
            out.append((m.group(1), (m.group(2) or "").lower(), []))
        elif out:
            out[-1][2].append(line)
    return out


def _probe(healthcheck: dict) -> str:
    test = healthcheck["test"]
    return " ".join(test[1:]) if isinstance(test, list) else test


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_is_healthy_when_its_readyz_answers(service):
    spec = COMPOSE[service]
    assert f"http://127.0.0.1:{SERVICES[service]}/readyz" in _probe(spec["healthcheck"])
    assert spec["healthcheck"]["test"][0] == "CMD"          # exec form: no shell needed, exit 1 on non-2xx
    assert "urlopen" in _probe(spec["healthcheck"])          # the image has Python, not curl


def test_the_console_runs_against_the_services_once_they_are_ready():
    console = COMPOSE["console"]
    assert console["command"] == ["alliance-console", "run"] and console["image"] == COMPOSE["referral"]["image"]
    env = console["environment"]
    assert env["CONSOLE_HTTP_HOST"] == "0.0.0.0" and str(env["CONSOLE_HTTP_PORT"]) == "8090"
    for service, port in SERVICES.items():
        assert env[f"CONSOLE_{service.upper().replace('-', '_')}_URL"] == f"http://{service}:{port}"
        assert console["depends_on"][service] == {"condition": "service_healthy"}
    assert "127.0.0.1:8090:8090" in console["ports"]
    assert "/healthz" in _probe(console["healthcheck"])


def test_cost_sharing_keeps_its_development_signing_key_across_restarts():
    spec = COMPOSE["cost-sharing"]
    path = spec["environment"]["COST_SHARING_LEDGER_SIGNING_KEY_FILE"]
    volumes = [v.split(":") for v in spec["volumes"]]
    assert any(path.startswith(mount + "/") and not name.startswith((".", "/")) for name, mount, *_ in volumes)
    assert "mkdir -p /var/lib/alliance/ledger && chown -R alliance /var/lib/alliance" in DOCKERFILE


def test_the_runtime_image_is_a_second_stage_without_uv_sources_of_tests_or_test_tooling():
    (build_base, build, build_steps), (runtime_base, runtime, runtime_steps) = stages(DOCKERFILE)
    assert build == "build" and runtime == "runtime" and build_base == runtime_base
    export = next(s for s in build_steps if "uv export" in s)
    assert "--no-dev" in export and "--prune alliance-testing" in export and "--frozen" in export
    assert any("rm -rf libs/testing" in s and "-name tests" in s for s in build_steps)
    copies = [s for s in runtime_steps if s.startswith("COPY")]
    assert copies and all(s.startswith("COPY --from=build ") for s in copies)    # nothing from the context
    assert not any("uv" in s.split() for s in runtime_steps)
    assert runtime_steps[-1] == "USER alliance"


def test_the_locked_runtime_requirements_hold_no_test_tooling():
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed here")
    export = next(s for s in stages(DOCKERFILE)[0][2] if "uv export" in s)
    argv = export.split("&&")[0].split()[2:]          # after "RUN uv"
    argv = [a for a in argv if a not in ("-o", "/tmp/requirements.txt")]
    out = subprocess.run([uv, *argv, "--offline"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    names = {re.split(r"[=<>; ]", line.strip())[0].lower() for line in out.stdout.splitlines()
             if line.strip() and not line.lstrip().startswith("#")}
    assert "fastapi" in names and "aiokafka" in names and "-e" in names
    assert not names & set(TEST_TOOLING), sorted(names & set(TEST_TOOLING))
    assert "./libs/testing" not in out.stdout
