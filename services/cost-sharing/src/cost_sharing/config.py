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
    ledger_public_key: str | None = Field(
        None, description="PEM of the Ed25519 public key(s) every checkpoint is verified against, by key id: the "
                          "current signing key's and every earlier one's (development: the signing key's)")
    ledger_public_key_file: Path | None = Field(
        None, description="file of such PEM public keys (one or more blocks); joins COST_SHARING_LEDGER_PUBLIC_KEY")
    settlement_interval_seconds: float = Field(
        5.0, gt=0, description="how often statements are issued and the chain head is signed")
    analytics_min_cell_count: int = Field(
        10, ge=2, le=1000, description="analytics: a cell or total with fewer cases than this is withheld, with "
                                       "complementary cells so it cannot be derived")
    indicator_interval_seconds: float = Field(
        60.0, gt=0, description="how often the clock looks for a closed month to evaluate")
    indicator_close_grace_hours: float = Field(
        24.0, ge=0, le=27 * 24, description="a month (China time) is evaluated this long after it closes, once")
