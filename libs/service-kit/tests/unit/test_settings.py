"""Service settings fail fast: an incomplete Kafka security configuration stops start-up."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from alliance_service.settings import ServiceSettings

BASE = {"database_url": "postgresql+asyncpg://alliance@127.0.0.1:5432/x", "kafka_bootstrap": "127.0.0.1:9092",
        "http_port": 8000, "grpc_port": 9000, "jwks": "/tmp/jwks.json"}


def test_plaintext_is_the_default():
    assert ServiceSettings(**BASE).kafka_security.client_options() == {"security_protocol": "PLAINTEXT"}


def test_scram_over_tls_is_assembled_from_the_settings_and_the_password_stays_secret():
    s = ServiceSettings(**BASE, kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-512",
                        kafka_username="cost-sharing", kafka_password="pw-from-secret")
    options = s.kafka_security.client_options()
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("cost-sharing", "pw-from-secret")
    assert "pw-from-secret" not in repr(s)


def test_sasl_without_a_password_refuses_to_start():
    with pytest.raises(ValidationError, match="username and a password"):
        ServiceSettings(**BASE, kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-512",
                        kafka_username="cost-sharing")
