"""Every table module, imported once so ``metadata`` knows all tables.

Feature packages add their table modules to this list.
"""

from storage import (
    confirm_tables,
    flow_tables,
    inbox_tables,
    insight_tables,
    knowledge_tables,
    moderation_tables,
    push_tables,
    segment_tables,
    tables,
    window_tables,
)
from storage.tables import Base

metadata = Base.metadata

__all__ = [
    "confirm_tables",
    "flow_tables",
    "inbox_tables",
    "insight_tables",
    "knowledge_tables",
    "metadata",
    "moderation_tables",
    "push_tables",
    "segment_tables",
    "tables",
    "window_tables",
]
