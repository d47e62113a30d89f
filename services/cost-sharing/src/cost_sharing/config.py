from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from alliance_service import ServiceSettings


class Settings(ServiceSettings):
    """Environment variables prefixed COST_SHARING_."""

    model_config = SettingsConfigDict(env_prefix="COST_SHARING_")
    http_port: int = 8084
    grpc_port: int = 9084
    ledger_signing_key_file: Path | None = Field(
        None, description="Ed25519 private key (PEM) signing ledger checkpoints; development generates one")
    settlement_interval_seconds: float = Field(
        5.0, gt=0, description="how often statements are issued and the chain head is signed")
