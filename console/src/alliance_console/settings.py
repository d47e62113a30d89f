"""Console settings from CONSOLE_* environment variables; every one has a local-development default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

# The services the console can reach through /api/<name>/..., with their `make up` HTTP ports.
SERVICE_PORTS: Final[Mapping[str, int]] = {
    "data-exchange": 8081,
    "referral": 8082,
    "procurement": 8083,
    "cost-sharing": 8084,
    "results-mutual-recognition": 8085,
}
ENVIRONMENTS: Final = ("development", "test", "production")


class SettingsError(ValueError):
    """A CONSOLE_* variable has an unusable value; the message names it."""


def _env_name(service: str) -> str:
    """cost-sharing -> CONSOLE_COST_SHARING_URL."""
    return f"CONSOLE_{service.upper().replace('-', '_')}_URL"


def default_services() -> dict[str, str]:
    return {name: f"http://127.0.0.1:{port}" for name, port in SERVICE_PORTS.items()}


@dataclass(frozen=True)
class Settings:
    """Where the console listens, where each service is, and whether dev tokens may be issued."""

    environment: str = "development"
    http_host: str = "127.0.0.1"
    http_port: int = 8090
    services: Mapping[str, str] = field(default_factory=default_services)
    dev_keys_dir: Path = Path(".local/keys")
    upstream_timeout: float = 30.0
    state_dir: Path = Path(".local/services")
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        if self.environment not in ENVIRONMENTS:
            raise SettingsError(f"CONSOLE_ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)}, "
                                f"not {self.environment!r}")
        if not 0 <= self.http_port <= 65535:
            raise SettingsError(f"CONSOLE_HTTP_PORT {self.http_port} is not a port number")
        if self.upstream_timeout <= 0:
            raise SettingsError("CONSOLE_UPSTREAM_TIMEOUT must be positive")
        for name, url in self.services.items():
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise SettingsError(f"{_env_name(name)} must be an http(s) URL, not {url!r}")
        # Normalise: no trailing slash, so base + "/v1/..." is always right.
        object.__setattr__(self, "services", {k: v.rstrip("/") for k, v in self.services.items()})

    @property
    def dev_tokens(self) -> bool:
        """Dev tokens are signed with the local DevKeys: development only, never anywhere else."""
        return self.environment == "development"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def number(name: str, default: float, kind: type = int):
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            try:
                return kind(raw)
            except ValueError as exc:
                raise SettingsError(f"{name} must be a number, not {raw!r}") from exc

        services = {name: env.get(_env_name(name)) or url for name, url in default_services().items()}
        return cls(
            environment=env.get("CONSOLE_ENVIRONMENT", "development"),
            http_host=env.get("CONSOLE_HTTP_HOST", "127.0.0.1"),
            http_port=number("CONSOLE_HTTP_PORT", 8090),
            services=services,
            dev_keys_dir=Path(env.get("CONSOLE_DEV_KEYS_DIR") or ".local/keys"),
            upstream_timeout=number("CONSOLE_UPSTREAM_TIMEOUT", 30.0, float),
            state_dir=Path(env.get("CONSOLE_STATE_DIR")
                           or Path(env.get("ALLIANCE_LOCAL_DIR") or ".local") / "services"),
            log_level=env.get("CONSOLE_LOG_LEVEL", "INFO"),
        )
