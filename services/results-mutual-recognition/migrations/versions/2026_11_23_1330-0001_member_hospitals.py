"""member-hospital read model and messaging tables

Revision ID: 0001
Revises:
Create Date: 2026-11-23 13:30:00
"""
import sqlalchemy as sa
from alembic import op

from alliance_messaging.schema import create_messaging_tables_v1, drop_messaging_tables_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables_v1()
    op.create_table(
        "member_hospitals",
        sa.Column("hospital_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("level", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("member_hospitals")
    drop_messaging_tables_v1()
