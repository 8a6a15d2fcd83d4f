"""insight: the per-member loop rollup behind the funnel, filled from the history

Revision ID: 0008
Revises: 0006, 0007
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
# insight_rollup_marks (0006); journeys and orders (0004, through 0007)
down_revision: str | Sequence[str] | None = ("0006", "0007")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the same facts storage.member_loop recomputes, as of this revision (portable SQL)
BACKFILL = """
INSERT INTO insight_member_loop (
    member_id, source, joined_at, referred, engaged, trust, first_offer_at,
    first_order_at, second_order_at, revenue, friends, first_friend_at
)
SELECT
    m.id, m.source, m.joined_at, m.referrer_code IS NOT NULL,
    COALESCE(j.messages + j.replies + j.questions + j.buttons + j.opened > 0, false),
    j.trust, j.first_offer_at,
    (SELECT min(o.at) FROM orders o WHERE o.member_id = m.id),
    (SELECT o.at FROM orders o WHERE o.member_id = m.id ORDER BY o.at, o.id LIMIT 1 OFFSET 1),
    (SELECT COALESCE(sum(o.amount), 0.0) FROM orders o WHERE o.member_id = m.id),
    (SELECT count(*) FROM members f WHERE f.referrer_code = j.referral_code),
    (SELECT min(f.joined_at) FROM members f WHERE f.referrer_code = j.referral_code)
FROM members m LEFT JOIN journeys j ON j.member_id = m.id
"""
MARK = (
    "INSERT INTO insight_rollup_marks (name, last_id) "
    "SELECT 'member_loop', COALESCE(max(id), 0) FROM members"
)


def upgrade() -> None:
    op.create_table(
        "insight_member_loop",
        sa.Column(
            "member_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("referred", sa.Boolean(), nullable=False),
        sa.Column("engaged", sa.Boolean(), nullable=False),
        sa.Column("trust", sa.Float(), nullable=True),
        sa.Column("first_offer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_order_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("second_order_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revenue", sa.Float(), nullable=False),
        sa.Column("friends", sa.Integer(), nullable=False),
        sa.Column("first_friend_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_insight_member_loop_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_insight_member_loop")),
    )
    op.execute(BACKFILL)
    op.execute(MARK)


def downgrade() -> None:
    op.execute("DELETE FROM insight_rollup_marks WHERE name = 'member_loop'")
    op.drop_table("insight_member_loop")
