"""What a decrypted WeCom callback means, as small typed notices.

The callback XML is flattened to a dict by :mod:`.crypto`; here it becomes one
of a handful of notices the adapter acts on. Each notice has a ``key`` for
dedupe that comes from the decrypted content (``MsgId``, or a hash of the
event's fields), never from the ciphertext or signature, which change on each
of WeCom's retries.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ContactAdded:
    """A customer added ``staff`` (through a contact way whose state is ``state``)."""

    key: str
    staff: str
    external_userid: str
    state: str
    welcome_code: str


@dataclass(frozen=True, slots=True)
class ContactRemoved:
    """The customer deleted ``staff`` (``by_customer``) or staff deleted them."""

    key: str
    staff: str
    external_userid: str
    by_customer: bool


@dataclass(frozen=True, slots=True)
class GroupChanged:
    """Members joined or quit a customer group (``detail``: add_member / del_member)."""

    key: str
    chat_id: str
    detail: str
    member_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KfNotice:
    """New kf messages wait to be pulled with ``token``."""

    key: str
    token: str
    open_kfid: str


@dataclass(frozen=True, slots=True)
class StaffText:
    """A staff member typed to the app: where admins give commands."""

    key: str
    staff: str
    text: str


Notice = ContactAdded | ContactRemoved | GroupChanged | KfNotice | StaffText


def content_key(fields: dict[str, Any]) -> str:
    """``MsgId`` when there is one, else a hash of the decrypted fields."""
    msg_id = fields.get("MsgId")
    if msg_id:
        return f"wecom:msg:{msg_id}"
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)
    return "wecom:evt:" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def notice_of(fields: dict[str, Any]) -> Notice | None:
    """The notice a decrypted callback carries; None for what Warmline ignores."""
    key = content_key(fields)
    msg_type = _s(fields, "MsgType")
    if msg_type == "text":
        return StaffText(key, _s(fields, "FromUserName"), _s(fields, "Content"))
    if msg_type != "event":
        return None
    event = _s(fields, "Event")
    change = _s(fields, "ChangeType")
    if event == "change_external_contact":
        staff, customer = _s(fields, "UserID"), _s(fields, "ExternalUserID")
        if not staff or not customer:
            return None
        if change == "add_external_contact":
            return ContactAdded(
                key, staff, customer, _s(fields, "State"), _s(fields, "WelcomeCode")
            )
        if change in ("del_external_contact", "del_follow_user"):
            return ContactRemoved(key, staff, customer, change == "del_follow_user")
        return None
    if event == "change_external_chat" and _s(fields, "ChatId"):
        return GroupChanged(key, _s(fields, "ChatId"), _s(fields, "UpdateDetail"), _members(fields))
    if event == "kf_msg_or_event":
        return KfNotice(key, _s(fields, "Token"), _s(fields, "OpenKfId"))
    return None


def _s(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    return value.strip() if isinstance(value, str) else ""


def _members(fields: dict[str, Any]) -> tuple[str, ...]:
    listed = fields.get("MemChangeList")
    items: Any = listed.get("Item") if isinstance(listed, dict) else None
    if isinstance(items, str):
        return (items,)
    if isinstance(items, list):
        return tuple(str(i) for i in items if isinstance(i, str))
    return ()
