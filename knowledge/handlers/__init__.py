"""Chat handlers of the knowledge feature: answering questions, and learning from admins."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from bot.services import Services

if TYPE_CHECKING:
    from knowledge.service import KnowledgeBase

#: the knowledge base's module, which imports the retrieval models (seconds of start-up)
_SERVICE = "knowledge.service"


def knowledge_base(services: Services) -> KnowledgeBase | None:
    """The knowledge base the app set up, if any. None can exist before its module is
    imported, and only setting one up imports it: so the handlers do not, and a bot or
    a simulation without a knowledge base starts without loading the models."""
    module = sys.modules.get(_SERVICE)
    if module is None:
        return None
    found: KnowledgeBase | None = services.find(module.KnowledgeBase)
    return found
