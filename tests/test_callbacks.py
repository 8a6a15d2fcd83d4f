"""Signed callback data: forged, foreign, edited or expired presses do nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta
from pathlib import Path

import pytest
from harness import make_config
from moderation_support import community_bot, now_clock

from bot.callbacks import MAX_CALLBACK_BYTES, CallbackSigner, resolve_secret
from bot.clock import ManualClock
from bot.context import Context
from bot.events import Button, ButtonPressed, ChatKind, ChatRef
from bot.router import Router

CHAT = ChatRef("local", "alice")
OTHER = ChatRef("local", "bob")


def _signer(clock: ManualClock | None = None) -> CallbackSigner:
    return CallbackSigner(b"s" * 32, clock or ManualClock())


def test_sign_and_verify_round_trip() -> None:
    signer = _signer()
    signed = signer.sign(CHAT, "shop:buy:42")
    assert signed.startswith("shop:buy:42|") and len(signed.encode()) <= MAX_CALLBACK_BYTES
    checked = signer.verify(CHAT, signed)
    assert checked is not None and checked[0] == "shop:buy:42"
    # data containing the separator survives
    assert signer.verify(CHAT, signer.sign(CHAT, "a|b"))[0] == "a|b"  # type: ignore[index]


@pytest.mark.parametrize("secret", [b"s" * 32, b"k" * 16, b"long" * 40])
def test_the_mac_is_hmac_sha256_of_chat_issue_time_and_data(secret: bytes) -> None:
    """Signatures made before the signer kept its keyed hashes still verify: the MAC
    is the standard HMAC-SHA256 (secrets longer than a block are hashed first)."""
    signer = CallbackSigner(secret, ManualClock())
    signed = signer.sign(CHAT, "shop:buy:42")
    tail = signed.rpartition("|")[2]
    issued, mac = tail[:-11], tail[-11:]
    message = f"local\x1falice\x1f{issued}\x1fshop:buy:42".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()[:8]
    assert mac == base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def test_forged_edited_foreign_and_expired_data_are_refused() -> None:
    clock = ManualClock()
    signer = _signer(clock)
    signed = signer.sign(CHAT, "shop:buy:42")
    assert signer.verify(CHAT, "shop:buy:42") is None  # unsigned
    assert signer.verify(CHAT, signed.replace("42", "43")) is None  # edited
    assert signer.verify(OTHER, signed) is None  # replayed in another chat
    assert _signer_with(b"t" * 32, clock).verify(CHAT, signed) is None  # another bot's
    assert signer.verify(CHAT, "x|") is None and signer.verify(CHAT, "") is None
    clock.advance(timedelta(days=31))
    assert signer.verify(CHAT, signed) is None  # too old


def _signer_with(secret: bytes, clock: ManualClock) -> CallbackSigner:
    return CallbackSigner(secret, clock)


def test_too_long_data_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="too long to sign"):
        _signer().sign(CHAT, "x" * 60)


def test_already_signed_buttons_are_not_signed_twice() -> None:
    signer = _signer()
    once = signer.button(CHAT, Button("Buy", data="buy"))
    assert signer.button(CHAT, once) == once
    assert signer.button(CHAT, Button("Site", url="https://example.org")).data is None


def test_secret_from_config_token_or_a_kept_file(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    assert resolve_secret(make_config(url, bot={"callback_secret": "x" * 20})) == b"x" * 20
    telegram = make_config(url, bot={"platform": "telegram", "telegram": {"token": "1:AA"}})
    assert resolve_secret(telegram) == resolve_secret(telegram) != b""
    local = make_config(url)
    generated = resolve_secret(local)
    assert (tmp_path / "bot.db.callback-secret").is_file()
    assert resolve_secret(local) == generated  # kept across restarts
    assert len(generated) == 32


def _shop() -> tuple[Router, list[str]]:
    pressed: list[str] = []
    router = Router("shop")

    @router.command("shop")
    async def offer(ctx: Context) -> None:
        await ctx.reply("Tea?", [[Button("Buy", data="shop:buy:42")]])

    @router.button("shop:")
    async def buy(ctx: Context) -> None:
        assert isinstance(ctx.event, ButtonPressed)
        pressed.append(ctx.event.data)
        await ctx.answer_button("ok")

    return router, pressed


async def test_forged_press_is_refused_end_to_end(sqlite_url: str) -> None:
    router, pressed = _shop()
    clock = now_clock()
    async with community_bot(make_config(sqlite_url), router, clock=clock) as bot:
        alice = bot.user("Alice")
        [offer] = await bot.say(alice, "/shop")
        data = offer.buttons[0][0].data
        assert data is not None and data != "shop:buy:42"  # signed on the way out

        await bot.press(alice, "shop:buy:42")  # forged: unsigned
        await bot.press(alice, data.replace("42", "1"))  # edited
        await bot.press(bot.user("Bob"), data)  # replayed in Bob's chat
        await bot.press(alice, data, ChatRef("local", "-5", ChatKind.GROUP))
        assert pressed == []
        toasts = [a.detail["text"] for a in bot.adapter.log if a.kind == "toast"]
        assert toasts == ["This button is not valid any more."] * 4

        await bot.press(alice, data)  # genuine: the handler sees the original data
        assert pressed == ["shop:buy:42"]
        clock.advance(timedelta(days=40))
        await bot.press(alice, data)
        assert pressed == ["shop:buy:42"]


async def test_outbound_signs_buttons_and_keeps_the_rest_of_the_message() -> None:
    from dataclasses import replace

    from bot.adapters.local import LocalAdapter
    from bot.events import OutgoingMessage
    from bot.outbound import Outbound
    from bot.signals import Signals

    adapter = LocalAdapter("warmline_bot")
    out = Outbound(adapter, Signals())
    out.signer = _signer()
    link = Button("shop", url="https://example.org")
    message = OutgoingMessage(
        CHAT,
        "hi",
        ((Button("yes", "jy:a:b:yes:1"), link), (Button("no", "jy:a:b:no:1"),)),
        reply_to="7",
        silent=True,
        disable_preview=False,
    )
    await out.send(message)
    (sent,) = adapter.sent_to(CHAT.id)
    assert sent == replace(message, buttons=sent.buttons)  # every other field as given
    assert sent.buttons[0][1] == link  # a link button has nothing to sign
    for row in sent.buttons:
        for button in row:
            if button.data is not None:
                assert out.signer.verify(CHAT, button.data) is not None
