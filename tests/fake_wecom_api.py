"""A fake WeCom (企业微信) server on 127.0.0.1 that enforces the platform's rules.

It answers the API calls the adapter makes and plays WeCom's side of the
callback, sealed as the platform does (:mod:`wecom_envelope`). Rules enforced:

- access tokens expire (``token_ttl``); an unknown token is 40014, an expired
  one 42001; ``fail_next`` injects any errcode (45009 for the frequency limit);
- kf: at most 5 messages within 48 h of the customer's latest message
  (counted from its ``send_time``), none outside it: errcode 95018;
- mass sends: nothing is delivered until staff confirm (:meth:`confirm_mass`);
  a customer gets at most ``mass_limit`` mass messages per ``mass_period``
  (status 3 when over it, 2 when not a friend);
- a welcome code works once, within 20 s of the add event;
- a callback not answered 200 within ``callback_timeout`` is retried, up to
  3 more times, with the same content and a fresh envelope.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

import aiohttp
from aiohttp import web
from wecom_envelope import CORP_ID, TOKEN, seal, to_xml

SECRET = "test-secret"
AGENT_ID = 1000002
OPEN_KFID = "wkTEST"
KF_WINDOW = 48 * 3600
KF_WINDOW_MESSAGES = 5
WELCOME_SECONDS = 20
#: the fake's errcode for a used or expired welcome code
WELCOME_CODE_INVALID = 41096

Json = dict[str, Any]


@dataclass(frozen=True)
class Call:
    path: str
    payload: Json
    errcode: int
    at: float


@dataclass
class MassTask:
    msgid: str
    sender: str
    customers: list[str]
    text: str
    status: dict[str, int] = field(default_factory=dict)


class FakeWeCom:
    """The platform; ``callback_url`` is where it posts events (the bot's URL)."""

    def __init__(self, *, token_ttl: float = 7200, mass_limit: int = 1, mass_period: float = 86400):
        self.token_ttl = token_ttl
        self.mass_limit = mass_limit
        self.mass_period = mass_period
        self.callback_url = ""
        self.callback_timeout = 5.0
        self.offset = 0.0  # virtual time added to the wall clock
        self.calls: list[Call] = []
        self.callback_statuses: list[int] = []
        self.tokens: dict[str, float] = {}
        self.friends: dict[str, set[str]] = defaultdict(set)
        self.contact_ways: dict[str, Json] = {}
        self.welcome_codes: dict[str, tuple[float, bool]] = {}
        self.welcomes: list[Json] = []
        self.kf_log: list[Json] = []  # every stored kf message (synced by cursor)
        self.kf_sent: list[Json] = []
        self.kf_last: dict[str, float] = {}  # customer → send_time of latest origin-3 msg
        self.kf_count: dict[str, int] = defaultdict(int)
        self.mass_tasks: dict[str, MassTask] = {}
        self.mass_received: dict[str, list[float]] = defaultdict(list)
        self.staff_messages: list[Json] = []
        self.tag_groups: dict[str, dict[str, str]] = {}  # group → name → id
        self.marks: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._failures: dict[str, list[int]] = defaultdict(list)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self.base_url = ""

    # clock and faults
    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def expire_tokens(self) -> None:
        self.tokens = {t: 0.0 for t in self.tokens}

    def fail_next(self, path: str, errcode: int, times: int = 1, *, after: int = 0) -> None:
        """The next ``times`` calls to ``path`` answer ``errcode`` (``after`` more first
        succeed)."""
        self._failures[path].extend([0] * after + [errcode] * times)

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path and c.errcode == 0]

    # server
    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/cgi-bin/{path:.+}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        self._client = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        payload: Json = {k: v for k, v in request.query.items() if k != "access_token"}
        if request.method == "POST":
            try:
                body = await request.json()
            except ValueError:
                return web.json_response({"errcode": 47001, "errmsg": "data format error"})
            if not isinstance(body, dict):
                return web.json_response({"errcode": 47001, "errmsg": "data format error"})
            payload = body
        answer = self._answer(path, payload, request.query.get("access_token", ""))
        self.calls.append(Call(path, payload, int(answer.get("errcode", 0)), self.now()))
        return web.json_response(answer)

    def _answer(self, path: str, payload: Json, token: str) -> Json:
        if path == "gettoken":
            if payload.get("corpid") != CORP_ID:
                return _err(40013, "invalid corpid")
            if payload.get("corpsecret") != SECRET:
                return _err(40001, "invalid credential")
            value = secrets.token_hex(16)
            self.tokens[value] = self.now() + self.token_ttl
            return {
                "errcode": 0,
                "errmsg": "ok",
                "access_token": value,
                "expires_in": int(self.token_ttl),
            }
        if token not in self.tokens:
            return _err(40014, "invalid access_token")
        if self.tokens[token] <= self.now():
            return _err(42001, "access_token expired")
        if self._failures[path] and (injected := self._failures[path].pop(0)):
            return _err(injected, "injected")
        handler = self._routes().get(path)
        if handler is None:
            return _err(60011, f"no such api in the fake: {path}")
        result: Json = handler(payload)
        return result

    def _routes(self) -> dict[str, Any]:
        return {
            "externalcontact/add_contact_way": self._add_contact_way,
            "externalcontact/send_welcome_msg": self._send_welcome_msg,
            "kf/sync_msg": self._kf_sync_msg,
            "kf/send_msg": self._kf_send_msg,
            "externalcontact/add_msg_template": self._add_msg_template,
            "externalcontact/get_groupmsg_send_result": self._get_groupmsg_send_result,
            "externalcontact/mark_tag": self._mark_tag,
            "externalcontact/get_corp_tag_list": self._get_corp_tag_list,
            "externalcontact/add_corp_tag": self._add_corp_tag,
            "message/send": self._message_send,
        }

    # API calls
    def _add_contact_way(self, p: Json) -> Json:
        config_id = f"cfg{next(self._ids)}"
        self.contact_ways[config_id] = {"state": p.get("state", ""), "user": p.get("user", [])}
        return {
            "errcode": 0,
            "config_id": config_id,
            "qr_code": f"https://wework.example/qr/{config_id}",
        }

    def _send_welcome_msg(self, p: Json) -> Json:
        code = str(p.get("welcome_code", ""))
        issued = self.welcome_codes.get(code)
        if issued is None or issued[1] or self.now() - issued[0] > WELCOME_SECONDS:
            return _err(WELCOME_CODE_INVALID, "invalid welcome_code")
        self.welcome_codes[code] = (issued[0], True)
        self.welcomes.append(p)
        return {"errcode": 0}

    def _kf_sync_msg(self, p: Json) -> Json:
        start = int(p.get("cursor") or 0)
        limit = max(1, min(1000, int(p.get("limit") or 1000)))
        mine = [m for m in self.kf_log if m["open_kfid"] == p.get("open_kfid")]
        page = mine[start : start + limit]
        return {
            "errcode": 0,
            "next_cursor": str(start + len(page)),
            "has_more": int(start + len(page) < len(mine)),
            "msg_list": page,
        }

    def _kf_send_msg(self, p: Json) -> Json:
        customer = str(p.get("touser", ""))
        last = self.kf_last.get(customer)
        if (
            last is None
            or self.now() - last > KF_WINDOW
            or self.kf_count[customer] >= KF_WINDOW_MESSAGES
        ):
            return _err(95018, "send msg session status invalid")
        self.kf_count[customer] += 1
        self.kf_sent.append(p)
        return {"errcode": 0, "msgid": f"kfout{next(self._ids)}"}

    def _add_msg_template(self, p: Json) -> Json:
        msgid = f"mass{next(self._ids)}"
        customers = [str(c) for c in p.get("external_userid", [])]
        self.mass_tasks[msgid] = MassTask(
            msgid, str(p.get("sender", "")), customers, str(p.get("text", {}).get("content", ""))
        )
        return {"errcode": 0, "msgid": msgid, "fail_list": []}

    def _get_groupmsg_send_result(self, p: Json) -> Json:
        task = self.mass_tasks.get(str(p.get("msgid")))
        if task is None or task.sender != p.get("userid"):
            return _err(41063, "msgid not found")
        rows = [
            {"external_userid": c, "userid": task.sender, "status": task.status.get(c, 0)}
            for c in task.customers
        ]
        return {"errcode": 0, "send_list": rows, "next_cursor": ""}

    def _mark_tag(self, p: Json) -> Json:
        key = (str(p.get("userid")), str(p.get("external_userid")))
        known = {i for group in self.tag_groups.values() for i in group.values()}
        if any(t not in known for t in p.get("add_tag", [])):
            return _err(40068, "invalid tagid")
        self.marks[key] |= set(p.get("add_tag", []))
        self.marks[key] -= set(p.get("remove_tag", []))
        return {"errcode": 0}

    def _get_corp_tag_list(self, p: Json) -> Json:
        groups = [
            {"group_name": g, "tag": [{"id": i, "name": n} for n, i in tags.items()]}
            for g, tags in self.tag_groups.items()
        ]
        return {"errcode": 0, "tag_group": groups}

    def _add_corp_tag(self, p: Json) -> Json:
        group = self.tag_groups.setdefault(str(p.get("group_name", "")), {})
        for tag in p.get("tag", []):
            group.setdefault(str(tag["name"]), f"et{next(self._ids)}")
        tags = [{"id": group[str(t["name"])], "name": t["name"]} for t in p.get("tag", [])]
        return {"errcode": 0, "tag_group": {"group_name": p.get("group_name"), "tag": tags}}

    def _message_send(self, p: Json) -> Json:
        if int(p.get("agentid", 0)) != AGENT_ID:
            return _err(40056, "invalid agentid")
        self.staff_messages.append(p)
        return {"errcode": 0}

    # the platform's own acts
    def confirm_mass(self, msgid: str) -> None:
        """Staff confirmed the task in their client: deliver within the limit."""
        task = self.mass_tasks[msgid]
        for customer in task.customers:
            got = [t for t in self.mass_received[customer] if self.now() - t < self.mass_period]
            if task.sender not in self.friends[customer]:
                task.status[customer] = 2
            elif len(got) >= self.mass_limit:
                task.status[customer] = 3
            else:
                task.status[customer] = 1
                self.mass_received[customer].append(self.now())

    async def add_customer(self, customer: str, *, config_id: str = "", staff: str = "") -> str:
        """The customer scans a contact way (or adds ``staff`` directly)."""
        way = self.contact_ways.get(config_id, {"state": "", "user": [staff]})
        staff = staff or way["user"][0]
        self.friends[customer].add(staff)
        code = f"wc{next(self._ids)}"
        self.welcome_codes[code] = (self.now(), False)
        await self.deliver(
            {
                "ToUserName": CORP_ID,
                "FromUserName": "sys",
                "CreateTime": int(self.now()),
                "MsgType": "event",
                "Event": "change_external_contact",
                "ChangeType": "add_external_contact",
                "UserID": staff,
                "ExternalUserID": customer,
                "State": way["state"],
                "WelcomeCode": code,
            }
        )
        return code

    async def customer_says(
        self, customer: str, text: str, *, menu_id: str = "", at: float | None = None
    ) -> None:
        sent_at = self.now() if at is None else at
        msg: Json = {
            "msgid": f"kfin{next(self._ids)}",
            "open_kfid": OPEN_KFID,
            "external_userid": customer,
            "send_time": int(sent_at),
            "origin": 3,
            "msgtype": "text",
            "text": {"content": text},
        }
        if menu_id:
            msg["text"]["menu_id"] = menu_id
        self.kf_log.append(msg)
        if sent_at >= self.kf_last.get(customer, 0):
            self.kf_last[customer] = sent_at
            self.kf_count[customer] = 0
        await self.deliver(
            {
                "ToUserName": CORP_ID,
                "CreateTime": int(self.now()),
                "MsgType": "event",
                "Event": "kf_msg_or_event",
                "Token": f"tok{next(self._ids)}",
                "OpenKfId": OPEN_KFID,
            }
        )

    async def staff_says(self, staff: str, text: str) -> None:
        await self.deliver(
            {
                "ToUserName": CORP_ID,
                "FromUserName": staff,
                "CreateTime": int(self.now()),
                "MsgType": "text",
                "Content": text,
                "MsgId": str(next(self._ids)),
                "AgentID": AGENT_ID,
            }
        )

    async def deliver(
        self, fields: Json, *, token: str = TOKEN, corp_id: str = CORP_ID, attempts: int = 4
    ) -> int:
        """Post the event as WeCom does, retrying what was not answered 200 in time."""
        status = 0
        for _ in range(attempts):
            cipher, signature, timestamp, nonce = seal(to_xml(fields), token=token, corp_id=corp_id)
            body = f"<xml><ToUserName><![CDATA[{escape(CORP_ID)}]]></ToUserName><AgentID>{AGENT_ID}</AgentID><Encrypt><![CDATA[{cipher}]]></Encrypt></xml>"
            query = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}
            assert self._client is not None
            try:
                async with self._client.post(
                    self.callback_url,
                    params=query,
                    data=body,
                    timeout=aiohttp.ClientTimeout(total=self.callback_timeout),
                ) as reply:
                    status = reply.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            self.callback_statuses.append(status)
            if status == 200:
                return status
            if status in (401, 403):
                return status  # refused for good: WeCom would not retry a bad signature
        return status


def _err(code: int, msg: str) -> Json:
    return {"errcode": code, "errmsg": msg}


def wait_until(predicate: Any, timeout: float = 5.0) -> Any:
    async def waiter() -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("condition not met in time")
            await asyncio.sleep(0.02)

    return waiter()
