"""Typed, fail-fast settings; each service subclasses with its own env prefix."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from alliance_messaging import KafkaSecurity

DEV_ISSUER = "https://auth.alliance.local/dev"


class ServiceSettings(BaseSettings):
    """Settings every service has. Peer addresses have no defaults: a missing one stops start-up."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(description="postgresql+asyncpg://user@host:port/db")
    kafka_bootstrap: str = Field(description="host:port[,host:port]")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_username: str | None = None
    kafka_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = Field(None, description="CA bundle for SSL/SASL_SSL; default: the system's")
    http_host: str = "127.0.0.1"
    http_port: int
    grpc_host: str = "127.0.0.1"
    grpc_port: int
    jwks: str = Field(description="JWKS file path or http(s) URL")
    jwt_issuer: str = DEV_ISSUER
    jwt_audience: str = "alliance-platform"
    otlp_endpoint: str | None = None
    log_level: str = "INFO"
    consumer_group: str | None = None
    topic_prefix: str = Field("", description="prepended to every topic, e.g. 'staging.'")
    topic_partitions: int = 3
    topic_replication_factor: int = 1
    max_request_bytes: int = Field(1 << 20, ge=1024, description="largest request body (413 above it); routes "
                                   "declared in ServiceSpec.body_limits take more")

    @model_validator(mode="after")
    def _refuse_dev_defaults_in_production(self) -> ServiceSettings:
        if self.environment == "production" and self.jwt_issuer == DEV_ISSUER:
            raise ValueError("jwt_issuer must be the real identity provider outside development")
        if not self.database_url.startswith("postgresql+asyncpg://"):
            raise ValueError("database_url must use the postgresql+asyncpg:// driver")
        self.kafka_security  # noqa: B018 - refuses an incomplete SASL/SSL configuration at start-up
        return self

    @property
    def kafka_security(self) -> KafkaSecurity:
        """How this service's Kafka clients authenticate."""
        return KafkaSecurity(
            protocol=self.kafka_security_protocol, sasl_mechanism=self.kafka_sasl_mechanism,
            username=self.kafka_username,
            password=self.kafka_password.get_secret_value() if self.kafka_password else None,
            cafile=self.kafka_ssl_cafile)
