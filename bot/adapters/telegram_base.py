"""What both Telegram adapters share: identity, parsing, polling, webhook.

The subclasses (aiogram, python-telegram-bot) only make the library calls;
receiving updates, skipping malformed ones and the lifecycle live here once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from bot.adapter import Capabilities, Limits, Pacing, UpdateSink
from bot.adapters.retry import OnRetry, RetryPolicy
from bot.adapters.telegram_convert import PLATFORM, UpdateConverter
from bot.adapters.telegram_platform import (
    TELEGRAM_LIBRARIES,
    TelegramConfig,
    bot_id_of_token,
    telegram_config,
)
from bot.adapters.webhook import WebhookEndpoint
from bot.config.model import WarmlineConfig
from bot.errors import ConfigError, DeliveryError, RateLimited, TransientError
from bot.events import ChatKind, ChatRef, Event, UserRef
from bot.extras import require
from bot.outages import StoreUnavailable
from bot.web import WebServer

if TYPE_CHECKING:
    from bot.intake import DurableIntake

log = logging.getLogger("warmline.telegram")

T = TypeVar("T")

#: awaited before each outgoing platform call (not getUpdates)
BeforeCall = Callable[[], Awaitable[None]]
#: one outgoing call through before_call and the retry policy
Guarded = Callable[[Callable[[], Awaitable[Any]], str], Awaitable[Any]]

#: extra seconds the HTTP client waits beyond the long-poll timeout
POLL_GRACE = 10.0
#: the longest wait between two tries to store polled updates while the database is down
STORE_RETRY_MAX = 5.0


def bot_id_of(token: str | None) -> str:
    """The numeric bot id that starts every token; checked before any network call."""
    if not token:
        raise ConfigError(
            "bot.telegram.token: missing. Set the TELEGRAM_BOT_TOKEN environment variable "
            "(or bot.telegram.token) to the token @BotFather gave you."
        )
    try:
        return bot_id_of_token(token)
    except ValueError as exc:
        raise ConfigError(f"bot.telegram.token: {exc}") from None


#: links to chats and bots (Telegram marks them as "url" entities too)
LINK_HOSTS = ("t.me", "telegram.me", "telegram.dog")
#: what the Bot API lets a bot do
CAPABILITIES = Capabilities(
    edit=True,
    delete=True,
    buttons=True,
    documents=True,
    moderate=True,
    approve_joins=True,
    dm_first=False,  # a bot may write only to members who started it
)
#: callback data is 64 bytes; a restriction longer than 366 days is forever;
#: about 30 messages a second overall, 1 per chat, 20 a minute per group
LIMITS = Limits(
    button_data_bytes=64,
    max_restriction=timedelta(days=366),
    pacing=Pacing(per_second=30.0, per_chat_per_second=1.0, per_group_per_minute=20),
    link_hosts=LINK_HOSTS,
)


class TelegramAdapter(ABC):
    platform = PLATFORM
    capabilities = CAPABILITIES
    limits = LIMITS

    def __init__(self, config: TelegramConfig, web: WebServer | None) -> None:
        self.config = config
        self.converter = UpdateConverter(bot_id_of(config.token))
        self.retry = RetryPolicy(max_retries=config.max_retries)
        self._web = web
        self._endpoint: WebhookEndpoint | None = None
        if config.mode == "webhook":
            if not config.webhook.secret_token:
                raise ConfigError(
                    "bot.telegram.webhook.secret_token: required in webhook mode, so that "
                    "only Telegram can post updates (any 1-256 of A-Z a-z 0-9 _ -)"
                )
            if web is None:
                raise ConfigError("bot.telegram.mode: webhook needs the bot's web server")
            self._endpoint = WebhookEndpoint(config.webhook.secret_token, self.receive)
            self._endpoint.mount(web, config.webhook.path)
        self._sink: UpdateSink | None = None
        self._poller: asyncio.Task[None] | None = None
        self._offset: int | None = None
        self._asked_offset: int | None = None
        self._intake: DurableIntake | None = None
        #: set by the App: commits the calling update's unit of work before the call,
        #: so nothing is sent on the strength of writes that are not committed
        self.before_call: BeforeCall | None = None
        #: set by the App: told each transient retry (metrics)
        self.on_retry: OnRetry | None = None

    @property
    def bot_id(self) -> str:
        return self.converter.bot_id

    # -- library calls the subclasses make -------------------------------------
    @abstractmethod
    async def _open(self) -> None:
        """Create the library's bot and HTTP session."""

    @abstractmethod
    async def _close(self) -> None:
        """Release the HTTP session."""

    @abstractmethod
    async def _fetch_updates(self, offset: int | None, timeout: int, limit: int = 100) -> list[Any]:
        """getUpdates, returning raw JSON dicts (one bad update must not spoil the batch)."""

    @abstractmethod
    async def _set_webhook(self, url: str, secret: str) -> None: ...

    @abstractmethod
    async def _delete_webhook(self) -> None: ...

    @abstractmethod
    def classify(self, exc: BaseException) -> DeliveryError | TransientError | None:
        """Library exception → neutral error (None: not a Telegram failure)."""

    @abstractmethod
    async def me(self) -> UserRef: ...

    # -- receiving -------------------------------------------------------------
    def parse(self, raw: dict[str, Any]) -> Event | None:
        events = self.events_of(raw)
        return events[0] if events else None

    def events_of(self, raw: dict[str, Any]) -> tuple[Event, ...]:
        """Every event in ``raw``; a malformed update is logged and yields none."""
        try:
            return self.converter.convert(raw)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            log.warning("malformed update %s skipped (%s: %s)", update_id, type(exc).__name__, exc)
            return ()

    async def call_starts(self) -> None:
        if self.before_call is not None:
            await self.before_call()

    def retried(self, cause: str) -> None:
        if self.on_retry is not None:
            self.on_retry(cause)

    async def guarded(self, call: Callable[[], Awaitable[T]], what: str) -> T:
        """One outgoing call: ``before_call`` first, then the retry policy."""
        await self.call_starts()
        return await self.retry.run(call, self.classify, what, self.retried)

    # -- addressing --------------------------------------------------------------
    def dm(self, user: UserRef) -> ChatRef:
        """A private chat's id is the user's id on Telegram."""
        return ChatRef(PLATFORM, user.id, ChatKind.PRIVATE)

    async def deep_link(self, payload: str) -> str | None:
        """``t.me/<bot>?start=<payload>`` (the payload: up to 64 of A-Z a-z 0-9 _ -)."""
        username = self.converter.username or (await self.me()).username
        return f"https://t.me/{username}?start={payload}" if username else None

    def secret_seed(self) -> bytes | None:
        return self.config.token.encode() if self.config.token else None

    def key_of(self, raw: dict[str, Any]) -> str:
        """The update's key in the inbox and the dedupe ledger (as events carry it)."""
        return self.converter.key_of(raw)

    def use_intake(self, intake: DurableIntake) -> None:
        """Acknowledge updates only once ``intake`` stored them (see bot.intake)."""
        self._intake = intake

    async def receive(self, raw: dict[str, Any]) -> None:
        """One update from the webhook. With an intake, returning means it is stored
        (raises Overloaded or StoreUnavailable otherwise: the platform redelivers)."""
        if self._sink is None:
            log.warning("update %s arrived while stopped; not handled", raw.get("update_id"))
            if self._intake is not None:
                raise StoreUnavailable("not receiving")  # the platform redelivers it
            return
        if self._intake is not None:
            if not isinstance(raw.get("update_id"), int):
                log.warning("update without an update_id skipped: %.200r", raw)
                return
            await self._intake.accept([raw])
            return
        for event in self.events_of(raw):
            await self._sink(event)

    # -- lifecycle -------------------------------------------------------------
    async def start(self, sink: UpdateSink) -> None:
        try:
            await self._open()
            me = await self.me()
        except BaseException as exc:
            await self._close()
            if isinstance(exc, DeliveryError):
                raise ConfigError(
                    f"bot.telegram.token: Telegram at {self.config.api_base} refused getMe "
                    f"({exc}); check the token from @BotFather and bot.telegram.api_base"
                ) from exc
            raise
        self.converter.username = me.username
        self._sink = sink
        if self._endpoint is not None:
            public_url = self.config.webhook.public_url
            if public_url:
                try:
                    await self._set_webhook(public_url, self.config.webhook.secret_token or "")
                except DeliveryError as exc:
                    await self._close()
                    raise ConfigError(
                        f"bot.telegram.webhook.public_url: setWebhook refused {public_url!r} ({exc})"
                    ) from exc
            self._endpoint.accepting = True
            log.info("@%s receives updates by webhook at %s", me.username, self.config.webhook.path)
        else:
            await self._delete_webhook()  # getUpdates is refused while a webhook is set
            self._poller = asyncio.create_task(self._poll(), name="telegram-polling")
            log.info("@%s receives updates by long polling", me.username)

    async def stop(self) -> None:
        """Stop receiving at once; the App then drains what is in flight."""
        if self._endpoint is not None:
            self._endpoint.accepting = False
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
            await self._confirm_offset()
        self._sink = None

    async def close(self) -> None:
        await self._close()

    async def _poll(self) -> None:
        timeout = max(1, int(self.config.poll_timeout.total_seconds()))  # 0 would spin
        failures = 0
        while True:
            limit = 100
            if self._intake is not None:  # ask only for what there is room for
                await self._intake.wait_for_room()
                limit = max(1, min(100, self._intake.room()))
            try:
                self._asked_offset = self._offset
                updates = await self._fetch_updates(self._offset, timeout, limit)
            except Exception as exc:
                failure = self.classify(exc)
                if isinstance(failure, RateLimited):
                    delay = failure.retry_after
                else:
                    delay = self.retry.backoff(failures)
                    failures += 1
                log.warning("getUpdates failed (%s); polling again in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            valid = []
            for raw in updates:
                if not isinstance(raw, dict) or not isinstance(raw.get("update_id"), int):
                    log.warning("update without an update_id skipped: %.200r", raw)
                    continue
                valid.append(raw)
            if self._intake is not None:
                await self._store(valid)
            for raw in valid:
                if self._intake is None:
                    try:
                        await self.receive(raw)
                    except Exception:  # the sink only queues; this is the last net
                        log.exception("update %s could not be queued", raw["update_id"])
                self._offset = max(self._offset or 0, raw["update_id"] + 1)

    async def _store(self, updates: list[dict[str, Any]]) -> None:
        """Put a polled batch in the inbox before the offset moves past it; while the
        database is down keep trying (the offset stays, so nothing is confirmed)."""
        from bot.intake import Overloaded

        assert self._intake is not None
        failures = 0
        while updates:
            try:
                await self._intake.accept(updates)
                return
            except Overloaded:  # the webhook filled it meanwhile: wait, keep the offset
                await self._intake.wait_for_room()
            except StoreUnavailable as exc:
                delay = min(STORE_RETRY_MAX, self.retry.backoff(failures))
                failures += 1
                log.warning(
                    "could not store polled updates (%s); trying again in %.1fs", exc, delay
                )
                await asyncio.sleep(delay)

    async def _confirm_offset(self) -> None:
        """Tell Telegram what we took, so a restart does not get it again."""
        if self._offset is None or self._offset == self._asked_offset:
            return
        try:
            await self._fetch_updates(self._offset, 0, limit=1)
        except Exception as exc:
            log.warning("could not confirm the last updates (%s); dedupe will catch repeats", exc)


def build(config: WarmlineConfig, web: WebServer | None = None) -> TelegramAdapter:
    """``bot.platform: telegram``, through ``bot.telegram.library``."""
    section = telegram_config(config)
    require(*TELEGRAM_LIBRARIES[section.library])
    if section.library == "aiogram":
        from bot.adapters.aiogram_adapter import AiogramAdapter

        return AiogramAdapter(section, web)
    from bot.adapters.ptb_adapter import PtbAdapter

    return PtbAdapter(section, web)
