"""A bot that learns: admins turn questions it could not answer into knowledge.

``/kb teach <entry> <question>`` keeps a member's wording as a paraphrase of an FAQ
entry; ``/kb teach new <question> | <answer>`` keeps a new entry. After an admin
answers a handoff, the bot offers the same with one press: "paraphrase of <entry>"
for each FAQ entry the question came close to, or "new entry" with the admin's reply
as its answer. Lessons are stored (``storage.kb_learning``) and the index is rebuilt
at once (only the new wording is embedded), so the very next member asking the same
is answered; the admin is shown what the bot answers now.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from bot.context import Context
from bot.events import Button, ButtonPressed
from bot.router import Router
from knowledge.handlers import knowledge_base
from knowledge.learning import Learned
from knowledge.source_files import FAQ_SUFFIXES
from knowledge.text import detect_language, normalise
from storage.kb_learning import LearnedRecord, LearnedStore, Lesson
from storage.knowledge_store import HandoffRecord, KnowledgeStore

if TYPE_CHECKING:
    from knowledge.service import KnowledgeBase, ReloadResult

log = logging.getLogger("warmline.qa")

router = Router("kb-learning")
#: ``kb:learn:<handoff id>:<candidate number>`` or ``kb:learn:<handoff id>:new``
LEARN_PREFIX = "kb:learn:"
NEW = "new"
#: FAQ entries offered as "paraphrase of …" after a handoff is answered
OFFERED = 3


def _learned_store(ctx: Context) -> LearnedStore:
    return ctx.services.require(LearnedStore)  # type: ignore[type-abstract]


def is_faq_entry(source: str) -> bool:
    """Only FAQ entries take paraphrases: they are what ``kb export`` can write back."""
    file_name = source.partition("#")[0].lower()
    return "#" in source and any(file_name.endswith(suffix) for suffix in FAQ_SUFFIXES)


async def teach(ctx: Context, args: str) -> None:
    """``/kb teach <entry> <question>`` or ``/kb teach new <question> | <answer>``."""
    target, _, rest = args.strip().partition(" ")
    rest = rest.strip()
    if not target or not rest:
        await ctx.reply(ctx.t("knowledge.learn.usage"))
        return
    kb = knowledge_base(ctx.services)
    if kb is None or not kb.loaded:
        await ctx.reply(ctx.t("knowledge.not_ready"))
        return
    if target.lower() == NEW:
        question, answer = _split_answer(rest)
        if not question or not answer:
            await ctx.reply(ctx.t("knowledge.learn.usage"))
            return
        lesson = _lesson(question, ctx.lang, answer=answer)
    else:
        source = _resolve(kb, target)
        if source is None:
            await ctx.reply(ctx.t("knowledge.learn.unknown_entry", entry=target))
            return
        if not is_faq_entry(source):
            await ctx.reply(ctx.t("knowledge.learn.not_faq", entry=source))
            return
        lesson = _lesson(rest, ctx.lang, source=source)
    await _keep(ctx, kb, lesson)


@router.button(LEARN_PREFIX)
async def learn_from_handoff(ctx: Context) -> None:
    """An admin pressed "paraphrase of …" or "new entry" under an answered handoff."""
    assert isinstance(ctx.event, ButtonPressed)
    if not ctx.is_bot_admin:
        await ctx.answer_button(ctx.t("errors.admin_only"))
        return
    await ctx.answer_button()
    raw_id, _, choice = ctx.event.data.removeprefix(LEARN_PREFIX).partition(":")
    store = ctx.services.require(KnowledgeStore)  # type: ignore[type-abstract]
    handoff = await store.handoff(int(raw_id)) if raw_id.isdigit() else None
    kb = knowledge_base(ctx.services)
    if handoff is None or kb is None or not kb.loaded:
        await ctx.reply(ctx.t("knowledge.not_ready"))
        return
    if choice == NEW:
        if not handoff.reply:
            await ctx.reply(ctx.t("knowledge.admin.already_closed", id=handoff.id))
            return
        lesson = _lesson(handoff.question, handoff.lang, answer=handoff.reply, handoff=handoff)
    else:
        offered = offered_entries(handoff)
        number = int(choice) if choice.isdigit() else -1
        if not 0 <= number < len(offered):
            await ctx.reply(ctx.t("knowledge.learn.usage"))
            return
        lesson = _lesson(handoff.question, handoff.lang, source=offered[number], handoff=handoff)
    await _keep(ctx, kb, lesson)


def offered_entries(handoff: HandoffRecord) -> list[str]:
    """The FAQ entries a handed-off question came closest to, best first."""
    ranked = sorted(handoff.candidates, key=lambda c: -float(c.get("confidence") or 0.0))
    sources = [str(c.get("source") or "") for c in ranked]
    return [s for s in dict.fromkeys(sources) if is_faq_entry(s)][:OFFERED]


def learning_buttons(ctx: Context, handoff: HandoffRecord) -> list[list[Button]]:
    """One button per entry the question may be a paraphrase of, and "new entry"."""
    rows = [
        [Button(ctx.t("knowledge.learn.as_paraphrase", entry=source)[:60],
                f"{LEARN_PREFIX}{handoff.id}:{number}")]
        for number, source in enumerate(offered_entries(handoff))
    ]  # fmt: skip
    rows.append([Button(ctx.t("knowledge.learn.as_entry"), f"{LEARN_PREFIX}{handoff.id}:{NEW}")])
    return rows


async def offer_learning(ctx: Context, handoff: HandoffRecord) -> None:
    """After an admin's reply is relayed: keep the question for next time? (Not for a
    complaint: the reply is about one member's order, not an answer for everyone.)"""
    kb = knowledge_base(ctx.services)
    if handoff.complaint or kb is None or not kb.loaded:
        return
    text = ctx.t("knowledge.learn.offer", question=handoff.question[:200])
    await ctx.reply(text, learning_buttons(ctx, handoff))


