"""Questions → cited answers, a clarifying question, or a handoff to a human; the admin
side of handoffs.

DMs: every plain-text message is a question. Groups: only when the bot is
mentioned or replied to, or when the answer is very certain
(``knowledge.group_min_confidence``), so the bot never floods a group. A
complaint nobody addressed to the bot is taken up when it says what went wrong
(the goods, a payment or refund, a parcel, an unanswered message): a shop owner
wants that met in front of the group, not left standing; a grumble that names
nothing ("this group is a joke") is left to the people in it. A complaint tags
the member ``needs-care`` and its handoff holds their promotions (the push gate
asks the store) until an admin closes it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from typing import Any

from bot.context import Context
from bot.events import Button, ButtonPressed, OutgoingMessage, UserRef
from bot.router import Router
from flows.tags import TagStore
from knowledge.config import KnowledgeConfig, knowledge_config
from knowledge.contract import Answer, Answerer
from knowledge.handlers import knowledge_base
from knowledge.handlers.learning import offer_learning, refresh, teach
from knowledge.script import dominant_script, to_traditional
from knowledge.text import normalise
from storage.knowledge_store import HandoffRecord, KnowledgeStore, NewHandoff

log = logging.getLogger("warmline.qa")

router = Router("qa")
REPLY_PREFIX = "kb:reply:"
#: a clarifying question's button: ``kb:pick:<language asked in>:<key of the source>``
PICK_PREFIX = "kb:pick:"
NEEDS_CARE = "needs-care"
_MENTION = re.compile(r"@\w+")


def _plain_text(ctx: Context) -> bool:
    message = ctx.message
    return message is not None and message.command is None and bool(message.text.strip())


def _has_knowledge(ctx: Context) -> bool:
    kb = knowledge_base(ctx.services)
    return kb is not None and kb.loaded


def _answerer(ctx: Context) -> Answerer:
    """Through the services, so wrappers (metrics) see every answer."""
    return ctx.services.require(Answerer)  # type: ignore[type-abstract]


def _store(ctx: Context) -> KnowledgeStore:
    return ctx.services.require(KnowledgeStore)  # type: ignore[type-abstract]


def _who(ctx: Context) -> str:
    user = ctx.event.user
    return user.display_name or (f"@{user.username}" if user.username else user.id)


@router.button(REPLY_PREFIX)
async def start_reply(ctx: Context) -> None:
    assert isinstance(ctx.event, ButtonPressed)
    if not ctx.is_bot_admin:
        await ctx.answer_button(ctx.t("errors.admin_only"))
        return
    raw = ctx.event.data.removeprefix(REPLY_PREFIX)
    handoff = await _store(ctx).start_reply(int(raw), ctx.event.user.id) if raw.isdigit() else None
    await ctx.answer_button()
    if handoff is None:
        await ctx.reply_private(ctx.t("knowledge.admin.already_closed", id=raw))
        return
    await ctx.reply_private(ctx.t("knowledge.admin.reply_prompt", id=handoff.id))


def source_key(source: str) -> str:
    """Short and stable, so the button fits the core's data budget (bot.callbacks)."""
    return hashlib.sha256(source.encode()).hexdigest()[:12]


@router.button(PICK_PREFIX)
async def pick_candidate(ctx: Context) -> None:
    """The member pressed one of the clarifying question's buttons: answer from that entry."""
    assert isinstance(ctx.event, ButtonPressed)
    kb = knowledge_base(ctx.services)
    lang, _, key = ctx.event.data.removeprefix(PICK_PREFIX).partition(":")
    answerer = kb.require() if kb is not None and kb.loaded else None
    source = next(
        (s for s in (answerer.retriever.entries if answerer else {}) if source_key(s) == key),
        None,
    )
    await ctx.answer_button()
    if answerer is None or source is None:
        await ctx.reply(ctx.t("knowledge.not_ready"))
        return
    answer = answerer.answer_source("", source, lang if lang in ("zh", "en") else ctx.lang)
    if answer is None:  # pragma: no cover - the entry was found a line above
        return
    await ctx.reply(f"{answer.answer}\n\n{_citation(ctx.services.catalog.t, answer)}")
    member_id = ctx.member.id if ctx.member is not None else None
    await ctx.services.interactions.record(
        member_id, "question_answered", ctx.event.at, chat_id=ctx.chat.id,
        detail={"source": source, "confidence": 1.0, "lang": answer.lang, "picked": True},
    )  # fmt: skip


