"""Fixtures of the flow tests (loaded with ``pytest_plugins``)."""

from __future__ import annotations

import pytest


@pytest.fixture
def journey_url(sqlite_url: str) -> str:
    """The flow tests' name for a copy of the SQLite database migrated once per session
    (tests/sqlite_template.py)."""
    return sqlite_url
