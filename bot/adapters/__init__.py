"""Platform adapters. Only modules in this package import platform libraries."""

from __future__ import annotations

from bot.platforms import build_adapter

__all__ = ["build_adapter"]
