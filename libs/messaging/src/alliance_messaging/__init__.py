"""Messaging mechanisms: CloudEvents envelope, transactional outbox, relay, idempotent consumer, DLQ."""

from .consumer import BatchHandler, EventConsumer, Handler, PoisonMessage
from .envelope import CloudEvent, InvalidEnvelope, event_from_proto, event_type, proto_time
from .failures import dependency_of, is_transient
from .kafka import PLAINTEXT, KafkaSecurity, dlq_topic, ensure_topics, idempotent_producer
from .outbox import OutgoingEvent, add_to_outbox
from .projection import upsert_if_newer
from .relay import OutboxRelay
from .supervise import supervise
from .tables import MessagingTables, define_outbox, define_processed_events

__all__ = [
    "PLAINTEXT", "BatchHandler", "CloudEvent", "EventConsumer", "Handler", "InvalidEnvelope", "KafkaSecurity",
    "MessagingTables", "OutboxRelay", "OutgoingEvent", "PoisonMessage", "add_to_outbox", "define_outbox",
    "define_processed_events", "dependency_of", "dlq_topic", "ensure_topics", "event_from_proto", "event_type",
    "idempotent_producer", "is_transient", "proto_time", "supervise", "upsert_if_newer",
]
