"""push: which worker is sending a campaign, until when (lease with heartbeat)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("push_campaigns") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(96), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("push_campaigns") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")
