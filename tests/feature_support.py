"""Installing a feature package in a test, as its ``warmline.features`` entry point would."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

import bot.features
from bot.features import GROUP


def install_feature(monkeypatch: pytest.MonkeyPatch, folder: Path, name: str) -> None:
    """Make the module ``name`` in ``folder`` importable and its ``FEATURE`` registered."""
    monkeypatch.syspath_prepend(str(folder))
    ours = metadata.EntryPoint(name, f"{name}:FEATURE", GROUP)
    installed = metadata.entry_points

    def with_ours(*, group: str) -> list[metadata.EntryPoint]:
        return [*installed(group=group), ours]

    monkeypatch.setattr(bot.features, "entry_points", with_ours)
