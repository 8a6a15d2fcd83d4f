"""Which Warmline extra installs a provider's package, and whether it is installed: told
by ``warmline config check`` (without importing the package) and when the model is built."""

from __future__ import annotations

import importlib.util

#: a provider's top-level module → the Warmline extra that installs it
EXTRAS = {"langchain_openai": "openai"}


def install_hint(module: str) -> str:
    """`` (pip install 'warmline[openai]')`` for a module an extra installs, else ''."""
    extra = EXTRAS.get(module.partition(".")[0])
    return f" (pip install 'warmline[{extra}]')" if extra else ""


def import_problem(provider: str) -> str | None:
    """Why the package of ``package.module:ClassName`` is not installed, else None (a
    malformed name, or a module that fails on import, is told when the model is built)."""
    module, _, class_name = provider.partition(":")
    top = module.partition(".")[0]
    if not class_name or not top:
        return None
    try:
        if importlib.util.find_spec(top) is not None:
            return None
    except (ImportError, ValueError):  # ValueError: a module hidden as sys.modules[top] = None
        pass
    return f"{provider} needs the {top} package, which is not installed{install_hint(top)}"
