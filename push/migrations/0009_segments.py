"""segments: saved segments, and the filter a broadcast was previewed with

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_segments",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("filter", sa.String(length=1024), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_saved_segments")),
    )
    # a campaign drafted before this revision keeps audience NULL: its segment name is read
    with op.batch_alter_table("push_campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audience", sa.String(length=1024), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("push_campaigns", schema=None) as batch_op:
        batch_op.drop_column("audience")
    op.drop_table("saved_segments")
