"""push: proactive messages a platform's window refused, batched into daily mass sends

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "push_batched",
        sa.Column("member_id", ID, nullable=False),
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("seq", ID, nullable=False),
        sa.Column("text", sa.String(8192), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("task", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "key", name=op.f("pk_push_batched")),
    )
    with op.batch_alter_table("push_batched", schema=None) as batch_op:
        batch_op.create_index("ix_push_batched_state_due", ["state", "due_at"], unique=False)
        batch_op.create_index(
            "ix_push_batched_member_updated", ["member_id", "updated_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("push_batched", schema=None) as batch_op:
        batch_op.drop_index("ix_push_batched_member_updated")
        batch_op.drop_index("ix_push_batched_state_due")
    op.drop_table("push_batched")
