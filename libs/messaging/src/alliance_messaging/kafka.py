"""Kafka client construction and topic administration shared by relay and consumer."""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)


def dlq_topic(topic: str) -> str:
    """Dead-letter topic of a topic."""
    return f"{topic}.dlq"


def idempotent_producer(bootstrap: str, client_id: str) -> AIOKafkaProducer:
    """A producer that never duplicates or reorders on retry (`acks=all`)."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        request_timeout_ms=15000,
        retry_backoff_ms=200,
    )


async def ensure_topics(
    bootstrap: str, topics: list[str], partitions: int = 3, replication_factor: int = 1
) -> None:
    """Create topics (and nothing else) that do not exist yet."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
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
