"""The WeCom adapter: customers through kf and customer contact, staff through the app.

What it can do is what WeCom's API allows: text and click-menus to a customer
inside the kf window, the one welcome message after an add, text to staff.
It cannot post to customer groups, edit or delete messages, or moderate, so
those capabilities are absent and the core refuses such commands itself.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.adapter import MassLimit, UpdateSink
from bot.adapters.wecom import endpoints as ep
from bot.adapters.wecom.api import Secrets, WeComApi
from bot.adapters.wecom.callback import CallbackEndpoint
from bot.adapters.wecom.config import WeComConfig, clock_time
from bot.adapters.wecom.convert import (
    PLATFORM,
    dm_of,
    events_of,
    key_of,
    staff_chat,
    staff_of,
)
from bot.adapters.wecom.crypto import CallbackCrypto
from bot.adapters.wecom.inbound import ContactAdded, notice_of
from bot.adapters.wecom.kf import CursorStore, KfPuller
from bot.adapters.wecom.limits import CAPABILITIES, LIMITS
from bot.adapters.wecom.mass import (
    FollowUsers,
    MassTask,
    mass_outcomes,
    send_mass,
    task_json,
    task_of,
)
from bot.errors import ConfigError, DeliveryError
from bot.events import (
    ChatRef,
    Event,
    OutgoingDocument,
    OutgoingMessage,
    SentMessage,
    UserRef,
)
from bot.outages import StoreUnavailable
from bot.web import WebServer
from storage.windows import AdapterStateStore

if TYPE_CHECKING:
    from bot.config.model import WarmlineConfig
    from storage.database import Database

if TYPE_CHECKING:
    from bot.intake import DurableIntake

log = logging.getLogger("warmline.wecom")

#: WeCom accepts a welcome message this long after the add event (we keep a margin)
WELCOME_WINDOW = 18.0
LINK_KEY = "wecom:link:"
KF_KEY = "wecom:kf:"
MASS_KEY = "wecom:mass:"
TAG_GROUP = "Warmline"


@dataclass(slots=True)
class _Welcome:
    code: str
    until: float


class WeComAdapter:
    platform = PLATFORM
    capabilities = CAPABILITIES
    limits = LIMITS

    def __init__(
        self,
        config: WeComConfig,
        web: WebServer,
        *,
        admins: list[str] | None = None,
        api: WeComApi | None = None,
    ) -> None:
        self.config = config
        #: staff userids: their conversation with the bot is the app, not kf
        self.admins = frozenset(admins or ())
        self.state: CursorStore = _Unset()
        self.follow = FollowUsers(self._state_view())
        self.api = api or WeComApi(
            api_base=config.api_base,
            corp_id=config.corp_id,
            secrets=Secrets(config.secret, config.contact_secret, config.kf_secret),
        )
        crypto = CallbackCrypto(config.token, config.encoding_aes_key, config.corp_id)
        self.endpoint = CallbackEndpoint(crypto, self.receive, self._on_kf)
        self.endpoint.mount(web, config.callback_path)
        self.puller = KfPuller(
            self.api,
            config.open_kfid,
            self._state_view(),
            self._store_pulled,
            interval=config.kf_pull_interval.total_seconds() or 30.0,
        )
        #: the core commits the update's database work here before each platform call
        self.before_call: Callable[[], Awaitable[None]] | None = None
        self._sink: UpdateSink | None = None
        self._intake: DurableIntake | None = None
        self._welcomes: dict[str, _Welcome] = {}
        self._tag_ids: dict[str, str] = {}

    def use_database(self, database: Database) -> None:
        """The kf cursor, follow-users, links and mass tasks are shared by every worker
        (message windows are the core's: it opens and uses them, see bot.windows)."""
        self.state = AdapterStateStore(database)

    def _state_view(self) -> CursorStore:
        return _Delegate(self)

    def dm(self, user: UserRef) -> ChatRef:
        """A customer's conversation is the kf one, named by their external_userid;
        a staff member's (an admin's) is the app."""
        return staff_chat(user.id) if user.id in self.admins else dm_of(user.id)

    def buttons_in(self, chat: ChatRef) -> bool:
        """Click menus exist in kf only; the app shows staff plain text."""
        return chat.is_private and staff_of(chat) is None

    async def deep_link(self, payload: str) -> str | None:
        """A contact way's QR code whose adds carry ``payload`` as their state
        (made once per payload, then reused); None without ``bot.wecom.sender``."""
        if not self.config.sender or len(payload) > 30:
            return None
        known = await self.state.load(LINK_KEY + payload)
        if known:
            return known
        _config_id, qr = await ep.add_contact_way(
            self.api, state=payload, users=[self.config.sender]
        )
        await self.state.save(LINK_KEY + payload, qr)
        return qr

    # -- receiving -------------------------------------------------------------
    def use_intake(self, intake: DurableIntake) -> None:
        self._intake = intake

    def key_of(self, raw: dict[str, Any]) -> str:
        return key_of(raw)

    def events_of(self, raw: dict[str, Any]) -> tuple[Event, ...]:
        return events_of(raw, self._remember_welcome)

    def _remember_welcome(self, customer: str, code: str, at: datetime) -> None:
        age = max(0.0, time.time() - at.timestamp())
        if age < WELCOME_WINDOW:
            self._welcomes[customer] = _Welcome(code, time.monotonic() + WELCOME_WINDOW - age)

    def _on_kf(self, notice: Any) -> None:
        self.puller.poke(notice)

    async def receive(self, raw: dict[str, Any]) -> None:
        """One decrypted callback; returning means it is stored (or handled)."""
        if self._sink is None:
            raise StoreUnavailable("not receiving")
        notice = notice_of(raw.get("fields") or {})
        if isinstance(notice, ContactAdded):  # before it is stored: the sender to them
            await self.follow.remember(notice.external_userid, notice.staff)
        if self._intake is not None:
            await self._intake.accept([raw])
            return
        for event in self.events_of(raw):
            await self._sink(event)

    async def _store_pulled(self, raws: list[dict[str, Any]]) -> None:
        if self._intake is not None:
            await self._intake.accept(raws)
            return
        assert self._sink is not None
        for raw in raws:
            for event in self.events_of(raw):
                await self._sink(event)

    # -- lifecycle -------------------------------------------------------------
    async def start(self, sink: UpdateSink) -> None:
        self._sink = sink
        self.endpoint.accepting = True
        self.puller.start()
        log.info("WeCom adapter receiving at %s", self.config.callback_path)

    async def stop(self) -> None:
        self.endpoint.accepting = False
        await self.puller.stop()
        self._sink = None

    async def close(self) -> None:
        await self.api.close()

    async def me(self) -> UserRef:
        return UserRef(
            PLATFORM, f"app:{self.config.agent_id}", display_name="WeCom app", is_bot=True
        )

    # -- sending ---------------------------------------------------------------
    async def send(self, message: OutgoingMessage) -> SentMessage:
        if self.before_call is not None:  # what the reply tells (a code, a state) is stored
            await self.before_call()
        chat = message.chat
        staff = staff_of(chat)
        if staff is not None:
            await ep.staff_message(
                self.api, agent_id=self.config.agent_id, touser=staff, text=message.text
            )
            return SentMessage(chat, f"app:{time.time_ns()}")
        if not chat.is_private:
            raise DeliveryError("WeCom's API cannot post to customer groups")
        welcome = self._welcomes.pop(chat.id, None)
        if welcome is not None and welcome.until > time.monotonic() and not message.buttons:
            await ep.send_welcome(self.api, welcome.code, _with_links(message))
            return SentMessage(chat, f"welcome:{welcome.code}", {"via": "welcome"})
        return await self._kf_send(chat, message)

    def windowed(self, chat: ChatRef) -> bool:
        """kf conversations need the window; staff in the app do not, nor the one
        welcome message a fresh add allows."""
        if not chat.is_private or staff_of(chat) is not None:
            return False
        welcome = self._welcomes.get(chat.id)
        return welcome is None or welcome.until <= time.monotonic()

    def opens_window(self, event: Event) -> bool:
        """Only a customer's kf message opens the kf window (an add does not)."""
        return bool(event.update_key and event.update_key.startswith(KF_KEY))

    async def _kf_send(self, chat: ChatRef, message: OutgoingMessage) -> SentMessage:
        items = [(b.data, b.text) for row in message.buttons for b in row if b.data]
        if items:
            msgid = await ep.kf_send_menu(
                self.api,
                touser=chat.id,
                open_kfid=self.config.open_kfid,
                head=message.text,
                items=items,
                tail=_links(message),
            )
        else:
            msgid = await ep.kf_send_text(
                self.api, touser=chat.id, open_kfid=self.config.open_kfid, text=_with_links(message)
            )
        return SentMessage(chat, msgid, {"via": "kf"})

    async def mirror_tags(self, user: UserRef, added: list[str], removed: list[str]) -> None:
        """Warmline's tags as corp tags on the customer, marked by their follow-user."""
        if not self.config.sync_tags or staff_of(self.dm(user)) is not None:
            return
        staff = await self.follow.of(user.id) or self.config.sender
        if not staff:
            return
        ids = await self._corp_tags([*added, *removed])
        await ep.mark_tag(
            self.api,
            userid=staff,
            external_userid=user.id,
            add=[ids[t] for t in added if t in ids],
            remove=[ids[t] for t in removed if t in ids],
        )

    async def _corp_tags(self, names: list[str]) -> dict[str, str]:
        """Corp tag ids by name, made in the ``Warmline`` group when missing."""
        missing = [n for n in names if n not in self._tag_ids]
        if missing:
            self._tag_ids.update(await ep.corp_tags(self.api))
            missing = [n for n in names if n not in self._tag_ids]
        if missing:
            self._tag_ids.update(
                await ep.add_corp_tags(self.api, group_name=TAG_GROUP, names=missing)
            )
        return self._tag_ids

    @property
    def mass_limit(self) -> MassLimit:
        limit = self.config.mass_send_limit
        return MassLimit(limit.count, limit.period)

    @property
    def push_batch_at(self) -> dt.time | None:
        """With ``batch_pushes``, pushes the kf window refuses go in a daily mass send."""
        return clock_time(self.config.batch_at) if self.config.batch_pushes else None

    async def mass_send(self, batch: str, chats: list[ChatRef], text: str) -> list[ChatRef]:
        """One task per sender for staff to confirm, made once per customer and
        ``batch``: a batch handed over in parts gets tasks for those not in one yet, and
        a repeat (a worker took the broadcast over) makes none. Each task is kept as
        soon as WeCom has made it, so a crash between two calls loses none of them."""
        tasks = await self._mass_tasks(batch)
        done = {c for task in tasks for c in task.recipients}

        async def keep(task: MassTask) -> None:
            tasks.append(task)
            await self.state.save(MASS_KEY + batch, json.dumps([task_json(t) for t in tasks]))

        _, orphans = await send_mass(
            self.api,
            self.follow,
            [c.id for c in chats if c.id not in done],
            text,
            sender=self.config.sender,
            made=keep,
        )
        refused = set(orphans) | {c for t in tasks for c in t.refused}
        return [c for c in chats if c.id in refused]

    async def mass_outcomes(self, batch: str) -> dict[str, str]:
        outcomes: dict[str, str] = {}
        for task in await self._mass_tasks(batch):
            outcomes.update(await mass_outcomes(self.api, task))
        return outcomes

    async def _mass_tasks(self, batch: str) -> list[MassTask]:
        stored = await self.state.load(MASS_KEY + batch)
        return [task_of(item) for item in json.loads(stored)] if stored else []

    async def send_document(self, document: OutgoingDocument) -> SentMessage:
        raise DeliveryError("the WeCom adapter does not send files")

    async def answer_button(self, callback_id: str, text: str | None = None) -> None:
        """kf has no button acknowledgement: a click is an ordinary message."""


def _links(message: OutgoingMessage) -> str:
    return "\n".join(f"{b.text}: {b.url}" for row in message.buttons for b in row if b.url)


def _with_links(message: OutgoingMessage) -> str:
    links = _links(message)
    return f"{message.text}\n{links}" if links else message.text


class _Unset:
    """State before :meth:`WeComAdapter.use_database`: using it is a wiring error."""

    async def load(self, name: str) -> str:
        raise ConfigError("the WeCom adapter needs the database (App.use_database)")

    async def save(self, name: str, value: str) -> None:
        raise ConfigError("the WeCom adapter needs the database (App.use_database)")


class _Delegate:
    """The adapter's current state store, looked up at each use."""

    def __init__(self, adapter: WeComAdapter) -> None:
        self._adapter = adapter

    async def load(self, name: str) -> str:
        return await self._adapter.state.load(name)

    async def save(self, name: str, value: str) -> None:
        await self._adapter.state.save(name, value)


def build(config: WarmlineConfig, web: WebServer | None = None) -> WeComAdapter:
    """``bot.platform: wecom`` (registered in :mod:`bot.platforms`)."""
    wecom = config.bot.platform_section("wecom", WeComConfig)
    if web is None or wecom is None:
        raise ConfigError("bot.wecom: the WeCom adapter needs its section and the HTTP server")
    return WeComAdapter(wecom, web, admins=config.bot.admins)
