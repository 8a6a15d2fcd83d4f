"""Debian's Chromium, driven by Playwright, for the tests that look at a page."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
#: headless, and quiet: no background traffic (the test machine's network is closed)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"
)


async def launch(playwright: Any) -> Any:
    """A headless Chromium browser from an ``async_playwright()`` context."""
    return await playwright.chromium.launch(
        executable_path=shutil.which("chromium") or CHROMIUM, args=FLAGS
    )
