from pydantic import Field
from pydantic_settings import SettingsConfigDict

from alliance_service import ServiceSettings


class Settings(ServiceSettings):
    """Environment variables prefixed REFERRAL_."""

    model_config = SettingsConfigDict(env_prefix="REFERRAL_")
    http_port: int = 8082
    grpc_port: int = 9082
    data_exchange_grpc: str | None = Field(None, description="data-exchange gRPC host:port (handoff summary)")
    recognition_grpc: str | None = Field(None, description="results-mutual-recognition gRPC host:port (handoff)")
