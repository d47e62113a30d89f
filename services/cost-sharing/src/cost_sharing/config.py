from pydantic_settings import SettingsConfigDict

from alliance_service import ServiceSettings


class Settings(ServiceSettings):
    """Environment variables prefixed COST_SHARING_."""

    model_config = SettingsConfigDict(env_prefix="COST_SHARING_")
    http_port: int = 8084
    grpc_port: int = 9084
