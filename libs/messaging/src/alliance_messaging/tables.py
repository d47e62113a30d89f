"""The outbox and processed-events tables, added to a service's own metadata."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID


def define_outbox(metadata: MetaData) -> Table:
    """Events written in the same transaction as the state change, published later by the relay."""
    return Table(
        "outbox",
        metadata,
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        Column("topic", Text, nullable=False),
        Column("message_key", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("traceparent", Text),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text),
        Index("outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),
    )


def define_processed_events(metadata: MetaData) -> Table:
    """One row per (consumer group, event id) applied: a constraint, not code, makes handling once-only."""
    return Table(
        "processed_events",
        metadata,
        Column("consumer_group", Text, primary_key=True),
        Column("event_id", UUID(as_uuid=True), primary_key=True),
        Column("event_type", Text, nullable=False),
        Column("topic", Text, nullable=False),
        Column("partition", Integer, nullable=False),
        Column("offset", BigInteger, nullable=False),
        Column("outcome", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class MessagingTables:
    """Both tables on one metadata."""

    def __init__(self, metadata: MetaData) -> None:
        self.outbox = define_outbox(metadata)
        self.processed_events = define_processed_events(metadata)
