"""indicator evaluations: the months the service's clock has closed (once each) and the growth basis used

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 19:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'indicator_evaluations',
        sa.Column('period', sa.Text(), nullable=False),
        sa.Column('basis', sa.Text(), nullable=False),
        sa.Column('compared_with', sa.Text(), nullable=False),
        sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('period'),
    )


def downgrade() -> None:
    op.drop_table('indicator_evaluations')
