"""discharged encounters for referral indicators

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 16:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "encounters",
        sa.Column("encounter_id", sa.Text, primary_key=True),
        sa.Column("patient_id", sa.Text, nullable=False),
        sa.Column("hospital_id", sa.Text, nullable=False),
        sa.Column("diagnosis_code", sa.Text, nullable=False),
        sa.Column("discharged_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("encounters")
