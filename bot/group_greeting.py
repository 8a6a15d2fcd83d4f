"""Who greets newcomers in a group.

Two features may: the journey's group welcome and moderation's welcome-with-rules.
A newcomer should get one message, not two, and neither feature should import the
other. The feature that greets with its own text provides a :class:`GroupGreeter`;
the journey asks it before posting its own welcome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class GroupGreeter:
    #: true when newcomers of the group with this chat id are welcomed by its provider
    greets: Callable[[str], bool]