def _split_answer(text: str) -> tuple[str, str]:
    """``question | answer`` (or the question on the first line, the answer below)."""
    separator = "|" if "|" in text else "\n"
    question, _, answer = text.partition(separator)
    return question.strip(), answer.strip()


def _resolve(kb: KnowledgeBase, name: str) -> str | None:
    """``faq.yaml#points-earning``, or ``points-earning`` when one file has that id."""
    entries = kb.require().retriever.entries
    if name in entries:
        return name
    named = [source for source in entries if source.partition("#")[2] == name]
    return named[0] if len(named) == 1 else None


def _lesson(
    question: str,
    fallback_lang: str,
    *,
    source: str | None = None,
    answer: str | None = None,
    handoff: HandoffRecord | None = None,
) -> Lesson:
    folded = normalise(question)
    return Lesson(
        lang=detect_language(folded, fallback=fallback_lang),
        question=question.strip(),
        normalized=folded,
        source=source,
        answer=answer,
        handoff_id=handoff.id if handoff is not None else None,
    )


async def _keep(ctx: Context, kb: KnowledgeBase, lesson: Lesson) -> None:
    """Store the lesson, rebuild the index with it, and show what the bot answers now."""
    at: datetime = ctx.event.at
    record, new = await _learned_store(ctx).learn(lesson, ctx.event.user.id, at)
    entry = record.source or Learned.of([record]).entries[0].source
    key = "knowledge.learn.already" if not new else _saved_key(record)
    lines = [ctx.t(key, question=record.question[:200], entry=entry)]
    if new:
        try:
            await refresh(ctx, kb)
        except Exception as exc:  # the lesson is stored; the next reload picks it up
            log.exception("knowledge base rebuild after a lesson failed")
            lines.append(ctx.t("knowledge.kb.reload_failed", error=str(exc)[:300]))
            await ctx.reply("\n".join(lines))
            return
    try:
        now = await asyncio.to_thread(kb.decide, lesson.question, lesson.lang)
    except Exception as exc:  # stored and indexed; the model cannot be asked (its server down)
        log.exception("asking a lesson's question again failed")
        lines.append(ctx.t("knowledge.learn.cannot_try", error=str(exc)[:300]))
        await ctx.reply("\n".join(lines))
        return
    if now.source is not None and not now.handoff:
        lines.append(
            ctx.t("knowledge.learn.now_answers", source=now.source, confidence=now.confidence)
        )
    else:
        lines.append(ctx.t("knowledge.learn.still_unsure", confidence=now.confidence))
    await ctx.reply("\n".join(lines))


def _saved_key(record: LearnedRecord) -> str:
    return (
        "knowledge.learn.saved_paraphrase"
        if record.answer is None
        else "knowledge.learn.saved_entry"
    )


async def refresh(ctx: Context, kb: KnowledgeBase) -> ReloadResult:
    """Rebuild the index with every lesson stored (another worker's too)."""
    learned = Learned.of(await _learned_store(ctx).learned())
    return await kb.reload(learned)
