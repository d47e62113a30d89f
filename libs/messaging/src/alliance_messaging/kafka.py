"""Kafka client construction and topic administration shared by relay and consumer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaTimeoutError, TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

log = logging.getLogger(__name__)
T = TypeVar("T")

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class KafkaSecurity:
    """How a client authenticates to the brokers: PLAINTEXT, TLS, SASL (PLAIN or SCRAM) or both."""

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: str | None = None

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"kafka security protocol must be one of {', '.join(PROTOCOLS)}")
        if self.protocol.startswith("SASL_"):
            if self.sasl_mechanism not in SASL_MECHANISMS:
                raise ValueError(f"{self.protocol} needs a SASL mechanism: {', '.join(SASL_MECHANISMS)}")
            if not self.username or not self.password:
                raise ValueError(f"{self.protocol} needs a username and a password")
        if self.cafile and not self.protocol.endswith("SSL"):
            raise ValueError("a CA file is only used with SSL or SASL_SSL")

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client."""
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.protocol.startswith("SASL_"):
            options |= {"sasl_mechanism": self.sasl_mechanism, "sasl_plain_username": self.username,
                        "sasl_plain_password": self.password}
        if self.protocol.endswith("SSL"):
            options["ssl_context"] = create_ssl_context(cafile=self.cafile)
        return options


PLAINTEXT = KafkaSecurity()


async def bounded(call: Awaitable[T], timeout: float, what: str) -> T:
    """Await a broker call for at most `timeout` s; running out counts as the broker being unreachable."""
    try:
        return await asyncio.wait_for(call, timeout)
    except TimeoutError as exc:
        raise KafkaTimeoutError(f"{what} did not finish within {timeout:g} s") from exc


def dlq_topic(topic: str) -> str:
    """Dead-letter topic of a topic."""
    return f"{topic}.dlq"


def idempotent_producer(bootstrap: str, client_id: str,
                        security: KafkaSecurity = PLAINTEXT) -> AIOKafkaProducer:
    """A producer that never duplicates or reorders on retry (`acks=all`)."""
    return AIOKafkaProducer(
        **security.client_options(),
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        request_timeout_ms=15000,
        retry_backoff_ms=200,
    )


async def ensure_topics(
    bootstrap: str, topics: list[str], partitions: int = 3, replication_factor: int = 1,
    security: KafkaSecurity = PLAINTEXT,
) -> None:
    """Create topics (and nothing else) that do not exist yet."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000,
                                **security.client_options())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in dict.fromkeys(topics) if t not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [NewTopic(name=t, num_partitions=partitions, replication_factor=replication_factor) for t in missing]
                )
            except TopicAlreadyExistsError:
                pass
            log.info("created topics", extra={"fields": {"topics": missing}})
    finally:
        await admin.close()
