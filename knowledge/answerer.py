"""Turn a member's question into an :class:`Answer`: cite, abstain, or chat back.

Text that tries to instruct the bot is just a question here: answers only
ever come verbatim from the KB (or a rewording checked against it), so no
message can unlock a coupon or change a rule.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from knowledge.contract import Answer, Suggestion
from knowledge.retriever import Mode, Ranking, Retriever
from knowledge.rewording import Rewriter
from knowledge.script import Script, dominant_script, to_script
from knowledge.text import detect_language, is_small_talk, normalise

#: ``phrase(lang, key)`` → member-facing text for ``knowledge.handoff`` / ``knowledge.small_talk``
Phrasebook = Callable[[str, str], str]

MAX_QUESTION_CHARS = 1000
#: the script the bot's own Chinese phrases (locales/zh) are written in
LOCALE_SCRIPT: Script = "simplified"


class KnowledgeAnswerer:
    def __init__(
        self,
        retriever: Retriever,
        phrase: Phrasebook,
        min_confidence: float,
        rewriter: Rewriter | None = None,
        default_lang: str = "en",
    ) -> None:
        self.retriever = retriever
        self.phrase = phrase
        self.min_confidence = min_confidence
        self.rewriter = rewriter
        self.default_lang = default_lang

    async def answer(self, question: str, lang: str | None = None) -> Answer:
        decided = await asyncio.to_thread(self.decide, question, lang)
        if self.rewriter is None or decided.source is None:
            return decided
        reworded = await self.rewriter.reword(question, decided.answer, decided.lang)
        return Answer(
            question=decided.question,
            answer=reworded,
            source=decided.source,
            confidence=decided.confidence,
            handoff=False,
            lang=decided.lang,
            candidates=decided.candidates,
        )

    def decide(self, question: str, lang: str | None = None, mode: Mode = "hybrid") -> Answer:
        """Synchronous core (the CLI and the benchmark call it directly)."""
        question = question.strip()[:MAX_QUESTION_CHARS]
        member_lang = lang if lang in ("zh", "en") else self.default_lang
        # folded first, so full-width letters count as the Latin letters they are
        lang = detect_language(normalise(question), fallback=member_lang)
        script = self._script_of(question, lang)
        if is_small_talk(question):
            text = _in_script(self.phrase(lang, "knowledge.small_talk"), script, LOCALE_SCRIPT)
            return Answer(question, text, None, 1.0, False, lang, True)
        ranking = self.retriever.search(question, lang, mode=mode)
        return self._from_ranking(question, lang, ranking, script)

    def _script_of(self, question: str, lang: str) -> Script:
        """The member's Chinese script when it differs from the KB's (answers are then
        converted to it), else the KB's own (texts stay exactly as written)."""
        kb_script = self.retriever.normalise.script
        return dominant_script([question], default=kb_script) if lang == "zh" else kb_script

    def _from_ranking(self, question: str, lang: str, ranking: Ranking, script: Script) -> Answer:
        suggestions = tuple(
            Suggestion(
                c.source,
                c.chunk.title,
                ranking.confidence
                if i == 0
                else self.retriever.candidate_confidence(c, ranking.lang),
            )
            for i, c in enumerate(ranking.candidates[:3])
        )
        if not ranking.candidates or ranking.confidence < self.min_confidence:
            return Answer(
                question,
                _in_script(self.phrase(lang, "knowledge.handoff"), script, LOCALE_SCRIPT),
                None,
                ranking.confidence,
                True,
                lang,
                candidates=suggestions,
            )
        best = ranking.candidates[0].chunk
        text, answer_lang = best.answer_in(lang)
        if answer_lang == "zh":
            text = _in_script(text, script, self.retriever.normalise.script)
        return Answer(
            question, text, best.source, ranking.confidence, False, answer_lang,
            candidates=suggestions,
        )  # fmt: skip


def _in_script(text: str, script: Script, written_in: Script) -> str:
    """``text`` for a member who writes ``script``: untouched when it already is."""
    return text if script == written_in else to_script(text, script)
