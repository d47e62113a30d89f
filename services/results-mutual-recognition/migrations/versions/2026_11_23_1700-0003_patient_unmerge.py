"""patient unmerge: merge tracking, result MRNs, withheld results, relation origins

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 17:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("result_index", sa.Column("mrn", sa.Text(), nullable=True))
    op.add_column("result_index", sa.Column("withheld", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("patient_relations", sa.Column("via_merge_of", sa.Text(), nullable=True))
    op.create_table(
        "patient_merges",
        sa.Column("merge_id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("survivor_id", sa.Text(), nullable=False),
        sa.Column("absorbed_id", sa.Text(), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unmerged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("merge_id"),
    )
    op.create_index("patient_merges_absorbed", "patient_merges", ["absorbed_id", "unmerged_at"], unique=False)
    op.create_index("patient_merges_survivor", "patient_merges", ["survivor_id", "unmerged_at"], unique=False)
    op.create_table(
        "merge_results",
        sa.Column("merge_id", sa.BigInteger(), nullable=False),
        sa.Column("result_id", sa.Text(), nullable=False),
        sa.Column("provenance", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("merge_id", "result_id"),
    )


def downgrade() -> None:
    op.drop_table("merge_results")
    op.drop_index("patient_merges_survivor", table_name="patient_merges")
    op.drop_index("patient_merges_absorbed", table_name="patient_merges")
    op.drop_table("patient_merges")
    op.drop_column("patient_relations", "via_merge_of")
    op.drop_column("result_index", "withheld")
    op.drop_column("result_index", "mrn")
