"""idempotency keys bound to the request they were first used for

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 18:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('idempotency_keys',
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('request_hash', sa.Text(), nullable=True),
    sa.Column('resource_id', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'key')
    )
    # orders placed with a key before requests were hashed: a retry still gets its order (hash unknown)
    op.execute("INSERT INTO idempotency_keys (scope, key, request_hash, resource_id, created_at) "
               "SELECT 'hospital:' || hospital_id, idempotency_key, NULL, order_id, created_at FROM orders "
               "WHERE idempotency_key IS NOT NULL")


def downgrade() -> None:
    op.drop_table('idempotency_keys')
