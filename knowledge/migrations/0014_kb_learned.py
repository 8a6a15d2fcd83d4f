"""knowledge: what admins taught (paraphrases of entries, new entries)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "kb_learned",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=True),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("normalized", sa.String(length=255), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("handoff_id", ID, nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["kb_handoffs.id"],
            name=op.f("fk_kb_learned_handoff_id_kb_handoffs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_learned")),
    )
    op.create_index("ix_kb_learned_source_normalized", "kb_learned", ["source", "normalized"])
    op.create_index(op.f("ix_kb_learned_normalized"), "kb_learned", ["normalized"])


def downgrade() -> None:
    op.drop_index(op.f("ix_kb_learned_normalized"), table_name="kb_learned")
    op.drop_index("ix_kb_learned_source_normalized", table_name="kb_learned")
    op.drop_table("kb_learned")
