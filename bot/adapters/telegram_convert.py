"""Raw Telegram update dicts → neutral events, shared by both Telegram adapters.

Working on the raw JSON (not on aiogram or PTB objects) keeps one tested mapping
for both libraries, lets one malformed update be skipped without losing its
batch, and is the cheapest path: no model validation before we know the update
is interesting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.commands import parse_command
from bot.events import (
    ButtonPressed,
    ChatKind,
    ChatRef,
    Entity,
    Event,
    IncomingMessage,
    JoinRequest,
    MemberJoined,
    MemberLeft,
    ReplyRef,
    UserRef,
)

PLATFORM = "telegram"

Raw = dict[str, Any]

CHAT_KINDS = {
    "private": ChatKind.PRIVATE,
    "group": ChatKind.GROUP,
    "supergroup": ChatKind.GROUP,
    "channel": ChatKind.CHANNEL,
}

MEDIA_KEYS = frozenset(
    {
        "photo",
        "video",
        "document",
        "audio",
        "voice",
        "animation",
        "sticker",
        "video_note",
        "contact",
        "location",
        "venue",
        "poll",
        "dice",
        "paid_media",
        "story",
    }
)

#: what we ask Telegram for. ``chat_member`` is parsed but not requested: joins
#: already arrive as ``new_chat_members`` messages and would count twice.
ALLOWED_UPDATES = ("message", "callback_query", "chat_join_request")

#: chat_member statuses in which the user is in the chat
PRESENT = frozenset({"creator", "administrator", "member", "restricted"})


def user_ref(raw: Raw) -> UserRef:
    first = raw.get("first_name") or ""
    last = raw.get("last_name")
    return UserRef(
        PLATFORM,
        str(raw["id"]),
        f"{first} {last}" if last else first,
        raw.get("username"),
        raw.get("language_code"),
        bool(raw.get("is_bot", False)),
    )


def chat_ref(raw: Raw) -> ChatRef:
    return ChatRef(PLATFORM, str(raw["id"]), CHAT_KINDS[raw["type"]], raw.get("title"))


def utf16_slice(text: str, offset: int, length: int) -> str:
    """Telegram entity offsets count UTF-16 code units, not code points."""
    if text.isascii():
        return text[offset : offset + length]
    encoded = text.encode("utf-16-le")
    return encoded[offset * 2 : (offset + length) * 2].decode("utf-16-le", "replace")


class UpdateConverter:
    """Maps updates for one bot; ``username`` is known after getMe."""

    def __init__(self, bot_id: str, username: str | None = None) -> None:
        self.bot_id = bot_id
        self.username = username
        self._prefix = f"tg:{bot_id}:"

    @property
    def username(self) -> str | None:
        return self._username

    @username.setter
    def username(self, value: str | None) -> None:
        self._username = value
        self._mention = f"@{value}".lower() if value else None

    def key_of(self, raw: Raw) -> str:
        """The update's key, as every event of it carries (``update_key``)."""
        return self._prefix + str(int(raw["update_id"]))

    def convert(self, raw: Raw) -> tuple[Event, ...]:
        """All events in one update (several joiners → several events).

        Raises KeyError/TypeError/ValueError on a malformed update; the
        adapter logs and skips it.
        """
        key = self.key_of(raw)
        message = raw.get("message")
        if message is not None:
            return self._message(message, key)
        query = raw.get("callback_query")
        if query is not None:
            return (self._callback(query, key),)
        request = raw.get("chat_join_request")
        if request is not None:
            return (self._join_request(request, key),)
        member = raw.get("chat_member")
        if member is not None:
            return self._chat_member(member, key)
        return ()

    # -- messages ------------------------------------------------------------
    def _message(self, raw: Raw, key: str) -> tuple[Event, ...]:
        sender = raw.get("from")
        if sender is None:  # channel posts and anonymous senders
            return ()
        chat = chat_ref(raw["chat"])
        at = datetime.fromtimestamp(raw["date"], UTC)
        joiners = raw.get("new_chat_members")
        if joiners:
            return self._joined(raw, joiners, chat, at, key)
        left = raw.get("left_chat_member")
        if left is not None:
            user = user_ref(left)
            kicker = user_ref(sender) if sender["id"] != left["id"] else None
            return (MemberLeft(update_key=key, chat=chat, user=user, at=at, kicked_by=kicker),)
        text = raw.get("text")
        entities_raw = raw.get("entities")
        if text is None:
            text = raw.get("caption") or ""
            entities_raw = raw.get("caption_entities")
        entities = self._entities(entities_raw) if entities_raw else ()
        return (
            IncomingMessage(
                update_key=key,
                chat=chat,
                user=user_ref(sender),
                at=at,
                message_id=str(raw["message_id"]),
                text=text,
                command=parse_command(text, self._username) if text[:1] == "/" else None,
                reply_to=self._reply(raw),
                entities=entities,
                mentions_bot=bool(entities) and self._mentions_bot(text, entities),
                forwarded_from_channel=_from_channel(raw),
                has_media=not MEDIA_KEYS.isdisjoint(raw),
            ),
        )

    @staticmethod
    def _entities(raw: list[Raw]) -> tuple[Entity, ...]:
        return tuple(
            Entity(item["type"], int(item["offset"]), int(item["length"]), item.get("url"))
            for item in raw
        )

    def _mentions_bot(self, text: str, entities: tuple[Entity, ...]) -> bool:
        for entity in entities:
            if entity.type == "mention" and self._mention is not None:
                if utf16_slice(text, entity.offset, entity.length).lower() == self._mention:
                    return True
        return False

    @staticmethod
    def _reply(raw: Raw) -> ReplyRef | None:
        reply = raw.get("reply_to_message")
        if reply is None:
            return None
        if raw.get("is_topic_message") and "forum_topic_created" in reply:
            return None  # every message in a forum topic "replies" to its creation
        author = reply.get("from")
        return ReplyRef(
            str(reply["message_id"]),
            user_ref(author) if author is not None else None,
            reply.get("text") or reply.get("caption"),
        )

    def _joined(
        self, raw: Raw, joiners: list[Raw], chat: ChatRef, at: datetime, key: str
    ) -> tuple[Event, ...]:
        sender = raw["from"]
        events: list[Event] = []
        for joiner in joiners:
            inviter = user_ref(sender) if sender["id"] != joiner["id"] else None
            events.append(
                MemberJoined(
                    update_key=key if len(joiners) == 1 else f"{key}:{joiner['id']}",
                    chat=chat,
                    user=user_ref(joiner),
                    at=at,
                    inviter=inviter,
                )
            )
        return tuple(events)

    # -- other updates -------------------------------------------------------
    @staticmethod
    def _callback(raw: Raw, key: str) -> ButtonPressed:
        user = user_ref(raw["from"])
        message = raw.get("message")
        if message is not None:
            chat = chat_ref(message["chat"])
            message_id: str | None = str(message["message_id"])
        else:  # a button under an inline-mode message: no chat, answer in DM
            chat = ChatRef(PLATFORM, user.id, ChatKind.PRIVATE)
            message_id = None
        return ButtonPressed(
            update_key=key,
            chat=chat,
            user=user,
            at=datetime.now(UTC),
            callback_id=str(raw["id"]),
            data=str(raw.get("data") or ""),
            message_id=message_id,
        )

    @staticmethod
    def _join_request(raw: Raw, key: str) -> JoinRequest:
        return JoinRequest(
            update_key=key,
            chat=chat_ref(raw["chat"]),
            user=user_ref(raw["from"]),
            at=datetime.fromtimestamp(raw["date"], UTC),
            bio=raw.get("bio"),
        )

    @staticmethod
    def _chat_member(raw: Raw, key: str) -> tuple[Event, ...]:
        was = raw["old_chat_member"]["status"] in PRESENT
        now_member = raw["new_chat_member"]
        now = now_member["status"] in PRESENT
        if was == now:  # promotions, restrictions: not a join or leave
            return ()
        chat = chat_ref(raw["chat"])
        user = user_ref(now_member["user"])
        actor = user_ref(raw["from"])
        other = actor if actor.id != user.id else None
        at = datetime.fromtimestamp(raw["date"], UTC)
        if now:
            return (MemberJoined(update_key=key, chat=chat, user=user, at=at, inviter=other),)
        return (MemberLeft(update_key=key, chat=chat, user=user, at=at, kicked_by=other),)


def _from_channel(raw: Raw) -> bool:
    origin = raw.get("forward_origin")
    if origin is not None:
        return bool(origin.get("type") == "channel")
    legacy = raw.get("forward_from_chat")
    return legacy is not None and legacy.get("type") == "channel"
