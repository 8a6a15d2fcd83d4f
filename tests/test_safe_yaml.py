"""YAML alias bombs are refused, fast and in little memory, in config, knowledge and flow files."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from bot.config import load_config
from bot.config.safe_yaml import ALIAS_BUDGET, safe_load
from bot.errors import ConfigError
from flows.content import ContentLibrary
from knowledge.chunks import SourceError
from knowledge.documents import load_file
from push.config import push_config

REPO = Path(__file__).resolve().parent.parent

#: nine levels of nine aliases: 9**9 (387 million) strings once expanded, in about 340 bytes
BILLION_LAUGHS = "\n".join(
    [f"a: &a [{', '.join(['lol'] * 9)}]"]
    + [
        f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]"
        for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
    ]
)


def test_the_bomb_is_small() -> None:
    assert len(BILLION_LAUGHS.encode()) < 400


def _limit_memory() -> None:
    limit = 1024**3  # 1 GiB of address space; the bomb once reached 7 GB
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_config_check_refuses_the_bomb_fast_in_little_memory(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BILLION_LAUGHS + "\n")
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "bot", "config", "check", "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_memory,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 2, result.stderr
    assert "MemoryError" not in result.stderr
    assert f"{path}:9: not valid YAML: aliases (*name) would expand this document" in (
        result.stderr.replace("\n", " ")
    )
    assert elapsed < 30


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("bot:\n  admins: &me [boss, *me]\n")
    with pytest.raises(ConfigError, match=r"config.yaml:2: not valid YAML: an alias refers to"):
        load_config(path, env={})


def test_ordinary_anchors_still_work(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "push:\n  categories:\n    offer: &rare {per_day: 1, per_week: 2}\n"
        "    broadcast: *rare\n    value:\n      <<: *rare\n      per_week: 3\n"
    )
    categories = push_config(load_config(path, env={})).categories
    assert categories["broadcast"].per_week == 2
    assert (categories["value"].per_day, categories["value"].per_week) == (1, 3)


def test_the_budget_is_about_expansion_not_size() -> None:
    """A long document without aliases is fine; aliases adding more than the budget are not."""
    long_list = "\n".join(f"- item {n}" for n in range(ALIAS_BUDGET * 3))
    assert len(safe_load(long_list)) == ALIAS_BUDGET * 3
    block = "[" + ", ".join(str(n) for n in range(100)) + "]"
    fits = f"base: &b {block}\nuses: [{', '.join(['*b'] * 90)}]\n"
    assert len(safe_load(fits)["uses"]) == 90
    over = f"base: &b {block}\nuses: [{', '.join(['*b'] * 110)}]\n"
    with pytest.raises(yaml.YAMLError, match="limit 10,000"):
        safe_load(over)


def test_knowledge_faq_bomb_is_a_source_error(tmp_path: Path) -> None:
    faq = tmp_path / "faq.yaml"
    faq.write_text(BILLION_LAUGHS + "\n")
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"faq.yaml: not valid YAML: aliases"):
        load_file(faq)
    assert time.monotonic() - started < 5


def test_flow_content_bomb_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "tips.yaml").write_text(BILLION_LAUGHS + "\n")
    with pytest.raises(ConfigError, match=r"tips.yaml: not valid YAML: aliases"):
        ContentLibrary.load([tmp_path])
