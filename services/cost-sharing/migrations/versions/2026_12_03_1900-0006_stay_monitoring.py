"""stay monitoring: open stays with their provisional DRG and cost; per-stay warnings on the board

`monitored_stays` holds each inpatient stay from admission: its coding and accumulated cost as of the newest
snapshot, the provisional DRG and standard, and when each threshold was crossed. `cost_warnings` gains the stay
and department a warning is about, and the stage (warning / intervention / above_approval); a period warning
stays unique per hospital, period and indicator, a stay warning per stay and stage.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 19:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'monitored_stays',
        sa.Column('encounter_id', sa.Text(), nullable=False),
        sa.Column('patient_id', sa.Text(), nullable=False),
        sa.Column('hospital_id', sa.Text(), nullable=False),
        sa.Column('department', sa.Text(), nullable=False, server_default=''),
        sa.Column('admitted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('principal_dx', sa.Text(), nullable=False, server_default=''),
        sa.Column('secondary_dx', postgresql.ARRAY(sa.Text()), nullable=False, server_default='{}'),
        sa.Column('procedures', postgresql.ARRAY(sa.Text()), nullable=False, server_default='{}'),
        sa.Column('cost_fen', sa.BigInteger(), nullable=False, server_default='0'),
        sa.Column('as_of', sa.DateTime(timezone=True), nullable=True),
        sa.Column('drg', sa.Text(), nullable=True),
        sa.Column('table_version', sa.Integer(), nullable=True),
        sa.Column('standard_cost_fen', sa.BigInteger(), nullable=True),
        sa.Column('crossed', postgresql.JSONB(), nullable=False, server_default='{}'),
        sa.Column('discharged_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('cost_fen >= 0', name='ck_monitored_stays_cost'),
        sa.PrimaryKeyConstraint('encounter_id'),
    )
    op.create_index('ix_monitored_stays_hospital_open', 'monitored_stays', ['hospital_id'],
                    postgresql_where=sa.text('discharged_at IS NULL'))
    op.add_column('cost_warnings', sa.Column('encounter_id', sa.Text(), nullable=True))
    op.add_column('cost_warnings', sa.Column('department', sa.Text(), nullable=True))
    op.add_column('cost_warnings', sa.Column('stage', sa.Text(), nullable=True))
    op.drop_constraint('uq_cost_warnings_once', 'cost_warnings', type_='unique')
    op.create_index('uq_cost_warnings_once', 'cost_warnings', ['hospital_id', 'period', 'indicator'], unique=True,
                    postgresql_where=sa.text('encounter_id IS NULL'))
    op.create_index('uq_cost_warnings_stay_stage', 'cost_warnings', ['encounter_id', 'stage'], unique=True,
                    postgresql_where=sa.text('encounter_id IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('uq_cost_warnings_stay_stage', table_name='cost_warnings')
    op.drop_index('uq_cost_warnings_once', table_name='cost_warnings')
    op.execute("DELETE FROM cost_warnings WHERE encounter_id IS NOT NULL")
    op.create_unique_constraint('uq_cost_warnings_once', 'cost_warnings', ['hospital_id', 'period', 'indicator'])
    op.drop_column('cost_warnings', 'stage')
    op.drop_column('cost_warnings', 'department')
    op.drop_column('cost_warnings', 'encounter_id')
    op.drop_index('ix_monitored_stays_hospital_open', table_name='monitored_stays')
    op.drop_table('monitored_stays')
