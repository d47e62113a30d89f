"""The ACK code label of the MLLP metrics: MSA-1 only, never anything else from the message."""

from datetime import UTC, datetime

from data_exchange.entrypoints.mllp import ack_code
from data_exchange.hl7 import Hl7Error, build_ack


def test_the_label_is_msa_1_of_the_ack():
    now = datetime(2026, 12, 3, tzinfo=UTC)
    assert ack_code(build_ack(None, "AR", [Hl7Error(reason="bad", code=100, segment="MSH")],
                              control_id="X", now=now, raw=b"")) == "AR"


def test_anything_that_is_not_an_ack_code_is_unknown():
    assert ack_code(b"MSH|^~\\&|A\rMSA|ZZ|1\r") == "unknown"
    assert ack_code(b"garbage") == "unknown"
    assert ack_code(b"MSH|^~\\&|A\rMSA|AA|1\r") == "AA"
