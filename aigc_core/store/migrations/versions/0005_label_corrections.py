"""sentiment monitor label corrections

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 12:30:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('label_corrections',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('monitor_id', sa.String(length=32), nullable=False),
    sa.Column('row_id', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('model_label', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('model_version', sa.String(length=200), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['monitor_id'], ['monitors.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('monitor_id', 'row_id')
    )
    with op.batch_alter_table('label_corrections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_label_corrections_monitor_id'), ['monitor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_label_corrections_owner'), ['owner'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('label_corrections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_label_corrections_owner'))
        batch_op.drop_index(batch_op.f('ix_label_corrections_monitor_id'))
    op.drop_table('label_corrections')
