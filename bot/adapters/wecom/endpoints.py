"""The WeCom calls Warmline makes, each with its payload shape in one place.

Thin typed wrappers over :meth:`WeComApi.call`: the adapter, the CLI
(``warmline wecom contact-way``) and the mass-send follow-up share them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from bot.adapters.wecom.api import Family, Json, WeComApi

#: most customers one mass-send task may name
MASS_SEND_MAX = 10_000


class SendStatus(IntEnum):
    """``get_groupmsg_send_result``'s status of one customer."""

    UNSENT = 0
    SENT = 1
    NOT_FRIEND = 2
    OVER_LIMIT = 3


@dataclass(frozen=True, slots=True)
class KfMessage:
    """One message pulled by ``kf/sync_msg``."""

    msgid: str
    open_kfid: str
    external_userid: str
    send_time: int
    origin: int
    msgtype: str
    text: str
    menu_id: str | None

    @property
    def from_customer(self) -> bool:
        return self.origin == 3


@dataclass(frozen=True, slots=True)
class KfBatch:
    messages: tuple[KfMessage, ...]
    next_cursor: str
    has_more: bool


async def send_welcome(api: WeComApi, welcome_code: str, text: str) -> None:
    await api.call(
        Family.CONTACT,
        "externalcontact/send_welcome_msg",
        {"welcome_code": welcome_code, "text": {"content": text}},
    )


async def kf_sync(
    api: WeComApi, *, cursor: str, token: str, open_kfid: str, limit: int = 1000
) -> KfBatch:
    payload: Json = {"open_kfid": open_kfid, "limit": limit}
    if cursor:
        payload["cursor"] = cursor
    if token:
        payload["token"] = token
    answer = await api.call(Family.KF, "kf/sync_msg", payload)
    messages = tuple(_kf_message(item) for item in answer.get("msg_list") or ())
    return KfBatch(
        messages=tuple(m for m in messages if m is not None),
        next_cursor=str(answer.get("next_cursor") or cursor),
        has_more=bool(answer.get("has_more")),
    )


def _kf_message(item: Any) -> KfMessage | None:
    if not isinstance(item, dict) or not item.get("msgid"):
        return None
    text = item.get("text") if isinstance(item.get("text"), dict) else {}
    menu_id = text.get("menu_id") if isinstance(text, dict) else None
    return KfMessage(
        msgid=str(item["msgid"]),
        open_kfid=str(item.get("open_kfid", "")),
        external_userid=str(item.get("external_userid", "")),
        send_time=int(item.get("send_time") or 0),
        origin=int(item.get("origin") or 0),
        msgtype=str(item.get("msgtype", "")),
        text=str(text.get("content", "")) if isinstance(text, dict) else "",
        menu_id=str(menu_id) if menu_id else None,
    )


async def kf_send_text(api: WeComApi, *, touser: str, open_kfid: str, text: str) -> str:
    answer = await api.call(
        Family.KF,
        "kf/send_msg",
        {"touser": touser, "open_kfid": open_kfid, "msgtype": "text", "text": {"content": text}},
    )
    return str(answer.get("msgid", ""))


async def kf_send_menu(
    api: WeComApi,
    *,
    touser: str,
    open_kfid: str,
    head: str,
    items: list[tuple[str, str]],
    tail: str = "",
) -> str:
    """A message with click buttons; a click returns as text with ``menu_id``."""
    menu: Json = {
        "head_content": head,
        "list": [{"type": "click", "click": {"id": i, "content": c}} for i, c in items],
    }
    if tail:
        menu["tail_content"] = tail
    answer = await api.call(
        Family.KF,
        "kf/send_msg",
        {"touser": touser, "open_kfid": open_kfid, "msgtype": "msgmenu", "msgmenu": menu},
    )
    return str(answer.get("msgid", ""))


async def add_contact_way(api: WeComApi, *, state: str, users: list[str]) -> tuple[str, str]:
    """A 渠道活码 whose adds arrive with ``State=state``: (config_id, qr_code URL)."""
    answer = await api.call(
        Family.CONTACT,
        "externalcontact/add_contact_way",
        {"type": 1 if len(users) == 1 else 2, "scene": 2, "state": state, "user": users},
    )
    return str(answer.get("config_id", "")), str(answer.get("qr_code", ""))


async def add_msg_template(
    api: WeComApi, *, sender: str, external_userids: list[str], text: str
) -> tuple[str, list[str]]:
    """One mass-send task for ``sender`` to confirm: (msgid, customers refused at once)."""
    if len(external_userids) > MASS_SEND_MAX:
        raise ValueError(f"a mass send names at most {MASS_SEND_MAX} customers")
    answer = await api.call(
        Family.CONTACT,
        "externalcontact/add_msg_template",
        {
            "chat_type": "single",
            "external_userid": external_userids,
            "sender": sender,
            "text": {"content": text},
        },
    )
    return str(answer.get("msgid", "")), [str(u) for u in answer.get("fail_list") or ()]


async def groupmsg_send_result(api: WeComApi, *, msgid: str, userid: str) -> dict[str, SendStatus]:
    """Each customer's status in the task ``msgid`` sent by ``userid``."""
    statuses: dict[str, SendStatus] = {}
    cursor = ""
    while True:
        payload: Json = {"msgid": msgid, "userid": userid, "limit": 1000}
        if cursor:
            payload["cursor"] = cursor
        answer = await api.call(Family.CONTACT, "externalcontact/get_groupmsg_send_result", payload)
        for row in answer.get("send_list") or ():
            if isinstance(row, dict) and row.get("external_userid"):
                try:
                    status = SendStatus(int(row.get("status", 0)))
                except ValueError:
                    status = SendStatus.UNSENT
                statuses[str(row["external_userid"])] = status
        cursor = str(answer.get("next_cursor") or "")
        if not cursor:
            return statuses


async def mark_tag(
    api: WeComApi, *, userid: str, external_userid: str, add: list[str], remove: list[str]
) -> None:
    await api.call(
        Family.CONTACT,
        "externalcontact/mark_tag",
        {
            "userid": userid,
            "external_userid": external_userid,
            "add_tag": add,
            "remove_tag": remove,
        },
    )


async def corp_tags(api: WeComApi) -> dict[str, str]:
    """Corp tag name → tag id, over every tag group."""
    answer = await api.call(Family.CONTACT, "externalcontact/get_corp_tag_list", {})
    names: dict[str, str] = {}
    for group in answer.get("tag_group") or ():
        for tag in (group or {}).get("tag") or ():
            if isinstance(tag, dict) and tag.get("name") and tag.get("id"):
                names[str(tag["name"])] = str(tag["id"])
    return names


async def add_corp_tags(api: WeComApi, *, group_name: str, names: list[str]) -> dict[str, str]:
    answer = await api.call(
        Family.CONTACT,
        "externalcontact/add_corp_tag",
        {"group_name": group_name, "tag": [{"name": n} for n in names]},
    )
    group = answer.get("tag_group") or {}
    return {
        str(t["name"]): str(t["id"])
        for t in group.get("tag") or ()
        if isinstance(t, dict) and t.get("name") and t.get("id")
    }


async def staff_message(api: WeComApi, *, agent_id: int, touser: str, text: str) -> None:
    """A text from the app to a staff member (answers to admins)."""
    await api.call(
        Family.APP,
        "message/send",
        {"touser": touser, "msgtype": "text", "agentid": agent_id, "text": {"content": text}},
    )
