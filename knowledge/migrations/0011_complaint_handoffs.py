"""knowledge: handoffs remember whether they are complaints (promotions wait for them)

Revision ID: 0011
Revises: 0003, 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
# kb_handoffs comes from 0003, which is not below 0008 (depends_on would leave 0003 a head)
down_revision: str | Sequence[str] | None = ("0003", "0010")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kb_handoffs") as batch:
        batch.add_column(
            sa.Column("complaint", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index(
        "ix_kb_handoffs_member_complaint", "kb_handoffs", ["member_id", "complaint", "status"]
    )


def downgrade() -> None:
    op.drop_index("ix_kb_handoffs_member_complaint", table_name="kb_handoffs")
    with op.batch_alter_table("kb_handoffs") as batch:
        batch.drop_column("complaint")
