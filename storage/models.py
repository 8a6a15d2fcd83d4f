"""Every table module, imported once so ``metadata`` knows all tables.

Feature packages add their table modules to this list.
"""

from storage import tables
from storage.tables import Base

metadata = Base.metadata

__all__ = ["metadata", "tables"]
