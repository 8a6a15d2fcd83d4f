"""WeCom building blocks against the fake platform: crypto, tokens, the kf window,
mass sends and callback notices (the adapter itself is tested elsewhere)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from fake_wecom_api import AGENT_ID, OPEN_KFID, SECRET, FakeWeCom
from wecom_envelope import AES_KEY, CORP_ID, TOKEN, seal, to_xml

from bot.adapters.wecom import endpoints as ep
from bot.adapters.wecom.api import KfWindowClosed, Secrets, WeComApi, WeComError
from bot.adapters.wecom.crypto import CallbackCrypto, CallbackRejected, check_aes_key
from bot.adapters.wecom.inbound import ContactAdded, KfNotice, StaffText, notice_of
from bot.errors import RateLimited, TransientError


@pytest.fixture
async def api(fake: FakeWeCom) -> AsyncIterator[WeComApi]:
    client = WeComApi(api_base=fake.base_url, corp_id=CORP_ID, secrets=Secrets(SECRET))
    yield client
    await client.close()


def envelope(cipher: str) -> bytes:
    return f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{cipher}]]></Encrypt></xml>".encode()


def test_callback_crypto_opens_what_the_platform_seals() -> None:
    crypto = CallbackCrypto(TOKEN, AES_KEY, CORP_ID)
    fields = {"MsgType": "text", "Content": "满多少包邮", "MsgId": "42", "FromUserName": "zhang"}
    cipher, signature, timestamp, nonce = seal(to_xml(fields))
    opened = crypto.open(envelope(cipher), signature, timestamp, nonce)
    assert opened["Content"] == "满多少包邮" and opened["MsgId"] == "42"

    with pytest.raises(CallbackRejected):
        crypto.open(envelope(cipher), "0" * 40, timestamp, nonce)
    other_corp = seal(to_xml(fields), corp_id="ww_someone_else")
    with pytest.raises(CallbackRejected):
        crypto.open(envelope(other_corp[0]), *other_corp[1:])
    with pytest.raises(CallbackRejected):
        crypto.open(b"<xml><Encrypt>not base64!</Encrypt></xml>", signature, timestamp, nonce)


def test_url_verification_answers_the_decrypted_echostr() -> None:
    crypto = CallbackCrypto(TOKEN, AES_KEY, CORP_ID)
    cipher, signature, timestamp, nonce = seal("1234567890")
    assert crypto.verify_url(signature, timestamp, nonce, cipher) == "1234567890"
    with pytest.raises(CallbackRejected):
        crypto.verify_url(signature, timestamp, "othernonce", cipher)


@pytest.mark.parametrize(
    ("key", "problem"),
    [("short", "43 characters"), ("!" * 43, "not base64"), (AES_KEY, None)],
)
def test_aes_key_shape_is_checked(key: str, problem: str | None) -> None:
    found = check_aes_key(key)
    assert (found is None) if problem is None else (problem in (found or ""))


async def test_token_is_cached_and_renewed_once_when_expired(
    fake: FakeWeCom, api: WeComApi
) -> None:
    await ep.staff_message(api, agent_id=AGENT_ID, touser="zhang", text="one")
    await ep.staff_message(api, agent_id=AGENT_ID, touser="zhang", text="two")
    assert len(fake.calls_to("gettoken")) == 1

    fake.expire_tokens()
    await ep.staff_message(api, agent_id=AGENT_ID, touser="zhang", text="three")
    assert len(fake.calls_to("gettoken")) == 2
    assert [m["text"]["content"] for m in fake.staff_messages] == ["one", "two", "three"]
    assert [c.errcode for c in fake.calls if c.path == "message/send"] == [0, 0, 42001, 0]


async def test_errcodes_become_neutral_errors(fake: FakeWeCom, api: WeComApi) -> None:
    fake.fail_next("message/send", 45009)
    with pytest.raises(RateLimited):
        await ep.staff_message(api, agent_id=AGENT_ID, touser="zhang", text="x")
    with pytest.raises(WeComError) as bad_agent:
        await ep.staff_message(api, agent_id=1, touser="zhang", text="x")
    assert bad_agent.value.errcode == 40056


async def test_kf_window_is_48h_and_five_messages(fake: FakeWeCom, api: WeComApi) -> None:
    fake.callback_url = "http://127.0.0.1:9/unused"  # nobody listens: notices are not needed here
    fake.callback_timeout = 0.2
    await fake.customer_says("wmOld", "hi", at=fake.now() - 49 * 3600)
    with pytest.raises(KfWindowClosed):
        await ep.kf_send_text(api, touser="wmOld", open_kfid=OPEN_KFID, text="too late")

    await fake.customer_says("wmNew", "满多少包邮")
    for n in range(5):
        await ep.kf_send_text(api, touser="wmNew", open_kfid=OPEN_KFID, text=f"reply {n}")
    with pytest.raises(KfWindowClosed):
        await ep.kf_send_text(api, touser="wmNew", open_kfid=OPEN_KFID, text="sixth")

    batch = await ep.kf_sync(api, cursor="", token="", open_kfid=OPEN_KFID, limit=1)
    assert batch.has_more and batch.messages[0].external_userid == "wmOld"
    rest = await ep.kf_sync(api, cursor=batch.next_cursor, token="", open_kfid=OPEN_KFID)
    assert not rest.has_more and rest.messages[0].text == "满多少包邮"
    assert rest.messages[0].from_customer


async def test_mass_send_waits_for_staff_and_holds_the_daily_limit(
    fake: FakeWeCom, api: WeComApi
) -> None:
    fake.friends["wmA"].add("zhang")
    fake.friends["wmB"].add("zhang")
    first, _ = await ep.add_msg_template(api, sender="zhang", external_userids=["wmA"], text="one")
    assert await ep.groupmsg_send_result(api, msgid=first, userid="zhang") == {
        "wmA": ep.SendStatus.UNSENT
    }
    fake.confirm_mass(first)
    second, _ = await ep.add_msg_template(
        api, sender="zhang", external_userids=["wmA", "wmB", "wmStranger"], text="two"
    )
    fake.confirm_mass(second)
    assert await ep.groupmsg_send_result(api, msgid=second, userid="zhang") == {
        "wmA": ep.SendStatus.OVER_LIMIT,
        "wmB": ep.SendStatus.SENT,
        "wmStranger": ep.SendStatus.NOT_FRIEND,
    }


async def test_contact_way_tags_and_welcome(fake: FakeWeCom, api: WeComApi) -> None:
    config_id, qr = await ep.add_contact_way(api, state="src-xiaohongshu", users=["zhang"])
    assert qr.startswith("https://") and fake.contact_ways[config_id]["state"] == "src-xiaohongshu"

    tags = await ep.add_corp_tags(api, group_name="warmline", names=["vip"])
    assert await ep.corp_tags(api) == tags
    await ep.mark_tag(api, userid="zhang", external_userid="wmA", add=[tags["vip"]], remove=[])
    assert fake.marks[("zhang", "wmA")] == {tags["vip"]}

    fake.welcome_codes["wc1"] = (fake.now(), False)
    await ep.send_welcome(api, "wc1", "欢迎")
    with pytest.raises(WeComError):
        await ep.send_welcome(api, "wc1", "again")  # once only
    fake.welcome_codes["wc2"] = (fake.now() - 21, False)
    with pytest.raises(WeComError):
        await ep.send_welcome(api, "wc2", "late")  # 20 s only


async def test_redelivered_callbacks_have_one_content_key(fake: FakeWeCom) -> None:
    """WeCom retries with a new envelope; the notice key comes from the content."""
    crypto = CallbackCrypto(TOKEN, AES_KEY, CORP_ID)
    seen: list[object] = []

    async def callback(request: web.Request) -> web.Response:
        q = request.query
        fields = crypto.open(await request.read(), q["msg_signature"], q["timestamp"], q["nonce"])
        seen.append(notice_of(fields))
        return web.Response(status=500 if len(seen) == 1 else 200)

    app = web.Application()
    app.router.add_post("/wecom/callback", callback)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.callback_url = f"http://127.0.0.1:{runner.addresses[0][1]}/wecom/callback"
    try:
        fake.contact_ways["cfg"] = {"state": "src-xiaohongshu", "user": ["zhang"]}
        await fake.add_customer("wmA", config_id="cfg")
        await fake.customer_says("wmA", "hello")
        await fake.staff_says("zhang", "/stats")
    finally:
        await runner.cleanup()
    first, retry, kf, staff = seen
    assert isinstance(first, ContactAdded) and first == retry
    assert first.state == "src-xiaohongshu" and first.staff == "zhang" and first.welcome_code
    assert isinstance(kf, KfNotice) and kf.open_kfid == OPEN_KFID and kf.token
    assert isinstance(staff, StaffText) and staff.text == "/stats" and staff.staff == "zhang"
    assert fake.callback_statuses == [500, 200, 200, 200]


async def test_unreachable_platform_is_transient() -> None:
    dead = WeComApi(api_base="http://127.0.0.1:9", corp_id=CORP_ID, secrets=Secrets(SECRET))
    try:
        with pytest.raises(TransientError):
            await ep.staff_message(dead, agent_id=AGENT_ID, touser="z", text="x")
    finally:
        await dead.close()
