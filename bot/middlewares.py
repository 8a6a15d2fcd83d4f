"""Built-in middlewares: error isolation, logging, dedupe, member loading.

Every middleware has an order in the chain (smaller is outer: it sees the update
first); a feature places its own with ``App.add_middleware(mw, order=N)`` relative
to the core's, named below, instead of searching the chain for one of them.
"""

from __future__ import annotations

import logging
import time

from bot.call_journal import CallOutcomeUnknown
from bot.context import Context
from bot.dispatcher import Next, Placed
from bot.events import IncomingMessage, MemberJoined, MemberLeft
from bot.intake import DurableIntake
from bot.outages import is_outage
from bot.windows import OpenWindows

log = logging.getLogger("warmline.dispatch")

#: outermost: a failing handler (or middleware inside) is logged and apologised for
ERROR_ISOLATION = 0
LOGGING = 10
#: an update already handled (by this worker or another) stops here
DEDUPE = 20
#: ``ctx.member`` is loaded here: a middleware that needs it comes after (> 40), one
#: that must refuse an update before a member row is written comes before
MEMBER_LOADER = 40
#: the platform's message window is noted here (:mod:`bot.windows`)
OPEN_WINDOWS = 60
#: inside the core's: features that watch handled updates (counters, metrics)
WATCHERS = 100


class ErrorIsolation:
    """Outermost: a failing handler is logged and the member gets an apology;
    the bot keeps going. A store outage is no handler's fault: the update is
    marked ``outage`` (the durable intake runs it again later), without apology."""

    async def __call__(self, call_next: Next, ctx: Context) -> None:
        try:
            await call_next(ctx)
        except CallOutcomeUnknown as exc:  # an earlier run got this far: nothing to redo
            ctx.data["call_outcome_unknown"] = True
            log.warning("%s; the rest of its handling is skipped", exc)
        except Exception as exc:
            if is_outage(exc):
                ctx.data["outage"] = True
                log.warning(
                    "update %s met a store outage (%s: %s)",
                    ctx.event.update_key,
                    type(exc).__name__,
                    exc,
                )
                return
            ctx.data["error"] = True
            log.exception(
                "handler failed for update %s (%s) in chat %s",
                ctx.event.update_key,
                type(ctx.event).__name__,
                ctx.event.chat.id,
            )
            if ctx.chat.is_private and isinstance(ctx.event, IncomingMessage):
                try:
                    await ctx.reply(ctx.t("errors.generic"))
                except Exception:
                    log.warning("could not send the apology for update %s", ctx.event.update_key)


class Logging:
    async def __call__(self, call_next: Next, ctx: Context) -> None:
        started = time.perf_counter()
        await call_next(ctx)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "update %s %s → %s in %.1f ms",
                ctx.event.update_key,
                type(ctx.event).__name__,
                ctx.data.get("handler"),
                (time.perf_counter() - started) * 1000,
            )


class Dedupe:
    """Skip an update whose key was already claimed (by us or another worker).

    An update from the durable intake is deduplicated by the inbox itself (its key
    is recorded when it is handled, not before), so it is not claimed here. A
    claim whose handling met a store outage is given back, so a redelivery runs.
    """

    async def __call__(self, call_next: Next, ctx: Context) -> None:
        key = ctx.event.update_key
        if key is None:
            await call_next(ctx)
            return
        intake = ctx.services.find(DurableIntake)
        if intake is not None and intake.holds(key):
            await call_next(ctx)
            return
        if not await ctx.services.ledger.claim(key):
            ctx.data["duplicate"] = True
            return
        try:
            await call_next(ctx)
        except Exception as exc:
            if is_outage(exc):
                try:
                    await ctx.services.ledger.release(key)
                except Exception:
                    log.warning("could not release the claim on update %s", key)
            raise


class MemberLoader:
    """Load (or create) the member and keep chats/memberships current."""

    async def __call__(self, call_next: Next, ctx: Context) -> None:
        event = ctx.event
        services = ctx.services
        if not event.user.is_bot:
            ctx.member = await services.members.touch(event.user, event.at)
            if isinstance(event, MemberJoined):
                await services.chats.joined(event.chat, ctx.member.id, event.at)
            elif isinstance(event, MemberLeft):
                await services.chats.left(event.chat, ctx.member.id, event.at)
        await call_next(ctx)


def default_middlewares(with_members: bool = True) -> list[Placed]:
    """The core's chain, each at its order."""
    chain: list[Placed] = [
        (ERROR_ISOLATION, ErrorIsolation()),
        (LOGGING, Logging()),
        (DEDUPE, Dedupe()),
    ]
    if with_members:
        chain.append((MEMBER_LOADER, MemberLoader()))
    chain.append((OPEN_WINDOWS, OpenWindows()))
    return chain
