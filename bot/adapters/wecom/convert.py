"""Stored WeCom raws → neutral events, and the key each is deduplicated on.

The inbox stores two kinds of raw: a decrypted callback (``{"wecom":
"callback", "fields": {...}}``) and one message pulled from kf (``{"wecom":
"kf", "msg": {...}}``). Who a conversation is with is decided here:

- a customer (external contact) is a member; their one-to-one conversation is
  the kf conversation, whose chat id is the customer's ``external_userid``;
- a staff member typing to the app is in the chat ``staff:<userid>``: that is
  where admins give commands and get answers;
- a contact-way add carries ``State`` as the start payload (``src-…``,
  ``ref-…``), the same attribution as a Telegram deep link.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.adapters.wecom.inbound import (
    ContactAdded,
    ContactRemoved,
    GroupChanged,
    StaffText,
    content_key,
    notice_of,
)
from bot.commands import parse_command
from bot.events import (
    ButtonPressed,
    ChatKind,
    ChatRef,
    Command,
    Event,
    IncomingMessage,
    MemberJoined,
    MemberLeft,
    UserRef,
)

log = logging.getLogger("warmline.wecom")

PLATFORM = "wecom"
STAFF_PREFIX = "staff:"

Raw = dict[str, Any]
#: told of each add event's welcome code (customer, code, when it was issued)
OnWelcome = Callable[[str, str, datetime], None]


def callback_raw(fields: dict[str, Any]) -> Raw:
    return {"wecom": "callback", "fields": fields}


def kf_raw(message: dict[str, Any]) -> Raw:
    return {"wecom": "kf", "msg": message}


def key_of(raw: Raw) -> str:
    if raw.get("wecom") == "kf":
        return f"wecom:kf:{raw['msg']['msgid']}"
    return content_key(raw.get("fields") or {})


def dm_of(external_userid: str) -> ChatRef:
    return ChatRef(PLATFORM, external_userid, ChatKind.PRIVATE)


def staff_chat(userid: str) -> ChatRef:
    return ChatRef(PLATFORM, STAFF_PREFIX + userid, ChatKind.PRIVATE)


def staff_of(chat: ChatRef) -> str | None:
    """The staff userid of an app conversation, None for customers and groups."""
    return chat.id[len(STAFF_PREFIX) :] if chat.id.startswith(STAFF_PREFIX) else None


def events_of(raw: Raw, on_welcome: OnWelcome | None = None) -> tuple[Event, ...]:
    """The events in one stored raw; malformed ones are logged and yield none."""
    try:
        if raw.get("wecom") == "kf":
            return _kf_events(raw["msg"])
        return _callback_events(raw["fields"], on_welcome)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        log.warning("malformed WeCom update skipped (%s: %s)", type(exc).__name__, exc)
        return ()


def _callback_events(fields: dict[str, Any], on_welcome: OnWelcome | None) -> tuple[Event, ...]:
    notice = notice_of(fields)
    key = content_key(fields)
    at = _when(fields.get("CreateTime"))
    if isinstance(notice, StaffText):
        user = UserRef(PLATFORM, notice.staff, display_name=notice.staff)
        return (
            IncomingMessage(
                update_key=key,
                chat=staff_chat(notice.staff),
                user=user,
                at=at,
                message_id=str(fields.get("MsgId") or key),
                text=notice.text,
                command=parse_command(notice.text),
            ),
        )
    if isinstance(notice, ContactAdded):
        if on_welcome is not None and notice.welcome_code:
            on_welcome(notice.external_userid, notice.welcome_code, at)
        member = UserRef(PLATFORM, notice.external_userid)
        text = f"/start {notice.state}".strip()
        return (
            IncomingMessage(
                update_key=key,
                chat=dm_of(notice.external_userid),
                user=member,
                at=at,
                message_id=key,
                text=text,
                command=Command("start", notice.state),
            ),
        )
    if isinstance(notice, ContactRemoved) and notice.by_customer:
        member = UserRef(PLATFORM, notice.external_userid)
        return (MemberLeft(update_key=key, chat=dm_of(notice.external_userid), user=member, at=at),)
    if isinstance(notice, GroupChanged):
        group = ChatRef(PLATFORM, notice.chat_id, ChatKind.GROUP)
        kinds: dict[str, type[MemberJoined] | type[MemberLeft]] = {
            "add_member": MemberJoined,
            "del_member": MemberLeft,
        }
        kind = kinds.get(notice.detail)
        if kind is None:
            return ()
        return tuple(
            kind(update_key=f"{key}:{n}", chat=group, user=UserRef(PLATFORM, uid), at=at)
            for n, uid in enumerate(notice.member_ids)
        )
    return ()


def _kf_events(msg: dict[str, Any]) -> tuple[Event, ...]:
    if int(msg.get("origin") or 0) != 3:  # 4: system, 5: a staff member
        return ()
    customer = str(msg["external_userid"])
    key = f"wecom:kf:{msg['msgid']}"
    at = _when(msg.get("send_time"))
    chat, user = dm_of(customer), UserRef(PLATFORM, customer)
    given = msg.get("text")
    text_part: dict[str, Any] = given if isinstance(given, dict) else {}
    if text_part.get("menu_id"):
        return (
            ButtonPressed(
                update_key=key,
                chat=chat,
                user=user,
                at=at,
                callback_id=str(msg["msgid"]),
                data=str(text_part["menu_id"]),
            ),
        )
    if msg.get("msgtype") != "text":
        return (
            IncomingMessage(
                update_key=key, chat=chat, user=user, at=at, message_id=key, has_media=True
            ),
        )
    text = str(text_part.get("content", ""))
    return (
        IncomingMessage(
            update_key=key,
            chat=chat,
            user=user,
            at=at,
            message_id=str(msg["msgid"]),
            text=text,
            command=parse_command(text),
        ),
    )


def _when(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)
