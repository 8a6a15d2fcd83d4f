"""The WeCom adapter against the fake platform: welcome, kf window, staff chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fake_wecom_api import AGENT_ID, OPEN_KFID, SECRET, FakeWeCom, wait_until
from fault_support import free_port
from wecom_envelope import AES_KEY, CORP_ID, TOKEN

from bot.adapter import opens_window
from bot.adapters.wecom.adapter import WeComAdapter
from bot.adapters.wecom.config import WeComConfig
from bot.adapters.wecom.convert import dm_of
from bot.clock import SystemClock
from bot.errors import DeliveryError, WindowClosed
from bot.events import Button, Event, IncomingMessage, OutgoingMessage
from bot.outbound import Outbound
from bot.schema import with_feature_tables
from bot.signals import Signals
from bot.web import WebServer
from storage.database import Database
from storage.windows import WindowLedger


class Rig:
    """The adapter, and the core's outbound door around it keeping the kf window."""

    def __init__(self, fake: FakeWeCom, adapter: WeComAdapter, db: Database) -> None:
        self.fake = fake
        self.adapter = adapter
        self.events: list[Event] = []
        self.ledger = WindowLedger(db)
        self.out = Outbound(adapter, Signals())
        self.out.windows, self.out.clock = self.ledger, SystemClock()

    async def sink(self, event: Event) -> None:
        """As the core's OpenWindows middleware: a kf message opens the window."""
        self.events.append(event)
        if opens_window(self.adapter, event):
            assert event.update_key is not None
            await self.ledger.opened(event.platform, event.chat.id, event.at, event.update_key)


