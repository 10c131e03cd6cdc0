"""ad copy feedback and blind comparisons

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 11:45:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('copy_feedback',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('generation_id', sa.String(length=32), nullable=False),
    sa.Column('variant', sa.Integer(), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('brand_kit', sa.String(length=200), nullable=False),
    sa.Column('model', sa.Text(), nullable=False),
    sa.Column('model_revision', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['generation_id'], ['generations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('copy_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_copy_feedback_brand_kit'), ['brand_kit'], unique=False)
        batch_op.create_index('ix_copy_feedback_generation_variant', ['generation_id', 'variant'], unique=False)
        batch_op.create_index(batch_op.f('ix_copy_feedback_owner'), ['owner'], unique=False)

    op.create_table('blind_comparisons',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('model_a', sa.Text(), nullable=False),
    sa.Column('model_b', sa.Text(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('wins_a', sa.Integer(), nullable=False),
    sa.Column('wins_b', sa.Integer(), nullable=False),
    sa.Column('ties', sa.Integer(), nullable=False),
    sa.Column('win_rate_a', sa.Float(), nullable=True),
    sa.Column('ci_low', sa.Float(), nullable=True),
    sa.Column('ci_high', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('blind_comparisons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blind_comparisons_owner'), ['owner'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('blind_comparisons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_blind_comparisons_owner'))
    op.drop_table('blind_comparisons')
    with op.batch_alter_table('copy_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_copy_feedback_owner'))
        batch_op.drop_index('ix_copy_feedback_generation_variant')
        batch_op.drop_index(batch_op.f('ix_copy_feedback_brand_kit'))
    op.drop_table('copy_feedback')
