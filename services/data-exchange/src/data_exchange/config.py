from pydantic_settings import SettingsConfigDict

from alliance_service import ServiceSettings


class Settings(ServiceSettings):
    """Environment variables prefixed DATA_EXCHANGE_."""

    model_config = SettingsConfigDict(env_prefix="DATA_EXCHANGE_")
    http_port: int = 8081
    grpc_port: int = 9081
