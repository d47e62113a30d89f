from pydantic_settings import SettingsConfigDict

from alliance_service import ServiceSettings


class Settings(ServiceSettings):
    """Environment variables prefixed RESULTS_MUTUAL_RECOGNITION_."""

    model_config = SettingsConfigDict(env_prefix="RESULTS_MUTUAL_RECOGNITION_")
    http_port: int = 8085
    grpc_port: int = 9085
