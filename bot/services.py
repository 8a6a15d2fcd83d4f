"""What handlers can reach: config, platform, storage, clock, text catalogs.

Features added later (push gate, knowledge, flows) register themselves by
type with :meth:`Services.provide` and are found with :meth:`Services.require`,
so the core never imports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.clock import Clock
from bot.config.model import WarmlineConfig
from bot.i18n import Catalog
from bot.outbound import Outbound
from bot.signals import Signals
from storage.dedupe import UpdateLedger
from storage.members import ChatRepository, InteractionLog, MemberRepository

T = TypeVar("T")


@dataclass
class Services:
    config: WarmlineConfig
    #: the platform, as the core calls it (429s held, buttons signed)
    adapter: Outbound
    clock: Clock
    members: MemberRepository
    chats: ChatRepository
    interactions: InteractionLog
    ledger: UpdateLedger
    catalog: Catalog
    signals: Signals = field(default_factory=Signals)
    _extensions: dict[type[Any], Any] = field(default_factory=dict)

    def provide(self, instance: T, as_type: type[T] | None = None) -> T:
        self._extensions[as_type or type(instance)] = instance
        return instance

    def require(self, kind: type[T]) -> T:
        try:
            return self._extensions[kind]  # type: ignore[no-any-return]
        except KeyError:
            raise LookupError(f"{kind.__name__} is not configured in this bot") from None

    def find(self, kind: type[T]) -> T | None:
        return self._extensions.get(kind)

    def is_bot_admin(self, platform: str, user_id: str) -> bool:
        del platform  # admin ids are per bot, which runs on one platform
        return user_id in self.config.bot.admins
