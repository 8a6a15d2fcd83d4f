"""Who a moderation command is about: the replied-to member, or ``@username`` / id."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from bot.config.duration import parse_duration
from bot.context import Context
from bot.events import UserRef
from moderation.service import Target

_DURATION_LIKE = re.compile(r"^\d")


class BadDuration(ValueError):
    """A duration argument that does not parse."""


@dataclass(frozen=True, slots=True)
class Resolved:
    target: Target
    #: the arguments after the target (reason, duration…)
    rest: list[str]


async def resolve_target(ctx: Context) -> Resolved | str:
    """The target, or the catalog key of what went wrong."""
    message = ctx.message
    assert message is not None and message.command is not None
    argv = message.command.argv
    if message.reply_to is not None and message.reply_to.user is not None:
        user = message.reply_to.user
        member = await ctx.services.members.touch(user, message.at)
        return Resolved(Target(user, member.id), argv)
    if not argv:
        return "usage"
    found = await ctx.services.members.find(ctx.chat.platform, argv[0][:65])
    if found is None:
        return "moderation.errors.no_member"
    user = UserRef(found.platform, found.user_id, found.display_name, found.username)
    return Resolved(Target(user, found.id), argv[1:])


def take_duration(
    rest: list[str], longest: timedelta | None = None
) -> tuple[timedelta | None, list[str]]:
    """An optional leading duration (``30m``, ``2h``, ``7d``); raises BadDuration, also
    beyond ``longest`` (the platform's ``limits.max_restriction``: longer is forever)."""
    if not rest or not _DURATION_LIKE.match(rest[0]):
        return None, rest
    try:
        value = parse_duration(rest[0])
    except ValueError:
        raise BadDuration(rest[0]) from None
    if longest is not None and value > longest:
        raise BadDuration(rest[0])
    return (value or None), rest[1:]


def reason_of(rest: list[str]) -> str:
    return " ".join(rest)[:512]
