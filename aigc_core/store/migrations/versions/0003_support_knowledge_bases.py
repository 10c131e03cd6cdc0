"""support: knowledge bases, their versions, drafted replies

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 11:50:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('support_knowledge_bases',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    with op.batch_alter_table('support_knowledge_bases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_knowledge_bases_owner'), ['owner'], unique=False)

    op.create_table('support_kb_versions',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('kb_id', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('n_chunks', sa.Integer(), nullable=False),
    sa.Column('embedding_model', sa.Text(), nullable=False),
    sa.Column('job_id', sa.String(length=32), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], ),
    sa.ForeignKeyConstraint(['kb_id'], ['support_knowledge_bases.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kb_id', 'version')
    )
    with op.batch_alter_table('support_kb_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_kb_versions_kb_id'), ['kb_id'], unique=False)

    op.create_table('support_replies',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('kb_version_id', sa.String(length=32), nullable=True),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('ticket', sa.JSON(), nullable=False),
    sa.Column('reply', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('passages', sa.JSON(), nullable=False),
    sa.Column('sentiment', sa.JSON(), nullable=False),
    sa.Column('model', sa.Text(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('job_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], ),
    sa.ForeignKeyConstraint(['kb_version_id'], ['support_kb_versions.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('support_replies', schema=None) as batch_op:
        batch_op.create_index('ix_support_replies_created', ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_support_replies_kb_version_id'), ['kb_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_support_replies_owner'), ['owner'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('support_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_replies_owner'))
        batch_op.drop_index(batch_op.f('ix_support_replies_kb_version_id'))
        batch_op.drop_index('ix_support_replies_created')

    op.drop_table('support_replies')
    with op.batch_alter_table('support_kb_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_kb_versions_kb_id'))

    op.drop_table('support_kb_versions')
    with op.batch_alter_table('support_knowledge_bases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_knowledge_bases_owner'))

    op.drop_table('support_knowledge_bases')
