"""Contact ways (渠道活码): a QR code per acquisition channel.

A customer who adds the merchant through it arrives with ``State`` =
``src-<channel>``: the same attribution as a Telegram ``/start src-…`` link.
WeCom caps ``state`` at 30 characters.
"""

from __future__ import annotations

import re

from bot.adapters.wecom import endpoints as ep
from bot.adapters.wecom.api import Secrets, WeComApi
from bot.adapters.wecom.config import WeComConfig

STATE_MAX = 30
CHANNEL = re.compile(r"^[A-Za-z0-9_\-]+$")


def state_for(source: str) -> str:
    """``src-<source>``; ValueError naming the rule when WeCom would refuse it."""
    if not CHANNEL.match(source):
        raise ValueError(f"--source {source!r}: use letters, digits, _ and - only")
    state = f"src-{source}"
    if len(state) > STATE_MAX:
        raise ValueError(
            f"--source {source!r}: at most {STATE_MAX - 4} characters (WeCom's state is "
            f"at most {STATE_MAX})"
        )
    return state


async def create_contact_way(
    config: WeComConfig, *, source: str, staff: str | None
) -> tuple[str, str]:
    """(config_id, QR code URL) of a new contact way for ``source``."""
    state = state_for(source)
    owner = staff or config.sender
    if not owner:
        raise ValueError("name the staff member customers add with --staff (or bot.wecom.sender)")
    api = WeComApi(
        api_base=config.api_base,
        corp_id=config.corp_id,
        secrets=Secrets(config.secret, config.contact_secret, config.kf_secret),
    )
    try:
        return await ep.add_contact_way(api, state=state, users=[owner])
    finally:
        await api.close()
