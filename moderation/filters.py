"""What is wrong with a group message, if anything: pure functions, no I/O."""

from __future__ import annotations

import re
import unicodedata

from bot.events import IncomingMessage
from moderation.config import GroupPolicy

_LINK = re.compile(
    r"(?:https?://|www\.|"
    r"\b[\w-]{2,}\.(?:com|net|org|io|me|cn|ru|xyz|top|info|biz|link|click|shop|site|app|co)\b)",
    re.IGNORECASE,
)
_LINK_ENTITIES = frozenset({"url", "text_link"})


def normalise(text: str) -> str:
    """Fold width, compatibility forms and case, and drop invisible format
    characters, so ｈｔｔｐ, ＢＡＤ or s\u200bpam are caught too."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")


def has_link(message: IncomingMessage, hosts: tuple[str, ...] = ()) -> bool:
    """A URL, a web address, a marked link, or a link to one of the platform's
    own short-link ``hosts`` (``adapter.limits.link_hosts``: t.me on Telegram)."""
    if any(entity.type in _LINK_ENTITIES for entity in message.entities):
        return True
    text = normalise(message.text)
    if any(re.search(rf"\b{re.escape(host)}/", text) for host in hosts):
        return True
    return bool(_LINK.search(text))


def blocked_word(text: str, blocklist: list[str]) -> str | None:
    folded = normalise(text)
    for word in blocklist:
        if word and normalise(word) in folded:
            return word
    return None


def violation(
    message: IncomingMessage, policy: GroupPolicy, newcomer: bool, link_hosts: tuple[str, ...] = ()
) -> str | None:
    """The lock this message breaks (``links``, ``forwards``, ``blocklist``), or None."""
    locks = policy.locks
    strict = policy.newcomer if newcomer else None
    if (locks.links or (strict is not None and strict.links)) and has_link(message, link_hosts):
        return "links"
    if message.forwarded_from_channel and (
        locks.channel_forwards or (strict is not None and strict.channel_forwards)
    ):
        return "forwards"
    if locks.blocklist and blocked_word(message.text, locks.blocklist) is not None:
        return "blocklist"
    return None