@router.command("kb", admin_only=True, summary_key="commands.kb")
async def kb_command(ctx: Context) -> None:
    assert ctx.message is not None and ctx.message.command is not None
    action = (ctx.message.command.argv or [""])[0].lower()
    if action == "reload":
        kb = knowledge_base(ctx.services)
        if kb is None:
            await ctx.reply(ctx.t("knowledge.not_ready"))
            return
        try:
            result = await refresh(ctx, kb)
        except Exception as exc:  # a broken file must not take the old index away
            log.exception("knowledge base reload failed")
            await ctx.reply(ctx.t("knowledge.kb.reload_failed", error=str(exc)[:300]))
            return
        changed = ", ".join(result.changed_files) or ctx.t("knowledge.kb.no_changes")
        await ctx.reply(
            ctx.t(
                "knowledge.kb.reloaded",
                chunks=result.chunks,
                embedded=result.embedded,
                changed=changed,
            )
        )
    elif action == "gaps":
        gaps = await _store(ctx).top_gaps(20)
        if not gaps:
            await ctx.reply(ctx.t("knowledge.kb.no_gaps"))
            return
        lines = [ctx.t("knowledge.kb.gaps_header")]
        lines += [ctx.t("knowledge.kb.gap_line", count=n, question=q[:200]) for q, n in gaps]
        await ctx.reply("\n".join(lines))
    elif action == "teach":
        await teach(ctx, ctx.message.command.args.strip()[len("teach") :])
    else:
        await ctx.reply(ctx.t("knowledge.kb.usage"))


@router.command("handoffs", admin_only=True, summary_key="commands.handoffs")
async def list_handoffs(ctx: Context) -> None:
    handoffs = await _store(ctx).open_handoffs(20)
    if not handoffs:
        await ctx.reply(ctx.t("knowledge.kb.no_handoffs"))
        return
    lines = [ctx.t("knowledge.kb.handoffs_header")]
    lines += [
        ctx.t("knowledge.kb.handoff_line", id=h.id, member=h.member_name, question=h.question[:200])
        for h in handoffs
    ]
    buttons = [[Button(ctx.t("knowledge.admin.reply_button", id=h.id), f"{REPLY_PREFIX}{h.id}")]
               for h in handoffs[:8]]  # fmt: skip
    await ctx.reply("\n".join(lines), buttons)


@router.message(_plain_text, scope="private")
async def private_message(ctx: Context) -> None:
    """An admin in reply mode is relaying; anyone else is asking a question."""
    if ctx.is_bot_admin and ctx.services.find(KnowledgeStore) is not None:  # type: ignore[type-abstract]
        pending = await _store(ctx).pending_reply(ctx.event.user.id)
        if pending is not None:
            await _relay(ctx, pending)
            return
    if not _has_knowledge(ctx):
        return
    assert ctx.message is not None
    answer = await _answerer(ctx).answer(ctx.message.text, ctx.lang)
    await _respond(ctx, answer)


@router.message(_plain_text, _has_knowledge, scope="group")
async def group_message(ctx: Context) -> None:
    message = ctx.message
    assert message is not None
    addressed = message.mentions_bot or (
        message.reply_to is not None
        and message.reply_to.user is not None
        and message.reply_to.user.is_bot
    )
    question = _MENTION.sub(" ", message.text).strip() if message.mentions_bot else message.text
    if not question:
        return
    answer = await _answerer(ctx).answer(question, ctx.lang)
    if addressed or _speaks_unasked(answer, knowledge_config(ctx.services.config)):
        await _respond(ctx, answer, quote=True)


def _speaks_unasked(answer: Answer, config: KnowledgeConfig) -> bool:
    """Whether a group message nobody addressed to the bot gets its answer: a complaint
    that names its problem, or an answer sure enough for the whole group to see."""
    if answer.complaint:
        return answer.problem is not None
    unsure = (
        answer.handoff or bool(answer.clarify) or answer.confidence < config.group_min_confidence
    )
    return not answer.small_talk and not unsure


