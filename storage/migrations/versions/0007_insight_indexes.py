"""insight: indexes on members, orders and push_sends for the dashboard's queries

Revision ID: 0007
Revises: 0002, 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
# push_sends (0002) and orders (0004); members (0001) precedes both, and naming an
# ancestor of another parent as a parent too breaks Alembic's upgrade ("heads")
down_revision: str | Sequence[str] | None = ("0002", "0004")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.create_index(
            "ix_members_referrer_code", ["referrer_code", "joined_at"], unique=False
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_at", ["at"], unique=False)
    with op.batch_alter_table("push_sends", schema=None) as batch_op:
        batch_op.create_index("ix_push_sends_at", ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("push_sends", schema=None) as batch_op:
        batch_op.drop_index("ix_push_sends_at")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_at")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index("ix_members_referrer_code")
