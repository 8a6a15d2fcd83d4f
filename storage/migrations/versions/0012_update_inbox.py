"""core: the update inbox, so an acknowledged update survives a killed worker

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def upgrade() -> None:
    op.create_table(
        "update_inbox",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_update_inbox")),
    )
    op.create_index("ix_update_inbox_lease_until", "update_inbox", ["lease_until"])

def downgrade() -> None:
    op.drop_index("ix_update_inbox_lease_until", table_name="update_inbox")
    op.drop_table("update_inbox")
