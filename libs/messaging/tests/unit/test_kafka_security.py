"""Kafka client security settings: complete combinations only, the password never in a repr."""

from __future__ import annotations

import pytest

from alliance_messaging import PLAINTEXT, KafkaSecurity


def test_plaintext_needs_nothing_and_passes_only_the_protocol():
    assert PLAINTEXT.client_options() == {"security_protocol": "PLAINTEXT"}


def test_sasl_scram_passes_mechanism_and_credentials():
    s = KafkaSecurity("SASL_PLAINTEXT", "SCRAM-SHA-512", "regulator-nhc", "s3cret")
    assert s.client_options() == {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512",
                                  "sasl_plain_username": "regulator-nhc", "sasl_plain_password": "s3cret"}
    assert "s3cret" not in repr(s)


def test_sasl_ssl_builds_a_verifying_tls_context():
    options = KafkaSecurity("SASL_SSL", "SCRAM-SHA-256", "svc", "pw").client_options()
    context = options["ssl_context"]
    assert context.check_hostname and options["security_protocol"] == "SASL_SSL"


@pytest.mark.parametrize(("args", "message"), [
    (("KERBEROS",), "must be one of"),
    (("SASL_SSL",), "needs a SASL mechanism"),
    (("SASL_PLAINTEXT", "GSSAPI", "u", "p"), "needs a SASL mechanism"),
    (("SASL_PLAINTEXT", "SCRAM-SHA-512", "u"), "username and a password"),
    (("SASL_PLAINTEXT", "SCRAM-SHA-512", None, "p"), "username and a password"),
    (("PLAINTEXT", None, None, None, "/etc/ca.crt"), "only used with SSL"),
])
def test_incomplete_or_unknown_combinations_are_refused(args, message):
    with pytest.raises(ValueError, match=message):
        KafkaSecurity(*args)
