"""The WeCom callback URL and kf puller on the real HTTP server, fed by the fake
platform: signatures refused, retries deduplicated by content, kf pulled once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from fake_wecom_api import OPEN_KFID, SECRET, FakeWeCom
from fault_support import free_port
from wecom_envelope import AES_KEY, CORP_ID, TOKEN, seal

from bot.adapters.wecom.api import Secrets, WeComApi
from bot.adapters.wecom.callback import CallbackEndpoint
from bot.adapters.wecom.convert import events_of, key_of
from bot.adapters.wecom.crypto import CallbackCrypto
from bot.adapters.wecom.inbound import KfNotice
from bot.adapters.wecom.kf import KfPuller
from bot.events import ButtonPressed, IncomingMessage, MemberLeft
from bot.web import WebServer


class Cursors:
    """The cursor store contract, kept in a dict (the shared one is in storage)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def load(self, name: str) -> str:
        return self.values.get(name, "")

    async def save(self, name: str, value: str) -> None:
        self.values[name] = value


class Bench:
    def __init__(self, fake: FakeWeCom, port: int) -> None:
        self.fake = fake
        self.stored: list[dict[str, Any]] = []
        self.kf: list[KfNotice] = []
        self.endpoint = CallbackEndpoint(
            CallbackCrypto(TOKEN, AES_KEY, CORP_ID), self.receive, self.kf.append
        )
        self.server = WebServer(f"127.0.0.1:{port}")
        self.endpoint.mount(self.server, "/wecom/callback")
        self.url = f"http://127.0.0.1:{port}/wecom/callback"

    async def receive(self, raw: dict[str, Any]) -> None:
        self.stored.append(raw)


@pytest.fixture
async def bench() -> AsyncIterator[Bench]:
    fake = FakeWeCom()
    await fake.start()
    here = Bench(fake, free_port())
    await here.server.start()
    here.endpoint.accepting = True
    fake.callback_url = here.url
    yield here
    await here.server.stop()
    await fake.stop()


async def test_events_are_stored_and_become_member_events(bench: Bench) -> None:
    fake = bench.fake
    fake.contact_ways["cfg1"] = {"state": "src-xiaohongshu", "user": ["zhang"]}
    await fake.add_customer("wmAlice", config_id="cfg1")
    await fake.staff_says("zhang", "/broadcast all 新茶到了")
    [added, staff] = bench.stored
    welcomes: list[tuple[str, str]] = []
    [start] = events_of(added, lambda who, code, at: welcomes.append((who, code)))
    assert isinstance(start, IncomingMessage) and start.command is not None
    assert (start.command.name, start.command.args) == ("start", "src-xiaohongshu")
    assert start.chat.id == "wmAlice" and start.user.id == "wmAlice"
    assert welcomes and welcomes[0][0] == "wmAlice"
    [command] = events_of(staff)
    assert isinstance(command, IncomingMessage) and command.chat.id == "staff:zhang"
    assert command.command is not None and command.command.args == "all 新茶到了"


async def test_wrong_signature_is_refused_and_nothing_is_stored(bench: Bench) -> None:
    status = await bench.fake.deliver(
        {"MsgType": "text", "Content": "hi", "MsgId": "1", "FromUserName": "x"},
        token="not-our-token",
    )
    assert status == 403
    status = await bench.fake.deliver(
        {"MsgType": "text", "Content": "hi", "MsgId": "2", "FromUserName": "x"},
        corp_id="ww_another_corp",
    )
    assert status == 403
    assert bench.stored == []
    async with aiohttp.ClientSession() as http:
        async with http.post(bench.url, data=b"<xml/>") as reply:
            assert reply.status == 400  # unsigned


async def test_url_verification(bench: Bench) -> None:
    cipher, signature, timestamp, nonce = seal("echo-123")
    query = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce, "echostr": cipher}
    async with aiohttp.ClientSession() as http:
        async with http.get(bench.url, params=query) as reply:
            assert (reply.status, await reply.text()) == (200, "echo-123")
        async with http.get(bench.url, params={**query, "nonce": "x"}) as reply:
            assert reply.status == 403


async def test_a_retried_callback_has_the_same_key(bench: Bench) -> None:
    fields = {"MsgType": "text", "Content": "/stats", "MsgId": "77", "FromUserName": "zhang"}
    await bench.fake.deliver(fields)
    await bench.fake.deliver(fields)  # WeCom's retry: a new envelope, the same content
    first, again = bench.stored
    assert key_of(first) == key_of(again) == "wecom:msg:77"


async def test_kf_puller_stores_each_message_once_and_keeps_its_cursor(bench: Bench) -> None:
    fake = bench.fake
    api = WeComApi(api_base=fake.base_url, corp_id=CORP_ID, secrets=Secrets(SECRET))
    cursors = Cursors()
    stored: list[dict[str, Any]] = []

    async def store(raws: list[dict[str, Any]]) -> None:
        stored.extend(raws)

    puller = KfPuller(api, OPEN_KFID, cursors, store)
    try:
        await fake.customer_says("wmAlice", "满多少包邮")
        await fake.customer_says("wmAlice", "", menu_id="more")
        [notice, _] = bench.kf
        puller.poke(notice)
        assert await puller.pull() == 2
        assert await puller.pull() == 0  # the cursor was kept
        await fake.customer_says("wmBob", "hello")
        assert await KfPuller(api, OPEN_KFID, cursors, store).pull() == 1  # another worker
    finally:
        await api.close()
    question, click, hello = (events_of(raw)[0] for raw in stored)
    assert isinstance(question, IncomingMessage) and question.text == "满多少包邮"
    assert isinstance(click, ButtonPressed) and click.data == "more"
    assert isinstance(hello, IncomingMessage) and hello.user.id == "wmBob"
    assert len({key_of(raw) for raw in stored}) == 3


def test_staff_and_system_kf_messages_are_not_member_activity() -> None:
    raw = {
        "wecom": "kf",
        "msg": {"msgid": "m1", "external_userid": "wmA", "origin": 5, "msgtype": "text"},
    }
    assert events_of(raw) == ()
    left = {
        "wecom": "callback",
        "fields": {
            "MsgType": "event",
            "Event": "change_external_contact",
            "ChangeType": "del_follow_user",
            "UserID": "zhang",
            "ExternalUserID": "wmA",
        },
    }
    [gone] = events_of(left)
    assert isinstance(gone, MemberLeft) and gone.user.id == "wmA"
    assert events_of({"wecom": "kf", "msg": "garbage"}) == ()
