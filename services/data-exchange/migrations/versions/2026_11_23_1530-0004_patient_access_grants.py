"""access to a referred patient's data for the hospital that accepted the referral

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 15:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patient_access_grants",
        sa.Column("hospital_id", sa.Text, primary_key=True),
        sa.Column("patient_id", sa.Text, primary_key=True),
        sa.Column("referral_id", sa.Text, nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("patient_access_grants")
