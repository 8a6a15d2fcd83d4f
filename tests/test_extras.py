"""The embedded default needs no extra; a config that needs a missing one says which.

Each case runs in a fresh interpreter where the optional libraries are absent
(``sys.modules[name] = None`` makes Python's import refuse them, as if never installed).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OPTIONAL = [
    "aiogram", "telegram", "asyncpg", "psycopg", "plotly", "jinja2", "hiredis", "langchain_openai"
]  # fmt: skip


def without_extras(
    code: str, cwd: Path, hidden: list[str] = OPTIONAL
) -> subprocess.CompletedProcess[str]:
    hide = f"import sys\nfor name in {hidden!r}:\n    sys.modules[name] = None\n"
    return subprocess.run(
        [sys.executable, "-c", hide + textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_embedded_default_builds_without_any_extra(tmp_path: Path) -> None:
    result = without_extras(
        f"""
        import json, sys
        from bot.app import App
        from bot.config import load_config
        config = load_config({str(REPO / "config.example.yaml")!r}, env={{}})
        config.storage.database_url = "sqlite+aiosqlite:///{tmp_path}/w.db"
        App(config)
        import bot.adapters.local_chat
        print(json.dumps(sorted(n for n in {OPTIONAL!r} if sys.modules.get(n) is not None)))
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_a_config_needing_a_missing_extra_names_it(tmp_path: Path) -> None:
    cases = {
        "bot:\n  platform: telegram\n  telegram: {token: '1:a', library: aiogram}\n": (
            "bot.telegram.library: Telegram through aiogram needs the aiogram package: "
            "pip install 'warmline[aiogram]'"
        ),
        "bot:\n  platform: telegram\n  telegram: {token: '1:a', library: ptb}\n": (
            "pip install 'warmline[ptb]'"
        ),
        "storage:\n  database_url: postgresql+asyncpg://u@h/db\n": (
            "sys.modules) (pip install 'warmline[postgres]')"
        ),
        "knowledge:\n  embeddings: {provider: 'langchain_openai:OpenAIEmbeddings'}\n": (
            "knowledge.embeddings.provider: langchain_openai:OpenAIEmbeddings needs the "
            "langchain_openai package, which is not installed (pip install 'warmline[openai]')"
        ),
        "insight:\n  metrics: {enabled: true}\n": (
            "insight.metrics.enabled: insight.metrics.enabled needs the plotly package: "
            "pip install 'warmline[insight]'"
        ),
    }
    for number, (text, expected) in enumerate(cases.items()):
        path = tmp_path / f"c{number}.yaml"
        path.write_text(text, encoding="utf-8")
        result = load_without_extras(path)
        assert expected in result.stdout, (text, result.stdout, result.stderr)


def load_without_extras(
    path: Path, hidden: list[str] = OPTIONAL
) -> subprocess.CompletedProcess[str]:
    """``load_config(path)`` without the ``hidden`` libraries; prints its ConfigError."""
    code = f"""
        from bot.config import load_config
        from bot.errors import ConfigError
        try:
            load_config({str(path)!r}, env={{}})
        except ConfigError as exc:
            print(exc)
        """
    return without_extras(code, path.parent, hidden)


def test_a_sections_check_of_a_core_key_names_that_key(tmp_path: Path) -> None:
    """The scheduler's job store on PostgreSQL needs psycopg: push's section checks it
    and names ``storage.database_url``, the key that asks for PostgreSQL."""
    path = tmp_path / "config.yaml"
    path.write_text("storage:\n  database_url: postgresql+asyncpg://u@h/db\n", encoding="utf-8")
    result = load_without_extras(path, hidden=["psycopg"])
    assert result.stdout.strip() == (
        f"{path}:2: storage.database_url: the scheduler's job store on PostgreSQL needs the "
        "psycopg package: pip install 'warmline[postgres]'"
    ), result.stdout + result.stderr


def test_the_import_sites_name_the_extra_too(tmp_path: Path) -> None:
    """A config built in code skips nothing: the adapter and the report say it as well."""
    result = without_extras(
        """
        from bot.adapters import build_adapter
        from bot.config import WarmlineConfig
        from bot.errors import ConfigError
        config = WarmlineConfig()
        config.bot.platform = "telegram"
        try:
            build_adapter(config)
        except ConfigError as exc:
            print(exc)
        """,
        tmp_path,
    )
    assert "pip install 'warmline[aiogram]'" in result.stdout, result.stderr
    report = without_extras(
        f"""
        from typer.testing import CliRunner
        from bot.cli import app
        out = CliRunner().invoke(app, ["report", "-c", {str(REPO / "config.example.yaml")!r}])
        print(out.exit_code, out.output)
        """,
        tmp_path,
    )
    assert report.stdout.startswith("2 "), report.stdout + report.stderr
    assert "warmline report needs the plotly package: pip install 'warmline[insight]'" in (
        " ".join(report.stdout.split())
    )
