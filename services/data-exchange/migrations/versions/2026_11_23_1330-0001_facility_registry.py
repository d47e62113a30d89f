"""facility registry and messaging tables

Revision ID: 0001
Revises:
Create Date: 2026-11-23 13:30:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from alliance_messaging.schema import create_messaging_tables_v1, drop_messaging_tables_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables_v1()
    op.create_table(
        "hospitals",
        sa.Column("hospital_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("level", sa.Text, nullable=False),
        sa.Column("region_code", sa.Text, nullable=False),
        sa.Column("specialties", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("total_beds", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("interface_facility_codes", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("level IN ('primary', 'secondary', 'tertiary')", name="hospitals_level"),
    )


def downgrade() -> None:
    op.drop_table("hospitals")
    drop_messaging_tables_v1()
