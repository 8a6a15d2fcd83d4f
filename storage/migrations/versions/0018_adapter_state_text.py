"""adapter_state: values are text of any length (a WeCom mass send keeps its tasks'
recipients there; 1024 characters held some 25 customers, and PostgreSQL refused more
after the tasks were made)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("adapter_state", schema=None) as batch_op:
        batch_op.alter_column(
            "value", existing_type=sa.String(1024), type_=sa.Text(), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("adapter_state", schema=None) as batch_op:
        batch_op.alter_column(
            "value", existing_type=sa.Text(), type_=sa.String(1024), existing_nullable=False
        )
