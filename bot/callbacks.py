"""Signed inline-button data, so a forged or replayed press does nothing.

Every button's callback data leaves the bot as ``<data>|<issued><mac>``: the
MAC is an HMAC-SHA256 (truncated to 64 bits) over the chat, the data and the
issue time, keyed with a per-bot secret. A press is honoured only when the MAC
matches *this chat* and the button is younger than ``max_age``; the same data
copied to another chat, edited, or pressed after it expired is refused.

Features do not need to do anything: the core's outbound door
(:class:`~bot.outbound.Outbound`) signs the buttons of every message sent
through ``services.adapter`` (``ctx.reply`` included) with this signer, and
:class:`VerifyButtons` checks presses before any handler runs and hands the
handler the original data. ``sign``/``verify`` are there for code that builds
buttons outside of a send (tests, CLI previews).

The secret is ``bot.callback_secret``; if unset, it is derived from the
adapter's own secret (:class:`~bot.adapter.SecretSeed`: the bot token on
Telegram); without one (local platform) it is generated once and kept in a file
next to the SQLite database (or ``~/.warmline/callback-secret``).

The signature takes :data:`SIGNATURE_BYTES`; what is left of the platform's
``limits.button_data_bytes`` is the room for a button's own data. Features may
count on :data:`DATA_BUDGET` bytes: the contract test holds every adapter with
buttons to at least ``DATA_BUDGET + SIGNATURE_BYTES``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from bot.adapter import DATA_BUDGET, SIGNATURE_BYTES, SecretSeed
from bot.clock import Clock
from bot.config.model import WarmlineConfig
from bot.context import Context
from bot.dispatcher import Next
from bot.events import (
    Button,
    ButtonPressed,
    ChatRef,
)
from bot.features import Feature
from bot.middlewares import MEMBER_LOADER

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger("warmline.callbacks")

#: the smallest ``limits.button_data_bytes`` of an adapter with buttons
MAX_CALLBACK_BYTES = DATA_BUDGET + SIGNATURE_BYTES
_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
_MAC_CHARS = 11  # 8 bytes, base64url without padding
_SEPARATOR = "|"
#: SHA-256's block size, and the HMAC pads as byte translations
_BLOCK = 64
_INNER_PAD = bytes(x ^ 0x36 for x in range(256))
_OUTER_PAD = bytes(x ^ 0x5C for x in range(256))
#: a press is verified before its member is loaded: a forged one writes nothing
VERIFY_BUTTONS = MEMBER_LOADER - 5


class CallbackSigner:
    def __init__(
        self,
        secret: bytes,
        clock: Clock,
        max_age: timedelta = timedelta(days=30),
        max_bytes: int = MAX_CALLBACK_BYTES,
    ):
        if len(secret) < 16:
            raise ValueError("the callback secret must be at least 16 bytes")
        # HMAC-SHA256 (RFC 2104) keyed once: each signature copies the two keyed hashes
        # (keying costs two hash blocks per call, hmac.HMAC's copy a Python object)
        key = (hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret).ljust(
            _BLOCK, b"\0"
        )
        self._inner = hashlib.sha256(key.translate(_INNER_PAD))
        self._outer = hashlib.sha256(key.translate(_OUTER_PAD))
        self.max_bytes = max_bytes
        self._clock = clock
        self.max_age = max_age
        #: the minute last signed in and its base-36 form: a run of buttons shares it
        self._minute = -1
        self._issued = ""

    def sign(self, chat: ChatRef, data: str) -> str:
        minute = int((self._clock.now() - _EPOCH).total_seconds() // 60)
        if minute != self._minute:
            self._minute, self._issued = minute, _base36(minute)
        issued = self._issued
        signed = f"{data}{_SEPARATOR}{issued}{self._mac(chat, data, issued)}"
        if len(signed.encode()) > self.max_bytes:
            room = self.max_bytes - (len(signed.encode()) - len(data.encode()))
            raise ValueError(
                f"callback data {data!r} is too long to sign: keep it within {room} bytes"
            )
        return signed

    def verify(self, chat: ChatRef, signed: str) -> tuple[str, datetime] | None:
        """``(data, issued_at)`` when genuine and fresh for ``chat``, else None."""
        data, sep, tail = signed.rpartition(_SEPARATOR)
        if not sep or len(tail) <= _MAC_CHARS:
            return None
        issued, mac = tail[:-_MAC_CHARS], tail[-_MAC_CHARS:]
        if not hmac.compare_digest(mac, self._mac(chat, data, issued)):
            return None
        try:
            issued_at = _EPOCH + timedelta(minutes=int(issued, 36))
        except ValueError:
            return None
        age = self._clock.now() - issued_at
        if age > self.max_age or age < -timedelta(minutes=2):
            return None
        return data, issued_at

    def button(self, chat: ChatRef, button: Button) -> Button:
        data = button.data
        if data is None or self.verify(chat, data) is not None:
            return button
        # built directly: dataclasses.replace walks the fields, four times the cost
        return Button(button.text, self.sign(chat, data), button.url)

    def _mac(self, chat: ChatRef, data: str, issued: str) -> str:
        message = f"{chat.platform}\x1f{chat.id}\x1f{issued}\x1f{data}".encode()
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return base64.urlsafe_b64encode(outer.digest()[:8]).decode("ascii").rstrip("=")


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def resolve_secret(config: WarmlineConfig, seed: bytes | None = None) -> bytes:
    """``bot.callback_secret``, else derived from the adapter's ``seed``, else a
    generated file."""
    if config.bot.callback_secret:
        return config.bot.callback_secret.encode()
    if seed:
        return hmac.new(seed, b"warmline callback secret v1", hashlib.sha256).digest()
    path = secret_file(config.storage.database_url)
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (FileNotFoundError, ValueError):
        pass
    secret = secrets.token_bytes(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secret.hex())
    except OSError as exc:
        log.warning(
            "could not keep the callback secret in %s (%s); buttons expire on restart", path, exc
        )
    return secret


def secret_file(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).with_name(Path(url.database).name + ".callback-secret")
    return Path.home() / ".warmline" / "callback-secret"


class VerifyButtons:
    """Middleware: a press with a bad, foreign or expired signature stops here.

    A genuine press continues with its original data; ``ctx.data["button_issued_at"]``
    says when the button was sent (for one-shot confirmations).
    """

    def __init__(self, signer: CallbackSigner) -> None:
        self.signer = signer

    async def __call__(self, call_next: Next, ctx: Context) -> None:
        event = ctx.event
        if not isinstance(event, ButtonPressed):
            await call_next(ctx)
            return
        checked = self.signer.verify(event.chat, event.data)
        if checked is None:
            ctx.data["refused"] = "bad_callback"
            log.warning("refused a button press with bad data in chat %s", event.chat.id)
            await ctx.answer_button(ctx.t("callbacks.refused"))
            return
        ctx.event = replace(event, data=checked[0])
        ctx.data["button_issued_at"] = checked[1]
        await call_next(ctx)


def install_callbacks(app: App) -> None:
    """Sign every button the bot sends and verify every press (before members load)."""
    adapter = app.services.adapter
    seed = adapter.inner.secret_seed() if isinstance(adapter.inner, SecretSeed) else None
    signer = CallbackSigner(
        resolve_secret(app.config, seed),
        app.services.clock,
        max_bytes=max(adapter.limits.button_data_bytes, MAX_CALLBACK_BYTES),
    )
    app.services.provide(signer)
    adapter.signer = signer
    app.add_middleware(VerifyButtons(signer), order=VERIFY_BUTTONS)


FEATURE = Feature("callbacks", install_callbacks, order=10)
