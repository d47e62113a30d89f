"""FHIR resources derived from HL7 v2 records: the record (or visit) they are built from

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 17:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("fhir_resources", sa.Column("derived_from", sa.Text(), nullable=True))
    op.create_index(op.f("ix_fhir_resources_derived_from"), "fhir_resources", ["derived_from"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_fhir_resources_derived_from"), table_name="fhir_resources")
    op.drop_column("fhir_resources", "derived_from")
