"""Turn a member's question into an :class:`Answer`: cite, ask back, abstain, or chat back.

Text that tries to instruct the bot is just a question here: answers only
ever come verbatim from the KB (or a rewording checked against it), so no
message can unlock a coupon or change a rule. Complaints, risky asks and asks
about another shop (:mod:`knowledge.screening`) are handed to a person before
any KB text is chosen, and chat about the bot itself gets the small-talk reply; when two entries are about equally likely, the member is asked which
one they mean rather than given a guess. A message about other things
(:mod:`knowledge.offtopic`) is answered only on a strong match: a look-alike of an entry
goes to a person.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace

from knowledge.contract import Answer, Suggestion
from knowledge.offtopic import OffTopic
from knowledge.prototypes import PrototypeScreen
from knowledge.provided import EmbeddingsUnavailable
from knowledge.retriever import Mode, Ranking, Retriever
from knowledge.rewording import Rewriter
from knowledge.screening import Screen, about_money, screen
from knowledge.script import Script, dominant_script, to_script
from knowledge.text import detect_language, is_small_talk, normalise

log = logging.getLogger("warmline.knowledge")

#: ``phrase(lang, key)`` → member-facing text for ``knowledge.handoff`` / ``knowledge.small_talk``
Phrasebook = Callable[[str, str], str]

MAX_QUESTION_CHARS = 1000
#: the script the bot's own Chinese phrases (locales/zh) are written in
LOCALE_SCRIPT: Script = "simplified"
#: FAQ entries with this tag may be shown beside a complaint (returns, damage, refunds)
AFTER_SALES_TAG = "after-sales"
#: a complaint about the goods gets the after-sales entry nearest its wording among this
#: many candidates, however far down (a member's "white fuzz on the leaves" is worlds
#: from "What if my order arrives damaged?", but that entry is still the one that helps)
GOODS_ENTRY_POOL = 50
#: a complaint about money gets one only among this many best candidates
COMPLAINT_ENTRY_RANK = 5
#: ... standing out at least this much (fused z-score; an upset member's wording is
#: far from the entry's question, so the calibrated similarity says little here)
COMPLAINT_ENTRY_FLOOR = 1.0
#: the runner-up is this close (fused z-score) to a winner that would be answered (a guess
#: between two weak matches is a handoff): ask which one is meant
CLARIFY_GAP = 0.15
#: ... when the runner-up alone is this plausible (its calibrated similarity)
CLARIFY_RUNNER_UP = 0.5
#: a winner below this confidence must stand further clear of the runner-up to be answered:
#: the gap it needs grows by ``WEAK_GAP_SLOPE`` per point of confidence it lacks (at the
#: 0.6 threshold, 0.35). Near the threshold a small lead is how a neighbour's question looks
#: ("paid at 3:30pm, will it go out today" → points expiry, 0.69, lead 0.14): on the sets
#: it was chosen on, a weak winner with a small lead was wrong about half the time
WEAK_CONFIDENCE = 0.7
WEAK_GAP_SLOPE = 2.0
#: a message about something other than the shop (:mod:`knowledge.offtopic`) is answered
#: from the KB only at this confidence; below it, a person takes it
OFF_TOPIC_CONFIDENCE = 0.9


class KnowledgeAnswerer:
    def __init__(
        self,
        retriever: Retriever,
        phrase: Phrasebook,
        min_confidence: float,
        rewriter: Rewriter | None = None,
        default_lang: str = "en",
        prototypes: PrototypeScreen | None = None,
    ) -> None:
        self.retriever = retriever
        #: flags complaints and risky asks the patterns miss, by the question's dense vector
        self.prototypes = prototypes
        self.phrase = phrase
        self.min_confidence = min_confidence
        self.rewriter = rewriter
        self.default_lang = default_lang
        #: what is off-topic for this KB: wordings it never uses, terms it never has
        self.off_topic = OffTopic(
            (
                text
                for chunk in retriever.index.chunks
                for text in (chunk.text, *chunk.answers.values())
            ),
            {term for bm25, _ in retriever.index.bm25.values() for term in bm25.vocab_dict},
        )
        #: entries whose own question, in any language, is about refunds or payment: the
        #: only after-sales entries a money complaint is shown (never the damaged-goods one)
        self.money_entries = frozenset(
            source for (source, _), title in retriever.titles.items() if about_money(title)
        )

    async def answer(self, question: str, lang: str | None = None) -> Answer:
        try:
            decided = await asyncio.to_thread(self.decide, question, lang)
        except EmbeddingsUnavailable as exc:
            # the model's server is down: a person takes the question, the bot goes on
            log.error("%s; the question goes to a person", exc)
            return self.unanswered(question, lang)
        if self.rewriter is None or decided.source is None or decided.handoff:
            return decided
        reworded = await self.rewriter.reword(question, decided.answer, decided.lang)
        return replace(decided, answer=reworded)

    def decide(self, question: str, lang: str | None = None, mode: Mode = "hybrid") -> Answer:
        """Synchronous core (the CLI and the benchmark call it directly)."""
        question, lang, script = self._read(question, lang)
        screened = screen(question)
        if (
            not screened.risk
            and not screened.complaint
            and (screened.aside == "chat" or is_small_talk(question))
        ):
            text = _in_script(self.phrase(lang, "knowledge.small_talk"), script, LOCALE_SCRIPT)
            return Answer(question, text, None, 1.0, False, lang, True)
        limit = GOODS_ENTRY_POOL if screened.problem == "goods" else 5
        ranking = self.retriever.search(question, lang, mode=mode, limit=limit)
        if screened.aside is not None:  # another shop: no entry of ours speaks for it
            return self._handoff(question, lang, ranking, script, self._suggestions(ranking))
        if screened.risk is not None:
            return self._risky(question, lang, ranking, script, screened.risk, screened)
        if screened.complaint:
            return self._complaint(question, lang, ranking, script, screened.problem)
        if self.prototypes is not None:
            # the patterns saw nothing: the prototypes the question's vector sits nearest
            verdict = self.prototypes(ranking.query)
            if verdict.risk is not None:
                return self._risky(question, lang, ranking, script, verdict.risk)
            if verdict.complaint:
                return self._complaint(
                    question, lang, ranking, script, verdict.problem, near_only=True
                )
        return self._from_ranking(question, lang, ranking, script)

    def unanswered(self, question: str, lang: str | None = None) -> Answer:
        """The handoff of a question the KB could not be searched for."""
        question, lang, script = self._read(question, lang)
        text = _in_script(self.phrase(lang, "knowledge.handoff"), script, LOCALE_SCRIPT)
        return Answer(question, text, None, 0.0, True, lang)

    def _read(self, question: str, lang: str | None) -> tuple[str, str, Script]:
        """The question as answered (trimmed), its language and the member's script."""
        question = question.strip()[:MAX_QUESTION_CHARS]
        member_lang = lang if lang in ("zh", "en") else self.default_lang
        # folded first, so full-width letters count as the Latin letters they are
        lang = detect_language(normalise(question), fallback=member_lang)
        return question, lang, self._script_of(question, lang)

    def answer_source(self, question: str, source: str, lang: str) -> Answer | None:
        """The answer of ``source`` (a clarifying button the member pressed), or None
        when the KB no longer has it."""
        chunk = self.retriever.entries.get(source)
        if chunk is None:
            return None
        script = self._script_of(question, lang)
        text, answer_lang = chunk.answer_in(lang)
        if answer_lang == "zh":
            text = _in_script(text, script, self.retriever.normalise.script)
        return Answer(question, text, source, 1.0, False, answer_lang)

    def _script_of(self, question: str, lang: str) -> Script:
        """The member's Chinese script when it differs from the KB's (answers are then
        converted to it), else the KB's own (texts stay exactly as written)."""
        kb_script = self.retriever.normalise.script
        return dominant_script([question], default=kb_script) if lang == "zh" else kb_script

    def _suggestions(self, ranking: Ranking) -> tuple[Suggestion, ...]:
        return tuple(
            Suggestion(
                c.source,
                self.retriever.titles.get((c.source, ranking.lang), c.chunk.title),
                ranking.confidence
                if i == 0
                else self.retriever.candidate_confidence(c, ranking.lang),
            )
            for i, c in enumerate(ranking.candidates[:3])
        )

    def _risky(
        self,
        question: str,
        lang: str,
        ranking: Ranking,
        script: Script,
        risk: str,
        screened: Screen | None = None,
    ) -> Answer:
        """The polite refusal: no KB text, a person takes it."""
        text = _in_script(self.phrase(lang, "knowledge.risky"), script, LOCALE_SCRIPT)
        return Answer(
            question, text, None, ranking.confidence, True, lang,
            candidates=self._suggestions(ranking),
            complaint=screened is not None and screened.complaint,
            problem=screened.problem if screened is not None else None, risk=risk,
        )  # fmt: skip

    def _complaint(
        self,
        question: str,
        lang: str,
        ranking: Ranking,
        script: Script,
        problem: str | None,
        near_only: bool = False,
    ) -> Answer:
        """Empathy, the after-sales entry that fits (if one does), and a person.

        Only a problem with the goods or the money has an after-sales entry: a parcel
        that never came, an unanswered message or plain anger get a person alone.
        ``near_only``: the complaint was told by its prototypes, not its words (a guess
        that may be an ordinary question), so an entry is shown only among the best
        candidates, as for money: never one from far down."""
        text = _in_script(self.phrase(lang, "knowledge.complaint"), script, LOCALE_SCRIPT)
        after_sales = [c for c in ranking.candidates if AFTER_SALES_TAG in c.chunk.tags]
        entry = None
        if problem == "goods" and after_sales and not near_only:
            entry = after_sales[0]
        elif problem in ("goods", "money"):
            if problem == "money":  # a double charge is not helped by the damaged-goods entry
                after_sales = [c for c in after_sales if c.source in self.money_entries]
            near = ranking.candidates[:COMPLAINT_ENTRY_RANK]
            entry = next(
                (c for c in near if c in after_sales and c.fused >= COMPLAINT_ENTRY_FLOOR), None
            )
        source = None
        if entry is not None:
            body, answer_lang = entry.chunk.answer_in(lang)
            if answer_lang == "zh":
                body = _in_script(body, script, self.retriever.normalise.script)
            text = f"{text}\n\n{body}"
            source = entry.source
        return Answer(
            question, text, source, ranking.confidence, True, lang,
            candidates=self._suggestions(ranking), complaint=True, problem=problem,
        )  # fmt: skip

    def _from_ranking(self, question: str, lang: str, ranking: Ranking, script: Script) -> Answer:
        suggestions = self._suggestions(ranking)
        if not ranking.candidates or ranking.confidence < self.min_confidence:
            return self._handoff(question, lang, ranking, script, suggestions)
        if ranking.confidence < OFF_TOPIC_CONFIDENCE and self.off_topic(self._spelt(question)):
            return self._handoff(question, lang, ranking, script, suggestions)
        close = self._close_call(ranking)
        if close is None and weak_lead(ranking):
            return self._handoff(question, lang, ranking, script, suggestions)
        if close is not None:
            text = _in_script(self.phrase(lang, "knowledge.clarify"), script, LOCALE_SCRIPT)
            return Answer(
                question, text, None, ranking.confidence, False, lang,
                candidates=suggestions[:2], clarify=close,
            )  # fmt: skip
        best = ranking.candidates[0].chunk
        text, answer_lang = best.answer_in(lang)
        if answer_lang == "zh":
            text = _in_script(text, script, self.retriever.normalise.script)
        return Answer(
            question, text, best.source, ranking.confidence, False, answer_lang,
            candidates=suggestions,
        )  # fmt: skip

    def _spelt(self, question: str) -> str:
        """``question`` with chat shorthand and the shop's glossary spelt out ("tgy steep
        time?" names the KB's Tieguanyin), its typos left as typed (a typo fix towards a
        KB word would hide an off-topic one: "coffee beans" is not "coffee means")."""
        shorthand = self.retriever.normalise.shorthand
        return shorthand(question) if shorthand is not None else question

    def _close_call(self, ranking: Ranking) -> tuple[str, str] | None:
        """The two best sources when the runner-up is nearly as likely as the winner."""
        if len(ranking.candidates) < 2:
            return None
        first, second = ranking.candidates[0], ranking.candidates[1]
        if first.source == second.source or first.fused - second.fused >= _gap_needed(ranking):
            return None
        if self.retriever.candidate_confidence(second, ranking.lang) < CLARIFY_RUNNER_UP:
            return None
        return (first.source, second.source)

    def _handoff(
        self,
        question: str,
        lang: str,
        ranking: Ranking,
        script: Script,
        suggestions: tuple[Suggestion, ...],
    ) -> Answer:
        text = _in_script(self.phrase(lang, "knowledge.handoff"), script, LOCALE_SCRIPT)
        return Answer(question, text, None, ranking.confidence, True, lang, candidates=suggestions)


def weak_lead(ranking: Ranking) -> bool:
    """A weak winner (below :data:`WEAK_CONFIDENCE`) too close to the runner-up to be
    answered; unless the runner-up is plausible enough for a button, a person takes it."""
    if ranking.confidence >= WEAK_CONFIDENCE or len(ranking.candidates) < 2:
        return False
    first, second = ranking.candidates[0], ranking.candidates[1]
    return first.fused - second.fused < _gap_needed(ranking)


def _gap_needed(ranking: Ranking) -> float:
    """How far (fused z-score) the winner must lead the runner-up to be answered outright."""
    return CLARIFY_GAP + WEAK_GAP_SLOPE * max(0.0, WEAK_CONFIDENCE - ranking.confidence)


def _in_script(text: str, script: Script, written_in: Script) -> str:
    """``text`` for a member who writes ``script``: untouched when it already is."""
    return text if script == written_in else to_script(text, script)
