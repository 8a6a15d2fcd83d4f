"""Telegram through aiogram 3.

Every call goes through aiogram's session, pointed at ``bot.telegram.api_base``;
a session request middleware applies the neutral retry policy, so each call
retries 5xx/network trouble, reports a 429 as ``RateLimited`` (the core holds
and retries) and raises neutral errors (403 → RecipientUnreachable, other
4xx → DeliveryError).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import (
    BufferedInputFile,
    ChatPermissions,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    ReplyParameters,
    User,
)

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

MUTED = ChatPermissions(
    can_send_messages=False,
    can_send_audios=False,
    can_send_documents=False,
    can_send_photos=False,
    can_send_videos=False,
    can_send_video_notes=False,
    can_send_voice_notes=False,
    can_send_polls=False,
    can_send_other_messages=False,
    can_add_web_page_previews=False,
)
#: all true: Telegram caps them at the chat's defaults, i.e. "lift my restriction"
UNMUTED = ChatPermissions(
    can_send_messages=True,
    can_send_audios=True,
    can_send_documents=True,
    can_send_photos=True,
    can_send_videos=True,
    can_send_video_notes=True,
    can_send_voice_notes=True,
    can_send_polls=True,
    can_send_other_messages=True,
    can_add_web_page_previews=True,
)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class RawGetUpdates(GetUpdates):
    """getUpdates answered as plain dicts: the converter reads them directly and
    one malformed update cannot make the whole batch fail validation."""

    __returning__ = list[dict[str, Any]]


def classify(exc: BaseException) -> DeliveryError | TransientError | None:
    if isinstance(exc, TelegramRetryAfter):
        return RateLimited(float(exc.retry_after), exc.message)
    if isinstance(exc, TelegramForbiddenError):
        return RecipientUnreachable(exc.message)
    if isinstance(exc, TelegramEntityTooLarge):
        return DeliveryError(exc.message)
    if isinstance(exc, TelegramServerError | TelegramNetworkError | ClientDecodeError):
        return TransientError(str(exc))
    if isinstance(exc, TelegramAPIError):
        return DeliveryError(exc.message)
    return None


class RetryMiddleware(BaseRequestMiddleware):
    """aiogram's hook around every request; getUpdates is left to the poll loop.
    ``guarded`` is the adapter's: ``before_call``, then the retry policy."""

    def __init__(self, guarded: Guarded) -> None:
        self.guarded = guarded

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        _pin_response_type(method.__returning__)
        if method.__api_method__ == "getUpdates":
            return await make_request(bot, method)
        return await self.guarded(lambda: make_request(bot, method), method.__api_method__)


#: ``Response[T]`` of every result type asked for so far, held on to
_RESPONSE_TYPES: dict[Any, Any] = {}


def _pin_response_type(returning: Any) -> None:
    """aiogram reads every answer through ``Response[T]``; pydantic keeps such a
    class only while something else holds it (a weak cache), so after each garbage
    collection the next call builds it again, a few milliseconds per send. Holding
    the few types a bot uses makes every later call find it."""
    if returning not in _RESPONSE_TYPES:
        _RESPONSE_TYPES[returning] = Response[returning]


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
        inline_keyboard=[
            [InlineKeyboardButton(text=b.text, callback_data=b.data, url=b.url) for b in row]
            for row in rows
        ]
    )


class AiogramAdapter(TelegramAdapter):
    def __init__(self, config: TelegramConfig, web: WebServer | None = None) -> None:
        super().__init__(config, web)
        self._bot: Bot | None = None

    @property
    def bot(self) -> Bot:
        """The aiogram Bot, created on first use (also before start, for one-off calls)."""
        if self._bot is None:
            session = AiohttpSession(api=TelegramAPIServer.from_base(self.config.api_base))
            session.middleware(RetryMiddleware(self.guarded))
            self._bot = Bot(self.config.token or "", session=session)
        return self._bot

    def classify(self, exc: BaseException) -> DeliveryError | TransientError | None:
        return classify(exc)

    async def _open(self) -> None:
        self.bot  # noqa: B018 (creates the session)

    async def _close(self) -> None:
        if self._bot is not None:
            await self._bot.session.close()
            self._bot = None

    async def _fetch_updates(self, offset: int | None, timeout: int, limit: int = 100) -> list[Any]:
        method = RawGetUpdates(
            offset=offset, timeout=timeout, limit=limit, allowed_updates=list(ALLOWED_UPDATES)
        )
        return await self.bot(method, request_timeout=int(timeout + POLL_GRACE))

    async def _set_webhook(self, url: str, secret: str) -> None:
        await self.bot.set_webhook(url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES))

    async def _delete_webhook(self) -> None:
        await self.bot.delete_webhook(drop_pending_updates=False)

    # -- the Adapter contract --------------------------------------------------
    async def me(self) -> UserRef:
        return user_of(await self.bot.get_me())

    async def send(self, message: OutgoingMessage) -> SentMessage:
        reply = (
            ReplyParameters(message_id=int(message.reply_to), allow_sending_without_reply=True)
            if message.reply_to
            else None
        )
        sent = await self.bot.send_message(
            chat_id=int(message.chat.id),
            text=message.text,
            reply_markup=keyboard(message.buttons),
            reply_parameters=reply,
            disable_notification=message.silent or None,
            link_preview_options=NO_PREVIEW if message.disable_preview else None,
        )
        return SentMessage(message.chat, str(sent.message_id))

    async def send_document(self, document: OutgoingDocument) -> SentMessage:
        sent = await self.bot.send_document(
            chat_id=int(document.chat.id),
            document=BufferedInputFile(document.content, filename=document.filename),
            caption=document.caption,
        )
        return SentMessage(document.chat, str(sent.message_id))

    async def edit(self, chat: ChatRef, message_id: str, message: OutgoingMessage) -> None:
        await self.bot.edit_message_text(
            text=message.text,
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
            MUTED,
            use_independent_chat_permissions=True,
            until_date=until,
        )

    async def unrestrict(self, chat: ChatRef, user: UserRef) -> None:
        await self.bot.restrict_chat_member(
            int(chat.id), int(user.id), UNMUTED, use_independent_chat_permissions=True
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
