"""Optional dependencies, installed as pip extras, and the one clear error when one is
missing: ``pip install -e .`` gives the embedded default (local adapter, SQLite, the
knowledge base); PostgreSQL, Redis's fast parser, the insight charts and the platforms'
libraries are extras (``pip install -e '.[aiogram,postgres]'``; a platform names its own
extra where it checks for its library)."""

from __future__ import annotations

import importlib.util

from bot.errors import ConfigError

#: importable module → the extra that installs it
EXTRA_OF: dict[str, str] = {
    "asyncpg": "postgres",
    "psycopg": "postgres",
    "hiredis": "redis",
    "plotly": "insight",
    "jinja2": "insight",
}
#: what the insight dashboard, /metrics and the reports import
INSIGHT = ("plotly", "jinja2")


class MissingExtra(ConfigError):
    """An optional library the configuration needs is not installed."""


def missing(modules: str | tuple[str, ...], what: str, extra: str | None = None) -> str | None:
    """Why ``what`` cannot run (the extra to install), or None when ``modules`` are there.
    ``extra`` names the extra of a module the core does not list (a platform's own)."""
    for module in (modules,) if isinstance(modules, str) else modules:
        if not _installed(module):
            extra = extra or EXTRA_OF[module]
            return f"{what} needs the {module} package: pip install 'warmline[{extra}]'"
    return None


def require(modules: str | tuple[str, ...], what: str, extra: str | None = None) -> None:
    """Raise :class:`MissingExtra` naming the extra when a module is not installed."""
    problem = missing(modules, what, extra)
    if problem is not None:
        raise MissingExtra(problem)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: imported before and marked absent
        return False
