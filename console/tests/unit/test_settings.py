"""CONSOLE_* settings: defaults for `make up`, overrides, and refusals that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from alliance_console.settings import SERVICE_PORTS, Settings, SettingsError


def test_defaults_point_at_the_local_services_and_keys():
    s = Settings.from_env({})
    assert s.http_port == 8090 and s.http_host == "127.0.0.1"
    assert s.services == {name: f"http://127.0.0.1:{port}" for name, port in SERVICE_PORTS.items()}
    assert s.services["cost-sharing"] == "http://127.0.0.1:8084"
    assert s.dev_keys_dir == Path(".local/keys")
    assert s.environment == "development" and s.dev_tokens
    assert s.state_dir == Path(".local/services")


def test_every_service_url_and_the_rest_can_be_overridden():
    s = Settings.from_env({
        "CONSOLE_COST_SHARING_URL": "http://cost-sharing.internal:80/",
        "CONSOLE_RESULTS_MUTUAL_RECOGNITION_URL": "https://rmr.example",
        "CONSOLE_HTTP_PORT": "9000", "CONSOLE_HTTP_HOST": "0.0.0.0",
        "CONSOLE_DEV_KEYS_DIR": "/tmp/keys", "CONSOLE_UPSTREAM_TIMEOUT": "2.5",
        "ALLIANCE_LOCAL_DIR": "/tmp/alliance-local",
    })
    assert s.services["cost-sharing"] == "http://cost-sharing.internal:80"   # trailing slash dropped
    assert s.services["results-mutual-recognition"] == "https://rmr.example"
    assert s.services["referral"] == "http://127.0.0.1:8082"
    assert (s.http_port, s.http_host, s.upstream_timeout) == (9000, "0.0.0.0", 2.5)
    assert s.dev_keys_dir == Path("/tmp/keys")
    assert s.state_dir == Path("/tmp/alliance-local/services")


@pytest.mark.parametrize("environment", ["test", "production"])
def test_dev_tokens_only_in_development(environment):
    assert not Settings.from_env({"CONSOLE_ENVIRONMENT": environment}).dev_tokens


@pytest.mark.parametrize(("env", "names"), [
    ({"CONSOLE_ENVIRONMENT": "prod"}, "CONSOLE_ENVIRONMENT"),
    ({"CONSOLE_HTTP_PORT": "eighty"}, "CONSOLE_HTTP_PORT"),
    ({"CONSOLE_HTTP_PORT": "70000"}, "CONSOLE_HTTP_PORT"),
    ({"CONSOLE_UPSTREAM_TIMEOUT": "0"}, "CONSOLE_UPSTREAM_TIMEOUT"),
    ({"CONSOLE_REFERRAL_URL": "127.0.0.1:8082"}, "CONSOLE_REFERRAL_URL"),
    ({"CONSOLE_PROCUREMENT_URL": "ftp://x"}, "CONSOLE_PROCUREMENT_URL"),
])
def test_bad_values_are_refused_naming_the_variable(env, names):
    with pytest.raises(SettingsError, match=names):
        Settings.from_env(env)
