"""What a person starting the bot in a terminal should read before a slow start.

A feature that makes the first start slow (the knowledge base indexes its sources) says
so here; ``warmline chat`` prints the lines before it starts the App, so the core needs
to know neither the feature nor why it is slow.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StartNotes:
    #: one line each, plain text
    lines: list[str] = field(default_factory=list)
