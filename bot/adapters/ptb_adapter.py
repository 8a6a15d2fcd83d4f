"""Telegram through python-telegram-bot 22.

PTB's ``ExtBot`` talks to ``bot.telegram.api_base``; its rate-limiter hook
(the place PTB itself handles flood control) applies the neutral retry policy,
so each call retries 5xx/network trouble, reports a 429 as ``RateLimited``
(the core holds and retries) and raises neutral errors (403 →
RecipientUnreachable, other 4xx → DeliveryError).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from telegram import (
    ChatPermissions,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    ReplyParameters,
    User,
)
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import BaseRateLimiter, ExtBot
from telegram.request import HTTPXRequest

from bot.adapters.telegram_base import POLL_GRACE, Guarded, TelegramAdapter
from bot.adapters.telegram_convert import ALLOWED_UPDATES, PLATFORM
from bot.adapters.telegram_platform import TelegramConfig
from bot.errors import DeliveryError, RateLimited, RecipientUnreachable, TransientError
from bot.events import (
    Button,
    ChatRef,
    OutgoingDocument,
    OutgoingMessage,
    SentMessage,
    UserRef,
)
from bot.web import WebServer

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

JSON = bool | dict[str, Any] | list[dict[str, Any]]


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB warns that the int form is going away
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def classify(exc: BaseException) -> DeliveryError | TransientError | None:
    if isinstance(exc, RetryAfter):
        return RateLimited(retry_seconds(exc), exc.message)
    if isinstance(exc, Forbidden):
        return RecipientUnreachable(exc.message)
    if isinstance(exc, BadRequest):  # a NetworkError subclass, but final
        return DeliveryError(exc.message)
    if isinstance(exc, NetworkError):  # 5xx, timeouts, connection trouble
        return TransientError(exc.message)
    if isinstance(exc, TelegramError):
        return DeliveryError(exc.message)
    return None


class RetryLimiter(BaseRateLimiter[None]):
    """PTB calls this around every request except getUpdates; ``guarded`` is the
    adapter's: ``before_call``, then the retry policy."""

    def __init__(self, guarded: Guarded) -> None:
        self.guarded = guarded

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> JSON:
        return await self.guarded(lambda: callback(*args, **kwargs), endpoint)


class WarmlineBot(ExtBot[None]):
    async def raw_updates(self, offset: int | None, timeout: int, limit: int) -> Any:
        """getUpdates as plain dicts: PTB's ``get_updates`` would fail the whole
        batch on one malformed update, and the converter reads dicts anyway."""
        return await self._post(
            "getUpdates",
            {
                "offset": offset,
                "timeout": timeout,
                "limit": limit,
                "allowed_updates": list(ALLOWED_UPDATES),
            },
            read_timeout=timeout + POLL_GRACE,
        )


def user_of(user: User) -> UserRef:
    return UserRef(
        PLATFORM,
        str(user.id),
        user.full_name,
        user.username,
        user.language_code,
        user.is_bot,
    )


def keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.text, callback_data=b.data, url=b.url) for b in row]
            for row in rows
        ]
    )


