"""push: the decision log keeps the start of each message's text; repeats of a key
already delivered (reason ``duplicate``) are no decisions and leave the log

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("push_decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text", sa.String(length=200), nullable=True))
    # a deferred message that the waiting line delivered showed a third time as
    # "dropped (duplicate)" when its flow step came back for it
    op.execute("DELETE FROM push_decisions WHERE reason = 'duplicate'")
    op.execute("DELETE FROM insight_gate_days WHERE reason = 'duplicate'")


def downgrade() -> None:
    with op.batch_alter_table("push_decisions", schema=None) as batch_op:
        batch_op.drop_column("text")
