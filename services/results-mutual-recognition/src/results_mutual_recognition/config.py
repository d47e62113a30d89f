from datetime import timedelta

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
    referral_access_duration: timedelta = Field(
        timedelta(days=30), gt=timedelta(0), description="how long an accepted referral lets the receiving hospital "
                                                         "ask about the patient's results (as data-exchange's grant)")
    referral_access_grace: timedelta = Field(
        timedelta(days=3), ge=timedelta(0), description="after a referral is completed, how long that lasts")
