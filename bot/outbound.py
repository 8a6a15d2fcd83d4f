# mypy: disable-error-code="type-abstract"
"""Every platform call the core makes, through one door: the rate-limit owner.

Adapters report a 429 as :class:`~bot.errors.RateLimited` and never sleep it
out. :class:`Outbound` wraps the adapter for the whole core: before any call
it waits out the bot's global hold (:class:`RateHold`); a call answered 429
sets the hold (every send of this process waits, as python-telegram-bot's
AIORateLimiter does) and is tried again once the hold is over, so a reply is
delayed, never lost. The push sender uses :meth:`Outbound.send_once` instead
and counts its own tries (``push.pacing.max_retries``).

Buttons of every message are signed here too when the callbacks feature has
set :attr:`Outbound.signer`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

from bot.adapter import (
    Adapter,
    ButtonAnswerer,
    Capabilities,
    Closable,
    Deleter,
    DocumentSender,
    Editor,
    JoinGate,
    Limits,
    Moderator,
    UpdateSink,
    able,
    in_window_rule,
    shows_buttons,
)
from bot.errors import DeliveryError, RateLimited, TransientError, WindowClosed
from bot.events import (
    Button,
    ChatRef,
    OutgoingDocument,
    OutgoingMessage,
    SentMessage,
    UserRef,
)
from bot.signals import RATE_LIMITED, Signals
from storage.windows import Window, WindowLedger

if TYPE_CHECKING:
    from bot.call_journal import CallJournal
    from bot.clock import Clock

log = logging.getLogger("warmline.outbound")

T = TypeVar("T")
P = TypeVar("P")


class Unsupported(DeliveryError):
    """The platform cannot do this (its capabilities say so); nothing was called."""


class ButtonSigner(Protocol):
    def button(self, chat: ChatRef, button: Button) -> Button: ...


class RateHold:
    """ "Too many requests": until when nobody in this process sends."""

    def __init__(
        self,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._monotonic = monotonic
        self._sleep = sleep
        self._until = 0.0

    def hold(self, seconds: float) -> None:
        self._until = max(self._until, self._monotonic() + seconds)

    def remaining(self) -> float:
        return max(0.0, self._until - self._monotonic())

    async def wait(self) -> None:
        while (left := self.remaining()) > 0:
            await self._sleep(left)


def text_only(text: str, buttons: Sequence[Sequence[Button]]) -> str:
    """A message where buttons cannot be shown: link buttons become lines of text,
    the others are left out (nothing could answer a press)."""
    links = [f"{b.text}: {b.url}" for row in buttons for b in row if b.url]
    return "\n".join([text, *links]) if links else text


class Outbound:
    """The adapter as the core sees it: same contract, one owner of 429s."""

    def __init__(self, inner: Adapter, signals: Signals, hold: RateHold | None = None) -> None:
        self.inner = inner
        self.signals = signals
        self.hold = hold or RateHold()
        self.signer: ButtonSigner | None = None
        #: notes calls made for an inbox update before they go out (bot.call_journal)
        self.journal: CallJournal | None = None
        #: the platform's message windows (``limits.window``), shared by workers
        self.windows: WindowLedger | None = None
        self.clock: Clock | None = None
        self.platform = inner.platform

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    @property
    def limits(self) -> Limits:
        return self.inner.limits

    def buttons_in(self, chat: ChatRef) -> bool:
        """Whether buttons sent to ``chat`` can be pressed there (else they become text)."""
        return shows_buttons(self.inner, chat)

    def rate_limited(self, exc: RateLimited, what: str) -> None:
        """A 429: hold every send of this process and tell the observers."""
        self.hold.hold(exc.retry_after)
        self.signals.platform_retry.emit(RATE_LIMITED)
        log.warning("%s: rate limited; holding all sends for %.1fs", what, exc.retry_after)

    async def _call(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        while True:
            await self.hold.wait()
            try:
                return await call()
            except RateLimited as exc:
                self.rate_limited(exc, what)

    async def _sent(
        self, method: str, chat: ChatRef, make: Callable[[], Awaitable[SentMessage]]
    ) -> SentMessage:
        """A send, noted first when it is made for an inbox update (never made twice),
        within the platform's message window where it has one."""
        windowed = self._windowed(make, chat)
        if self.journal is None:
            return await windowed()
        return await self.journal.sent(method, chat, windowed)

    def _unwindowed(self, chat: ChatRef) -> bool:
        """No message window governs sends to ``chat``."""
        rule, windows, clock = self.limits.window, self.windows, self.clock
        return (
            rule is None or windows is None or clock is None or not in_window_rule(self.inner, chat)
        )

    def _windowed(
        self, make: Callable[[], Awaitable[SentMessage]], chat: ChatRef
    ) -> Callable[[], Awaitable[SentMessage]]:
        """``make`` after taking one message of the member's window: nothing is
        attempted when it is closed or used up (:class:`WindowClosed`)."""
        if self._unwindowed(chat):
            return make
        rule, windows, clock = self.limits.window, self.windows, self.clock
        assert rule is not None and windows is not None and clock is not None
        window = Window.of(rule.after_member_message, rule.max_messages)

        async def within() -> SentMessage:
            if not await windows.take(chat.platform, chat.id, window, clock.now()):
                raise WindowClosed(f"{self.platform}: message window closed for {chat.id}")
            try:
                return await make()
            except (TransientError, RateLimited):
                await windows.give_back(chat.platform, chat.id)  # the platform did not count it
                raise

        return within

    async def _done(self, method: str, target: str, make: Callable[[], Awaitable[None]]) -> None:
        if self.journal is None:
            await make()
            return
        await self.journal.done(method, target, make)

    def _able(self, protocol: type[P], what: str) -> P:
        found = able(self.inner, protocol)
        if found is None:
            raise Unsupported(f"{self.platform} cannot {what}")
        return found

    def _signed(self, message: OutgoingMessage) -> OutgoingMessage:
        """Buttons signed; where the platform has none, link buttons become lines of
        text and the others are left out (nothing could answer a press)."""
        if message.buttons and not self.buttons_in(message.chat):
            return replace(message, text=text_only(message.text, message.buttons), buttons=())
        signer = self.signer
        if signer is None or not message.buttons:
            return message
        chat = message.chat
        rows = tuple(
            tuple([signer.button(chat, button) for button in row]) for row in message.buttons
        )
        # built directly: every push passes here, and dataclasses.replace walks the fields
        return OutgoingMessage(
            chat, message.text, rows, message.reply_to, message.silent, message.disable_preview
        )

    # -- the core contract -----------------------------------------------------
    async def start(self, sink: UpdateSink) -> None:
        await self.inner.start(sink)

    async def stop(self) -> None:
        await self.inner.stop()

    async def close(self) -> None:
        if isinstance(self.inner, Closable):
            await self.inner.close()

    async def send(self, message: OutgoingMessage) -> SentMessage:
        signed = self._signed(message)
        return await self._sent(
            "send", signed.chat, lambda: self._call("send", lambda: self.inner.send(signed))
        )

    async def send_once(self, message: OutgoingMessage) -> SentMessage:
        """One try after the hold; a 429 sets the hold and is raised to the caller."""
        signed = self._signed(message)
        if self.journal is None and self._unwindowed(signed.chat):  # every push: no layers
            return await self._once(signed)
        return await self._sent("send", signed.chat, lambda: self._once(signed))

    async def _once(self, signed: OutgoingMessage) -> SentMessage:
        await self.hold.wait()
        try:
            return await self.inner.send(signed)
        except RateLimited as exc:
            self.rate_limited(exc, "send")
            raise

    async def me(self) -> UserRef:
        return await self.inner.me()

    def dm(self, user: UserRef) -> ChatRef:
        return self.inner.dm(user)

    async def deep_link(self, payload: str) -> str | None:
        return await self.inner.deep_link(payload)

    # -- optional protocols, only as the capabilities say ----------------------
    async def edit(self, chat: ChatRef, message_id: str, message: OutgoingMessage) -> None:
        editor, signed = self._able(Editor, "edit messages"), self._signed(message)
        await self._done(
            "edit",
            f"{chat.id}/{message_id}",
            lambda: self._call("edit", lambda: editor.edit(chat, message_id, signed)),
        )

    async def delete(self, chat: ChatRef, message_id: str) -> None:
        deleter = self._able(Deleter, "delete messages")
        await self._done(
            "delete",
            f"{chat.id}/{message_id}",
            lambda: self._call("delete", lambda: deleter.delete(chat, message_id)),
        )

    async def answer_button(self, callback_id: str, text: str | None = None) -> None:
        answerer = self._able(ButtonAnswerer, "answer buttons")
        await self._done(
            "answer_button",
            callback_id,
            lambda: self._call("answer_button", lambda: answerer.answer_button(callback_id, text)),
        )

    async def send_document(self, document: OutgoingDocument) -> SentMessage:
        sender = self._able(DocumentSender, "send files")
        return await self._sent(
            "send_document",
            document.chat,
            lambda: self._call("send_document", lambda: sender.send_document(document)),
        )

    async def restrict(self, chat: ChatRef, user: UserRef, until: datetime | None) -> None:
        mod = self._able(Moderator, "moderate")
        await self._done(
            "restrict",
            f"{chat.id}/{user.id}",
            lambda: self._call("restrict", lambda: mod.restrict(chat, user, until)),
        )

    async def unrestrict(self, chat: ChatRef, user: UserRef) -> None:
        mod = self._able(Moderator, "moderate")
        await self._done(
            "unrestrict",
            f"{chat.id}/{user.id}",
            lambda: self._call("unrestrict", lambda: mod.unrestrict(chat, user)),
        )

    async def ban(self, chat: ChatRef, user: UserRef, until: datetime | None = None) -> None:
        mod = self._able(Moderator, "moderate")
        await self._done(
            "ban",
            f"{chat.id}/{user.id}",
            lambda: self._call("ban", lambda: mod.ban(chat, user, until)),
        )

    async def unban(self, chat: ChatRef, user: UserRef) -> None:
        mod = self._able(Moderator, "moderate")
        await self._done(
            "unban",
            f"{chat.id}/{user.id}",
            lambda: self._call("unban", lambda: mod.unban(chat, user)),
        )

    async def list_admins(self, chat: ChatRef) -> list[UserRef]:
        mod = self._able(Moderator, "moderate")
        return await self._call("list_admins", lambda: mod.list_admins(chat))

    async def approve_join(self, chat: ChatRef, user: UserRef) -> None:
        gate = self._able(JoinGate, "approve joins")
        await self._done(
            "approve_join",
            f"{chat.id}/{user.id}",
            lambda: self._call("approve_join", lambda: gate.approve_join(chat, user)),
        )

    async def decline_join(self, chat: ChatRef, user: UserRef) -> None:
        gate = self._able(JoinGate, "approve joins")
        await self._done(
            "decline_join",
            f"{chat.id}/{user.id}",
            lambda: self._call("decline_join", lambda: gate.decline_join(chat, user)),
        )
