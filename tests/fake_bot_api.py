"""A fake Telegram Bot API server on 127.0.0.1 for adapter tests.

It speaks the HTTP API both aiogram and python-telegram-bot use (form,
multipart or JSON bodies, ``/bot<token>/<method>``), records every call,
serves queued updates through a real long-poll ``getUpdates``, and fails the
next N calls of a method on request (429 with ``retry_after``, 500, 403, …).

    async def test_something(fake_api: FakeBotAPI) -> None:
        fake_api.push(fake_api.updates.command(ALICE, "start", "src-card"))
        [call] = await fake_api.wait_for("sendMessage")
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

BOT_ID = 123456
TOKEN = f"{BOT_ID}:TEST"
BOT_USERNAME = "warmline_test_bot"

Json = dict[str, Any]

#: values that stay strings even when they look like numbers
TEXT_PARAMS = frozenset(
    {"text", "caption", "callback_query_id", "data", "secret_token", "url", "description"}
)

TRUE_METHODS = frozenset(
    {
        "answerCallbackQuery",
        "deleteMessage",
        "restrictChatMember",
        "banChatMember",
        "unbanChatMember",
        "approveChatJoinRequest",
        "declineChatJoinRequest",
        "setWebhook",
        "deleteWebhook",
        "setMyCommands",
        "leaveChat",
    }
)


@dataclass(frozen=True)
class Call:
    method: str
    params: Json
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    at: float = 0.0
    #: HTTP status the fake answered with
    status: int = 200


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None
    times: int
    #: only calls to these chats fail (None: any chat); others pass untouched
    chats: frozenset[str] | None = None


def decode_param(key: str, value: str) -> Any:
    """Both libraries send form fields as strings, JSON-encoding objects."""
    if value[:1] in "[{" or value in ("true", "false", "null"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if key not in TEXT_PARAMS and value.lstrip("-").isdigit():
        return int(value)
    return value


class UpdateFactory:
    """Raw Telegram updates, numbered in order, for tests to push."""

    def __init__(self) -> None:
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)

    @staticmethod
    def user(user_id: int, first_name: str, language_code: str = "en", **extra: Any) -> Json:
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
            **extra,
        }

    @staticmethod
    def private_chat(user: Json) -> Json:
        return {"id": user["id"], "type": "private", "first_name": user["first_name"]}

    @staticmethod
    def group(chat_id: int = -100123, title: str = "Tea Club") -> Json:
        return {"id": chat_id, "type": "supergroup", "title": title}

    def wrap(self, kind: str, payload: Json, update_id: int | None = None) -> Json:
        return {"update_id": update_id or next(self._update_ids), kind: payload}

    def message(self, user: Json, text: str, chat: Json | None = None, **extra: Any) -> Json:
        payload: Json = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat or self.private_chat(user),
            "from": user,
            "text": text,
            **extra,
        }
        if text.startswith("/") and "entities" not in extra:
            length = len(text.split(" ", 1)[0].encode("utf-16-le")) // 2
            payload["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self.wrap("message", payload)

    def command(self, user: Json, name: str, args: str = "", chat: Json | None = None) -> Json:
        return self.message(user, f"/{name} {args}".strip(), chat)

    def callback(
        self, user: Json, data: str, chat: Json | None = None, message_id: int = 1
    ) -> Json:
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat or self.private_chat(user),
            "text": "…",
        }
        payload = {
            "id": f"cb{next(self._message_ids)}",
            "from": user,
            "chat_instance": "ci",
            "message": message,
            "data": data,
        }
        return self.wrap("callback_query", payload)

    def join(self, users: list[Json], chat: Json, by: Json | None = None) -> Json:
        payload = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": by or users[0],
            "new_chat_members": users,
        }
        return self.wrap("message", payload)

    def left(self, user: Json, chat: Json, by: Json | None = None) -> Json:
        payload = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": by or user,
            "left_chat_member": user,
        }
        return self.wrap("message", payload)

    def join_request(self, user: Json, chat: Json, bio: str | None = None) -> Json:
        payload: Json = {
            "chat": chat,
            "from": user,
            "user_chat_id": user["id"],
            "date": int(time.time()),
        }
        if bio:
            payload["bio"] = bio
        return self.wrap("chat_join_request", payload)


class FakeBotAPI:
    def __init__(self, bot_id: int = BOT_ID, username: str = BOT_USERNAME) -> None:
        self.me: Json = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Warmline",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.calls: list[Call] = []
        self.updates = UpdateFactory()
        #: chat id → admin users served by getChatAdministrators
        self.admins: dict[int, list[Json]] = {}
        self._queue: list[Json] = []
        self._failures: dict[str, deque[Failure]] = defaultdict(deque)
        self._changed = asyncio.Event()
        self._sent_ids = itertools.count(10_000)
        self._closing = False
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        self._closing = True
        self._notify()
        await self._runner.cleanup()

    # -- test controls -----------------------------------------------------------
    def push(self, *updates: Json) -> None:
        """Queue updates for getUpdates (the same dict twice: a redelivery)."""
        self._queue.extend(updates)
        self._notify()

    def fail(
        self,
        method: str,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
        chats: Iterable[int] | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (to ``chats``, when given) with an error."""
        text = description or {
            429: f"Too Many Requests: retry after {retry_after}",
            403: "Forbidden: bot was blocked by the user",
            400: "Bad Request: chat not found",
        }.get(status, "Internal Server Error")
        only = None if chats is None else frozenset(str(c) for c in chats)
        self._failures[method].append(Failure(status, text, retry_after, times, only))

    def calls_to(self, method: str, *, ok_only: bool = True) -> list[Call]:
        return [c for c in self.calls if c.method == method and (c.status == 200 or not ok_only)]

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        return [
            str(c.params["text"])
            for c in self.calls_to("sendMessage")
            if chat_id is None or c.params.get("chat_id") == chat_id
        ]

    async def taken(self, timeout: float = 5.0) -> None:
        """Wait until the bot has received every pushed update: it polled past them."""
        deadline = time.monotonic() + timeout
        while self._queue:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self._queue)} updates not taken within {timeout}s")
            await asyncio.sleep(0.01)

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until ``method`` succeeded ``count`` times; returns those calls."""
        deadline = time.monotonic() + timeout
        while len(self.calls_to(method)) < count:
            if time.monotonic() > deadline:
                seen = [c.method for c in self.calls]
                raise AssertionError(f"{method} not called {count}x within {timeout}s: {seen}")
            await asyncio.sleep(0.01)
        return self.calls_to(method)

    # -- the HTTP side -----------------------------------------------------------
    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _read(self, request: web.Request) -> tuple[Json, dict[str, tuple[str, bytes]]]:
        params: Json = {key: decode_param(key, value) for key, value in request.query.items()}
        files: dict[str, tuple[str, bytes]] = {}
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = (value.filename, value.file.read())
                    params[key] = f"<file {value.filename}>"
                else:
                    params[key] = decode_param(key, str(value))
        for key, value in list(params.items()):  # aiogram uploads as attach://<part>
            if isinstance(value, str) and value.startswith("attach://"):
                part = value.removeprefix("attach://")
                if part in files:
                    files[key] = files.pop(part)
                    params[key] = f"<file {files[key][0]}>"
                    params.pop(part, None)
        return params, files

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, files = await self._read(request)
        failures = self._failures.get(method)
        chat = str(params.get("chat_id"))
        if failures and (failures[0].chats is None or chat in failures[0].chats):
            failure = failures[0]
            failure.times -= 1
            if failure.times <= 0:
                failures.popleft()
            self.calls.append(Call(method, params, files, time.monotonic(), failure.status))
            body: Json = {
                "ok": False,
                "error_code": failure.status,
                "description": failure.description,
            }
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return web.json_response(body, status=failure.status)
        self.calls.append(Call(method, params, files, time.monotonic()))
        if method == "getUpdates":
            result: Any = await self._get_updates(params)
        else:
            result = self._answer(method, params, files)
        if result is None:
            body = {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
            return web.json_response(body, status=404)
        return web.json_response({"ok": True, "result": result})

    async def _get_updates(self, params: Json) -> list[Json]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        if offset:  # confirms everything before it
            self._queue = [u for u in self._queue if u.get("update_id", 0) >= offset]
        while not self._queue and not self._closing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                break
        return self._queue[:limit]

    def _answer(self, method: str, params: Json, files: dict[str, tuple[str, bytes]]) -> Any:
        if method == "getMe":
            return self.me
        if method in TRUE_METHODS:
            return True
        if method in ("sendMessage", "editMessageText"):
            return self._message(params, text=params.get("text", ""))
        if method == "sendDocument":
            name = next(iter(files.values()))[0] if files else "file"
            document = {"file_id": "doc1", "file_unique_id": "u1", "file_name": name}
            return self._message(params, document=document, caption=params.get("caption"))
        if method == "getChatAdministrators":
            owner = {"id": 1, "is_bot": False, "first_name": "Owner"}
            admins = self.admins.get(int(params["chat_id"]), [owner])
            return [{"status": "creator", "user": u, "is_anonymous": False} for u in admins]
        if method == "getWebhookInfo":
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        return None

    def _message(self, params: Json, **content: Any) -> Json:
        chat_id = int(params["chat_id"])
        chat = (
            {"id": chat_id, "type": "private", "first_name": "Member"}
            if chat_id > 0
            else {"id": chat_id, "type": "supergroup", "title": "Group"}
        )
        message_id = int(params.get("message_id") or next(self._sent_ids))
        message: Json = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": {k: self.me[k] for k in ("id", "is_bot", "first_name", "username")},
        }
        message.update({k: v for k, v in content.items() if v is not None})
        if isinstance(params.get("reply_markup"), dict):
            message["reply_markup"] = params["reply_markup"]
        return message


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotAPI]:
    api = FakeBotAPI()
    await api.start()
    try:
        yield api
    finally:
        await api.close()
