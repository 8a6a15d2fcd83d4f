"""insight: dashboard sessions, login links, admin-set source costs

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "insight_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_insight_sessions")),
    )
    with op.batch_alter_table("insight_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_insight_sessions_expires_at"), ["expires_at"], unique=False
        )
    op.create_table(
        "insight_login_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_insight_login_links")),
    )
    with op.batch_alter_table("insight_login_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_insight_login_links_expires_at"), ["expires_at"], unique=False
        )
    op.create_table(
        "insight_source_costs",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("cost_per_member", sa.Float(), nullable=True),
        sa.Column("spend", sa.Float(), nullable=True),
        sa.Column("period_days", sa.Float(), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_insight_source_costs")),
    )
    op.create_table(
        "insight_activity",
        sa.Column(
            "member_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("weeks", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_insight_activity_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_insight_activity")),
    )
    op.create_table(
        "insight_rollup_marks",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column(
            "last_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_insight_rollup_marks")),
    )
    op.create_table(
        "insight_push_weeks",
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("offers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "week", name=op.f("pk_insight_push_weeks")),
    )
    with op.batch_alter_table("insight_push_weeks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_insight_push_weeks_week"), ["week"], unique=False)
    op.create_table(
        "insight_push_load",
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("offers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("week", "messages", name=op.f("pk_insight_push_load")),
    )
    op.create_table(
        "insight_gate_days",
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "category", "outcome", "reason", name=op.f("pk_insight_gate_days")
        ),
    )


def downgrade() -> None:
    op.drop_table("insight_gate_days")
    op.drop_table("insight_push_load")
    with op.batch_alter_table("insight_push_weeks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_insight_push_weeks_week"))
    op.drop_table("insight_push_weeks")
    op.drop_table("insight_rollup_marks")
    op.drop_table("insight_activity")
    op.drop_table("insight_source_costs")
    with op.batch_alter_table("insight_login_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_insight_login_links_expires_at"))
    op.drop_table("insight_login_links")
    with op.batch_alter_table("insight_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_insight_sessions_expires_at"))
    op.drop_table("insight_sessions")