def wecom_config(api_base: str) -> WeComConfig:
    return WeComConfig(
        corp_id=CORP_ID,
        secret=SECRET,
        agent_id=AGENT_ID,
        token=TOKEN,
        encoding_aes_key=AES_KEY,
        open_kfid=OPEN_KFID,
        api_base=api_base,
        kf_pull_interval="1s",
    )


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    fake = FakeWeCom()
    await fake.start()
    db = with_feature_tables(Database(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"))
    await db.migrate()
    port = free_port()
    web = WebServer(f"127.0.0.1:{port}")
    adapter = WeComAdapter(wecom_config(fake.base_url), web)
    adapter.use_database(db)
    here = Rig(fake, adapter, db)
    await web.start()
    await adapter.start(here.sink)
    fake.callback_url = f"http://127.0.0.1:{port}/wecom/callback"
    try:
        yield here
    finally:
        await adapter.stop()
        await adapter.close()
        await web.stop()
        await db.close()
        await fake.stop()


async def test_an_add_is_greeted_once_by_welcome_message(rig: Rig) -> None:
    fake = rig.fake
    fake.contact_ways["cfg1"] = {"state": "src-xiaohongshu", "user": ["zhang"]}
    await fake.add_customer("wmAlice", config_id="cfg1")
    [start] = rig.events
    assert isinstance(start, IncomingMessage) and start.command is not None
    assert start.command.args == "src-xiaohongshu"
    sent = await rig.out.send(OutgoingMessage(start.chat, "欢迎来到山茶"))
    assert sent.extra["via"] == "welcome"
    assert [w["text"]["content"] for w in fake.welcomes] == ["欢迎来到山茶"]
    with pytest.raises(WindowClosed):  # no kf window yet: nothing is attempted
        await rig.out.send(OutgoingMessage(start.chat, "second message"))
    assert fake.calls_to("kf/send_msg") == []


async def test_kf_replies_stay_inside_the_window(rig: Rig) -> None:
    fake = rig.fake
    await fake.customer_says("wmBob", "满多少包邮")
    await wait_until(lambda: rig.events)
    [question] = rig.events
    assert isinstance(question, IncomingMessage) and question.text == "满多少包邮"
    menu = OutgoingMessage(
        question.chat,
        "Did this help?",
        buttons=((Button("Yes", data="y"), Button("No", data="n")),),
    )
    await rig.out.send(menu)
    for n in range(4):
        await rig.out.send(OutgoingMessage(question.chat, f"reply {n}"))
    with pytest.raises(WindowClosed):
        await rig.out.send(OutgoingMessage(question.chat, "sixth"))
    sent = fake.calls_to("kf/send_msg")
    assert len(sent) == 5 and sent[0].payload["msgtype"] == "msgmenu"
    assert [c.errcode for c in fake.calls if c.path == "kf/send_msg"] == [0] * 5  # none refused

    await fake.customer_says("wmBob", "", menu_id="y")  # a click reopens the window
    await wait_until(lambda: len(rig.events) == 2)
    await rig.out.send(OutgoingMessage(question.chat, "glad it helped"))


async def test_an_old_customer_message_opens_no_window(rig: Rig) -> None:
    fake = rig.fake
    await fake.customer_says("wmOld", "hi", at=fake.now() - 49 * 3600)
    await wait_until(lambda: rig.events)
    with pytest.raises(WindowClosed):
        await rig.out.send(OutgoingMessage(rig.events[0].chat, "too late"))
    assert fake.calls_to("kf/send_msg") == []


async def test_staff_commands_are_answered_through_the_app(rig: Rig) -> None:
    await rig.fake.staff_says("zhang", "/stats")
    [command] = rig.events
    assert isinstance(command, IncomingMessage) and command.command is not None
    await rig.out.send(OutgoingMessage(command.chat, "12 members"))
    assert rig.fake.staff_messages == [
        {
            "touser": "zhang",
            "msgtype": "text",
            "agentid": AGENT_ID,
            "text": {"content": "12 members"},
        }
    ]


async def test_a_broadcast_is_one_mass_task_per_follow_user(rig: Rig) -> None:
    fake = rig.fake
    fake.contact_ways["z"] = {"state": "src-card", "user": ["zhang"]}
    fake.contact_ways["l"] = {"state": "src-card", "user": ["li"]}
    for customer, way in (("wmA", "z"), ("wmB", "z"), ("wmC", "l")):
        await fake.add_customer(customer, config_id=way)
    fake.mass_received["wmB"].append(fake.now() - 3600)  # already had today's mass message
    chats = [dm_of(c) for c in ("wmA", "wmB", "wmC", "wmUnknown")]
    left_out = await rig.adapter.mass_send("c1", chats, "新茶到了")
    assert left_out == [dm_of("wmUnknown")]
    tasks = fake.mass_tasks.values()
    assert sorted((t.sender, tuple(t.customers)) for t in tasks) == [
        ("li", ("wmC",)),
        ("zhang", ("wmA", "wmB")),
    ]
    # once per customer and batch (wmUnknown is still nobody's contact)
    assert await rig.adapter.mass_send("c1", chats, "新茶到了") == [dm_of("wmUnknown")]
    assert len(fake.mass_tasks) == 2
    assert set((await rig.adapter.mass_outcomes("c1")).values()) == {"waiting"}
    for task in list(tasks):
        fake.confirm_mass(task.msgid)
    assert await rig.adapter.mass_outcomes("c1") == {
        "wmA": "sent",
        "wmB": "platform_cap",
        "wmC": "sent",
    }


async def test_a_batch_handed_over_in_parts_has_each_customer_in_one_task(rig: Rig) -> None:
    """A broadcast's audience comes in pages; a task WeCom refused halfway leaves the
    ones made before it kept, and the retry makes only what is missing."""
    fake = rig.fake
    for customer, staff in (("wmA", "zhang"), ("wmB", "zhang"), ("wmC", "li"), ("wmD", "zhang")):
        await fake.add_customer(customer, staff=staff)
    await rig.adapter.mass_send("c2", [dm_of("wmA"), dm_of("wmB")], "新茶到了")
    fake.fail_next("externalcontact/add_msg_template", 41048, after=1)  # li's made, zhang's not
    part = [dm_of(c) for c in ("wmB", "wmC", "wmD")]
    with pytest.raises(DeliveryError):
        await rig.adapter.mass_send("c2", part, "新茶到了")
    assert await rig.adapter.mass_send("c2", part, "新茶到了") == []
    made = sorted((t.sender, tuple(t.customers)) for t in fake.mass_tasks.values())
    assert made == [("li", ("wmC",)), ("zhang", ("wmA", "wmB")), ("zhang", ("wmD",))]
    for task in list(fake.mass_tasks.values()):
        fake.confirm_mass(task.msgid)
    assert await rig.adapter.mass_outcomes("c2") == dict.fromkeys(
        ("wmA", "wmB", "wmC", "wmD"), "sent"
    )
