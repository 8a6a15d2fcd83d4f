"""knowledge: handoffs and unanswered-question gaps

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('kb_handoffs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('member_name', sa.String(length=256), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('candidates', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('replier_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=64), nullable=True),
    sa.Column('reply', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_kb_handoffs_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_handoffs'))
    )
    with op.batch_alter_table('kb_handoffs', schema=None) as batch_op:
        batch_op.create_index('ix_kb_handoffs_status_created', ['status', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_kb_handoffs_replier_id'), ['replier_id'], unique=False)

    op.create_table('kb_gaps',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('normalized', sa.String(length=255), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('best_source', sa.String(length=255), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_kb_gaps_member_id_members'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_gaps'))
    )
    with op.batch_alter_table('kb_gaps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_gaps_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_kb_gaps_normalized'), ['normalized'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('kb_gaps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_gaps_normalized'))
        batch_op.drop_index(batch_op.f('ix_kb_gaps_at'))

    op.drop_table('kb_gaps')
    with op.batch_alter_table('kb_handoffs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_handoffs_replier_id'))
        batch_op.drop_index('ix_kb_handoffs_status_created')

    op.drop_table('kb_handoffs')