class PtbAdapter(TelegramAdapter):
    def __init__(self, config: TelegramConfig, web: WebServer | None = None) -> None:
        super().__init__(config, web)
        self._bot: WarmlineBot | None = None
        self._requests: tuple[HTTPXRequest, ...] = ()

    @property
    def bot(self) -> WarmlineBot:
        """The PTB bot, created on first use (``start`` initializes it)."""
        if self._bot is None:
            base = self.config.api_base.rstrip("/")
            self._requests = (
                HTTPXRequest(connection_pool_size=64),
                HTTPXRequest(connection_pool_size=2),
            )
            self._bot = WarmlineBot(
                self.config.token or "",
                base_url=f"{base}/bot",
                base_file_url=f"{base}/file/bot",
                request=self._requests[0],
                get_updates_request=self._requests[1],
                rate_limiter=RetryLimiter(self.guarded),
            )
        return self._bot

    def classify(self, exc: BaseException) -> DeliveryError | TransientError | None:
        return classify(exc)

    async def _open(self) -> None:
        await self.bot.initialize()

    async def _close(self) -> None:
        if self._bot is not None:
            await self._bot.shutdown()
            # PTB's shutdown skips a bot never initialized (one-off CLI sends); close anyway
            for request in self._requests:
                await request.shutdown()
            self._bot = None

    async def _fetch_updates(self, offset: int | None, timeout: int, limit: int = 100) -> list[Any]:
        result = await self.bot.raw_updates(offset, timeout, limit)
        return result if isinstance(result, list) else []

    async def _set_webhook(self, url: str, secret: str) -> None:
        await self.bot.set_webhook(url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES))

    async def _delete_webhook(self) -> None:
        await self.bot.delete_webhook(drop_pending_updates=False)

    # -- the Adapter contract --------------------------------------------------
    async def me(self) -> UserRef:
        return user_of(await self.bot.get_me())

    async def send(self, message: OutgoingMessage) -> SentMessage:
        reply = (
            ReplyParameters(int(message.reply_to), allow_sending_without_reply=True)
            if message.reply_to
            else None
        )
        sent = await self.bot.send_message(
            int(message.chat.id),
            message.text,
            reply_markup=keyboard(message.buttons),
            reply_parameters=reply,
            disable_notification=message.silent or None,
            link_preview_options=NO_PREVIEW if message.disable_preview else None,
        )
        return SentMessage(message.chat, str(sent.message_id))

    async def send_document(self, document: OutgoingDocument) -> SentMessage:
        sent = await self.bot.send_document(
            int(document.chat.id),
            InputFile(document.content, filename=document.filename),
            caption=document.caption,
        )
        return SentMessage(document.chat, str(sent.message_id))

    async def edit(self, chat: ChatRef, message_id: str, message: OutgoingMessage) -> None:
        await self.bot.edit_message_text(
            message.text,
            chat_id=int(chat.id),
            message_id=int(message_id),
            reply_markup=keyboard(message.buttons),
            link_preview_options=NO_PREVIEW if message.disable_preview else None,
        )

    async def answer_button(self, callback_id: str, text: str | None = None) -> None:
        await self.bot.answer_callback_query(callback_id, text=text)

    async def delete(self, chat: ChatRef, message_id: str) -> None:
        await self.bot.delete_message(int(chat.id), int(message_id))

    async def restrict(self, chat: ChatRef, user: UserRef, until: datetime | None) -> None:
        await self.bot.restrict_chat_member(
            int(chat.id),
            int(user.id),
            ChatPermissions.no_permissions(),
            until_date=until,
            use_independent_chat_permissions=True,
        )

    async def unrestrict(self, chat: ChatRef, user: UserRef) -> None:
        # all true: Telegram caps them at the chat's defaults, i.e. "lift my restriction"
        await self.bot.restrict_chat_member(
            int(chat.id),
            int(user.id),
            ChatPermissions.all_permissions(),
            use_independent_chat_permissions=True,
        )

    async def ban(self, chat: ChatRef, user: UserRef, until: datetime | None = None) -> None:
        await self.bot.ban_chat_member(int(chat.id), int(user.id), until_date=until)

    async def unban(self, chat: ChatRef, user: UserRef) -> None:
        # only_if_banned: unbanning a present member would otherwise kick them
        await self.bot.unban_chat_member(int(chat.id), int(user.id), only_if_banned=True)

    async def approve_join(self, chat: ChatRef, user: UserRef) -> None:
        await self.bot.approve_chat_join_request(int(chat.id), int(user.id))

    async def decline_join(self, chat: ChatRef, user: UserRef) -> None:
        await self.bot.decline_chat_join_request(int(chat.id), int(user.id))

    async def list_admins(self, chat: ChatRef) -> list[UserRef]:
        return [
            user_of(admin.user) for admin in await self.bot.get_chat_administrators(int(chat.id))
        ]
