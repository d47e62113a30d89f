"""patient merges (for exact unmerge) and the national id's origin

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 15:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patient_merges",
        sa.Column("survivor_id", sa.Text, primary_key=True),
        sa.Column("absorbed_id", sa.Text, primary_key=True),
        sa.Column("moved_links", postgresql.JSONB, nullable=False),
        sa.Column("national_id_moved", sa.Boolean, nullable=False),
        sa.Column("merged_by", sa.Text, nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.add_column("patients", sa.Column("national_id_from", sa.Text))


def downgrade() -> None:
    op.drop_column("patients", "national_id_from")
    op.drop_table("patient_merges")
