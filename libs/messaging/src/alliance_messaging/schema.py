"""Migration helper: create the messaging tables from inside a service's Alembic revision."""

from __future__ import annotations

from alembic import op
from sqlalchemy import MetaData

from .tables import MessagingTables


def create_messaging_tables_v1() -> None:
    """Create `outbox` and `processed_events` (schema version 1) in the migrating database."""
    metadata = MetaData()
    MessagingTables(metadata)
    metadata.create_all(op.get_bind())


def drop_messaging_tables_v1() -> None:
    op.drop_table("processed_events")
    op.drop_table("outbox")
