"""merge: moderation's tables (0005) join the core chain

0005 was one of the branches each built-in feature's tables once had off the
foundation; the others were merged back (0007, 0008, 0011) and 0005 was left a head of
its own. It is not a feature's own folder of revisions (those live beside the feature,
``Feature.migrations``), so the core chain ends in one head again. No schema change:
a database at 0005 and 0018 only records 0019.

Revision ID: 0019
Revises: 0018, 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

revision: str = "0019"
down_revision: str | Sequence[str] | None = ("0018", "0005")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
