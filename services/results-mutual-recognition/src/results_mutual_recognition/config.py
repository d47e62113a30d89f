from pydantic import Field
from pydantic_settings import SettingsConfigDict

from alliance_service import ServiceSettings


class Settings(ServiceSettings):
    """Environment variables prefixed RESULTS_MUTUAL_RECOGNITION_."""

    model_config = SettingsConfigDict(env_prefix="RESULTS_MUTUAL_RECOGNITION_")
    http_port: int = 8085
    grpc_port: int = 9085
    data_exchange_grpc: str | None = Field(
        None, description="data-exchange's gRPC address (host:port), to resolve a hospital's MRN; "
                          "without it, checks must name the alliance patient id")
