"""Installing a feature or platform package in a test, as its entry point would."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from types import ModuleType

import pytest

import bot.features
import bot.platforms
from bot.features import GROUP
from bot.platforms import ENTRY_POINTS


def install_feature(monkeypatch: pytest.MonkeyPatch, folder: Path, name: str) -> None:
    """Make the module ``name`` in ``folder`` importable and its ``FEATURE`` registered."""
    entry = metadata.EntryPoint(name, f"{name}:FEATURE", GROUP)
    install_entry_point(monkeypatch, folder, entry, bot.features)


def install_platform(monkeypatch: pytest.MonkeyPatch, folder: Path, name: str, module: str) -> None:
    """Make ``module`` in ``folder`` importable and its ``PLATFORM`` registered as ``name``."""
    entry = metadata.EntryPoint(name, f"{module}:PLATFORM", ENTRY_POINTS)
    install_entry_point(monkeypatch, folder, entry, bot.platforms)


def install_entry_point(
    monkeypatch: pytest.MonkeyPatch, folder: Path, entry: metadata.EntryPoint, reader: ModuleType
) -> None:
    """``entry`` listed with the installed ones of its group, where ``reader`` looks."""
    monkeypatch.syspath_prepend(str(folder))
    installed = metadata.entry_points

    def with_ours(*, group: str) -> list[metadata.EntryPoint]:
        return [*installed(group=group), *([entry] if group == entry.group else [])]

    monkeypatch.setattr(reader, "entry_points", with_ours)


def write_config(folder: Path, text: str) -> Path:
    """``text`` as ``config.yaml`` in ``folder``."""
    path = folder / "config.yaml"
    path.write_text(text, "utf-8")
    return path
