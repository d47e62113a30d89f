"""patient relations opened by a referral are bounded: the referral, its expiry and revocation

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 18:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("patient_relations", sa.Column("referral_id", sa.Text(), nullable=True))
    op.add_column("patient_relations", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("patient_relations", sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("patient_relations_referral", "patient_relations", ["referral_id"])


def downgrade() -> None:
    op.drop_index("patient_relations_referral", table_name="patient_relations")
    for column in ("revoked_at", "expires_at", "referral_id"):
        op.drop_column("patient_relations", column)
