"""update inbox: the platform calls started for an update, so a second run skips them

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("update_inbox") as batch:
        batch.add_column(sa.Column("calls", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("update_inbox") as batch:
        batch.drop_column("calls")
