"""analytics queries: the log of every statistics question (who, what, when, how much was withheld)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 19:30:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'analytics_queries',
        sa.Column('query_id', sa.Text(), nullable=False),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('roles', postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column('question', postgresql.JSONB(), nullable=False),
        sa.Column('min_count', sa.Integer(), nullable=False),
        sa.Column('cells_returned', sa.Integer(), nullable=False),
        sa.Column('cells_suppressed', sa.Integer(), nullable=False),
        sa.Column('totals_suppressed', sa.Integer(), nullable=False),
        sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('query_id'),
    )
    op.create_index('ix_analytics_queries_asked_at', 'analytics_queries', ['asked_at'])


def downgrade() -> None:
    op.drop_index('ix_analytics_queries_asked_at', table_name='analytics_queries')
    op.drop_table('analytics_queries')
