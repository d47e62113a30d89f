from pydantic_settings import SettingsConfigDict

from alliance_service import ServiceSettings


class Settings(ServiceSettings):
    """Environment variables prefixed PROCUREMENT_."""

    model_config = SettingsConfigDict(env_prefix="PROCUREMENT_")
    http_port: int = 8083
    grpc_port: int = 9083
