"""Parse ``/command@bot args`` the same way for every platform."""

from __future__ import annotations

from bot.events import Command


def parse_command(text: str, bot_username: str | None = None) -> Command | None:
    """Return the command in ``text``, or None when it is not one (or for another bot)."""
    if not text.startswith("/") or len(text) < 2:
        return None
    head, _, tail = text.partition(" ")
    name, _, addressee = head[1:].partition("@")
    if not name or not name.replace("_", "").isalnum():
        return None
    if addressee and bot_username and addressee.lower() != bot_username.lower():
        return None
    return Command(name=name.lower(), args=tail.strip())
