from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from alliance_service import ServiceSettings


class Settings(ServiceSettings):
    """Environment variables prefixed REFERRAL_."""

    model_config = SettingsConfigDict(env_prefix="REFERRAL_")
    http_port: int = 8082
    grpc_port: int = 9082
    data_exchange_grpc: str | None = Field(
        None, description="data-exchange gRPC host:port: the care-relationship check on every new referral and "
                          "the handoff summary; required in production (without it referrals are refused, 503)")
    recognition_grpc: str | None = Field(None, description="results-mutual-recognition gRPC host:port (handoff)")

    @model_validator(mode="after")
    def _care_check_required_in_production(self) -> "Settings":
        if self.environment == "production" and not self.data_exchange_grpc:
            raise ValueError("set REFERRAL_DATA_EXCHANGE_GRPC: referrals are checked against the patient index")
        return self