async def _respond(ctx: Context, answer: Answer, *, quote: bool = False) -> None:
    services = ctx.services
    member_id = ctx.member.id if ctx.member is not None else None
    if answer.small_talk:
        await ctx.reply(answer.answer, quote=quote)
        return
    detail: dict[str, object] = {
        "question": answer.question[:500],
        "source": answer.source,
        "confidence": round(answer.confidence, 4),
        "lang": answer.lang,
    }
    if answer.clarify:
        titles = {c.source: c.title for c in answer.candidates}
        buttons = [
            [
                Button(
                    titles.get(source, source)[:60],
                    f"{PICK_PREFIX}{answer.lang}:{source_key(source)}",
                )
            ]
            for source in answer.clarify
        ]
        await ctx.reply(answer.answer, buttons, quote=quote)
        detail["clarify"] = list(answer.clarify)
        await services.interactions.record(
            member_id, "question_clarified", ctx.event.at, chat_id=ctx.chat.id, detail=detail
        )
        return
    if not answer.handoff:
        await ctx.reply(f"{answer.answer}\n\n{_citation(services.catalog.t, answer)}", quote=quote)
        await services.interactions.record(
            member_id, "question_answered", ctx.event.at, chat_id=ctx.chat.id, detail=detail
        )
        return
    store = _store(ctx)
    text = answer.answer if ctx.chat.is_private else ctx.t("knowledge.group_handoff")
    if answer.source is not None and ctx.chat.is_private:  # a complaint's after-sales entry
        text = f"{text}\n\n{_citation(services.catalog.t, answer)}"
    await ctx.reply(text, quote=quote)
    tags = services.find(TagStore)
    if answer.complaint and member_id is not None and tags is not None:
        await tags.add(member_id, [NEEDS_CARE], ctx.event.at)
    detail["complaint"] = answer.complaint
    detail["risk"] = answer.risk
    await services.interactions.record(
        member_id, "question_abstained", ctx.event.at, chat_id=ctx.chat.id, detail=detail
    )
    best = answer.candidates[0].source if answer.candidates else None
    await store.record_gap(
        member_id,
        answer.question,
        normalise(answer.question),
        answer.lang,
        answer.confidence,
        best,
        ctx.event.at,
    )
    handoff = await store.open_handoff(
        NewHandoff(
            member_id=member_id,
            platform=ctx.event.platform,
            user_id=ctx.event.user.id,
            member_name=_who(ctx),
            chat_id=ctx.chat.id,
            question=answer.question,
            lang=answer.lang,
            confidence=answer.confidence,
            candidates=[
                {"source": s.source, "title": s.title, "confidence": round(s.confidence, 4)}
                for s in answer.candidates
            ],
            complaint=answer.complaint,
        ),
        ctx.event.at,
    )
    await _notify_admins(ctx, handoff)


def by_score(candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best match first: the retrieval's fused rank is not the confidence shown beside it."""
    return sorted(candidates, key=lambda c: -float(c.get("confidence") or 0.0))


async def _notify_admins(ctx: Context, handoff: HandoffRecord) -> None:
    services = ctx.services
    lang = services.config.bot.default_language
    t = services.catalog.t
    candidates = "\n".join(
        t(lang, "knowledge.admin.candidate", source=c["source"], confidence=c["confidence"],
          title=str(c.get("title", ""))[:80])
        for c in by_score(handoff.candidates)
    ) or t(lang, "knowledge.admin.no_candidates")  # fmt: skip
    text = t(
        lang,
        "knowledge.admin.handoff",
        id=handoff.id,
        member=handoff.member_name,
        language=handoff.lang,
        question=handoff.question,
        candidates=candidates,
    )
    if handoff.complaint:
        text = f"{t(lang, 'knowledge.admin.complaint')}\n{text}"
    button = Button(
        t(lang, "knowledge.admin.reply_button", id=handoff.id), f"{REPLY_PREFIX}{handoff.id}"
    )
    for admin_id in services.config.bot.admins:
        try:
            await services.adapter.send(
                OutgoingMessage(
                    chat=services.adapter.dm(UserRef(handoff.platform, admin_id)),
                    text=text,
                    buttons=((button,),),
                )
            )
        except Exception:  # one unreachable admin must not hide the handoff from others
            log.warning("could not notify admin %s of handoff %s", admin_id, handoff.id)


async def _relay(ctx: Context, handoff: HandoffRecord) -> None:
    assert ctx.message is not None
    closed = await _store(ctx).close(handoff.id, ctx.event.user.id, ctx.message.text, ctx.event.at)
    if closed is None:
        await ctx.reply(ctx.t("knowledge.admin.already_closed", id=handoff.id))
        return
    text = ctx.services.catalog.t(
        handoff.lang, "knowledge.admin.reply_to_member", text=ctx.message.text
    )
    member_chat = ctx.services.adapter.dm(UserRef(handoff.platform, handoff.user_id))
    await ctx.services.adapter.send(OutgoingMessage(chat=member_chat, text=text))
    await ctx.reply(ctx.t("knowledge.admin.relayed", id=handoff.id, member=handoff.member_name))
    await offer_learning(ctx, closed)


def _citation(t: Callable[..., str], answer: Answer) -> str:
    """ "来源：…" in the script the answer is written in; the cited source stays exact."""
    label = t(answer.lang, "knowledge.citation", source="\x00")
    if answer.lang == "zh" and dominant_script([answer.answer]) == "traditional":
        label = to_traditional(label)
    return label.replace("\x00", answer.source or "")
