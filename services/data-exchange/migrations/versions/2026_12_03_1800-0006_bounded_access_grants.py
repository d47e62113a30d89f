"""referral access grants per episode: keyed by referral, expiring, revocable

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 18:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("patient_access_grants_pkey", "patient_access_grants", type_="primary")
    op.create_primary_key("patient_access_grants_pkey", "patient_access_grants",
                          ["hospital_id", "patient_id", "referral_id"])
    op.add_column("patient_access_grants", sa.Column("origin_hospital", sa.Text(), nullable=True))
    op.add_column("patient_access_grants", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    # Grants given before grants expired: the default duration from when they were given.
    op.execute("UPDATE patient_access_grants SET expires_at = granted_at + interval '30 days'")
    op.alter_column("patient_access_grants", "expires_at", nullable=False)
    op.add_column("patient_access_grants", sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("patient_access_grants", sa.Column("revoked_by", sa.Text(), nullable=True))
    op.add_column("patient_access_grants", sa.Column("revoke_reason", sa.Text(), nullable=True))
    op.create_index("patient_access_grants_referral", "patient_access_grants", ["referral_id"])


def downgrade() -> None:
    op.drop_index("patient_access_grants_referral", table_name="patient_access_grants")
    for column in ("revoke_reason", "revoked_by", "revoked_at", "expires_at", "origin_hospital"):
        op.drop_column("patient_access_grants", column)
    op.execute("DELETE FROM patient_access_grants a USING patient_access_grants b WHERE a.hospital_id = b.hospital_id"
               " AND a.patient_id = b.patient_id AND a.granted_at < b.granted_at")
    op.drop_constraint("patient_access_grants_pkey", "patient_access_grants", type_="primary")
    op.create_primary_key("patient_access_grants_pkey", "patient_access_grants", ["hospital_id", "patient_id"])
