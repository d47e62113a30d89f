from datetime import timedelta

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from alliance_service import ServiceSettings

DEV_IDENTIFIER_KEY = "dev-only-identifier-key-0123456789abcdef-do-not-use-in-production"


class Settings(ServiceSettings):
    """Environment variables prefixed DATA_EXCHANGE_."""

    model_config = SettingsConfigDict(env_prefix="DATA_EXCHANGE_")
    http_port: int = 8081
    grpc_port: int = 9081
    mllp_host: str = "127.0.0.1"
    mllp_port: int = 2575
    mllp_max_message_bytes: int = 1_048_576
    identifier_key: str = Field(DEV_IDENTIFIER_KEY, min_length=32,
                                description="secret key for hashing national ID, phone and insurance numbers")
    referral_access_duration: timedelta = Field(
        timedelta(days=30), gt=timedelta(0), description="how long an accepted referral opens the patient to the "
                                                         "receiving hospital (seconds or ISO 8601, e.g. P30D)")
    referral_access_grace: timedelta = Field(
        timedelta(days=3), ge=timedelta(0), description="after a referral is completed, how long the receiving "
                                                        "hospital keeps access (never beyond the duration)")
    hl7_default_charset: str = "utf-8"
    hl7_sender_charsets: dict[str, str] = Field(
        default_factory=dict, description='charset per sending facility (MSH-4) when MSH-18 is empty, '
                                          'e.g. {"TLXRMYY": "gb18030"}; JSON in the environment variable')

    @model_validator(mode="after")
    def _refuse_dev_key_in_production(self) -> "Settings":
        if self.environment == "production" and self.identifier_key == DEV_IDENTIFIER_KEY:
            raise ValueError("set DATA_EXCHANGE_IDENTIFIER_KEY: the development key must not hash real identifiers")
        return self
