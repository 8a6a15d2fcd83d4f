"""The package-level import graph of the repository, and the layering rules it keeps.

Nodes are the first-party top-level packages (every folder beside this one with an
``__init__.py``), with ``bot/adapters`` a node of its own: the core (``bot``) must not
need the platforms it can run on. An edge A -> B means some module of A imports one of
B, at any depth (inside functions and ``TYPE_CHECKING`` blocks too: a lazy import is
still a dependency). Migration scripts are left out: alembic loads them by path and
nothing imports them. A platform named as a string for the registry to import
(``bot/platforms.py``) is not an import and is not counted.

The rules (tests/test_import_graph.py asserts them): no circle between packages; no
module of the core outside ``bot/adapters`` imports a feature package, unless its
docstring's first paragraph says it is a composition root; ``flows`` imports no adapter
and no platform library.

Run: ``python bench/import_graph.py`` (exits 1 when a rule is broken).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: the core's node for the platform adapters
ADAPTERS = "bot.adapters"
#: the packages features live in, which the core may not import
FEATURE_PACKAGES = ("flows", "knowledge", "handlers", "insight", "push", "moderation", "simulate")
#: the platform libraries, which only an ``adapters`` folder may import
ADAPTER_LIBRARIES = ("aiogram", "telegram", "wechatpy")


@dataclass(frozen=True, slots=True)
class Import:
    """One imported module, where (``source`` is the importing module's dotted name)."""

    source: str
    path: Path
    line: int
    module: str


def packages(repo: Path = REPO) -> list[str]:
    """The first-party top-level packages, and the adapters' node."""
    found = sorted(p.parent.name for p in repo.glob("*/__init__.py"))
    return sorted([*found, ADAPTERS]) if "bot" in found else found


def node_of(module: str, nodes: list[str]) -> str | None:
    """The graph node a dotted module belongs to (None: not first-party)."""
    if module == ADAPTERS or module.startswith(ADAPTERS + "."):
        return ADAPTERS if ADAPTERS in nodes else "bot"
    top = module.split(".")[0]
    return top if top in nodes else None


def module_name(path: Path, repo: Path = REPO) -> str:
    parts = path.relative_to(repo).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, repo: Path = REPO) -> list[tuple[int, str]]:
    """Every import in a file, at any depth, relative ones made absolute."""
    source = module_name(path, repo)
    package = source if path.name == "__init__.py" else source.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.append((node.lineno, node.module or ""))
                continue
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            found.append((node.lineno, ".".join([*base, *([node.module] if node.module else [])])))
    return found


def imports(repo: Path = REPO) -> Iterator[Import]:
    """Every import in the first-party packages (migration scripts aside)."""
    for top in sorted({node.split(".")[0] for node in packages(repo)}):
        for path in sorted((repo / top).rglob("*.py")):
            if "migrations" in path.relative_to(repo).parts:
                continue
            source = module_name(path, repo)
            for line, module in imported_modules(path, repo):
                yield Import(source, path, line, module)


def package_graph(repo: Path = REPO) -> dict[str, dict[str, list[Import]]]:
    """node -> the nodes it imports -> the imports that make the edge."""
    nodes = packages(repo)
    graph: dict[str, dict[str, list[Import]]] = {node: {} for node in nodes}
    for found in imports(repo):
        start, end = node_of(found.source, nodes), node_of(found.module, nodes)
        if start is not None and end is not None and start != end:
            graph[start].setdefault(end, []).append(found)
    return graph


def edges(graph: dict[str, dict[str, list[Import]]]) -> dict[str, set[str]]:
    return {node: set(targets) for node, targets in graph.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle, of any length, each as the path that closes it."""
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        for target in sorted(graph.get(node, ())):
            if target in path:
                found.append([*path[path.index(target) :], target])
            elif target not in done:
                visit(target, [*path, target])
        done.add(node)

    for start in sorted(graph):
        if start not in done:
            visit(start, [start])
    return found


def is_composition_root(path: Path) -> bool:
    """A module whose docstring's first paragraph calls it a composition root."""
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return "composition root" in " ".join(docstring.split("\n\n")[0].split())


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def core_offences(repo: Path = REPO) -> list[Import]:
    """Imports of a feature package by the core (bot/ outside bot/adapters and the
    composition roots)."""
    return [
        found
        for found in imports(repo)
        if within(found.source, "bot")
        and not within(found.source, ADAPTERS)
        and any(within(found.module, package) for package in FEATURE_PACKAGES)
        and not is_composition_root(found.path)
    ]


def flows_adapter_offences(repo: Path = REPO) -> list[Import]:
    """Imports of an adapter or a platform library by the journey (flows/)."""
    return [
        found
        for found in imports(repo)
        if within(found.source, "flows")
        and (
            "adapters" in found.module.split(".") or found.module.split(".")[0] in ADAPTER_LIBRARIES
        )
    ]


def shown(node: str) -> str:
    """A node as a folder: ``bot/adapters``."""
    return node.replace(".", "/")


def where(found: Import, repo: Path = REPO) -> str:
    return f"{found.path.relative_to(repo)}:{found.line}: imports {found.module}"


def report(repo: Path = REPO) -> tuple[str, bool]:
    """The graph as text, and whether every rule holds."""
    graph = package_graph(repo)
    width = max(len(node) for node in graph)
    lines = ["package import graph (A -> B: a module of A imports one of B; import lines)"]
    for node, targets in graph.items():
        listed = ", ".join(f"{shown(end)} ({len(targets[end])})" for end in sorted(targets))
        lines.append(f"  {shown(node):<{width}} -> {listed or '(nothing)'}")
    found = circles(edges(graph))
    lines.append(
        "circles: "
        + ("; ".join(" -> ".join(map(shown, circle)) for circle in found) if found else "none")
    )
    for circle in found:
        for start, end in pairwise(circle):
            lines.extend(f"    {where(i, repo)}" for i in graph[start][end][:3])
    broken = [("core imports a feature", core_offences(repo))]
    broken.append(("flows imports an adapter", flows_adapter_offences(repo)))
    for title, offences in broken:
        lines.append(f"{title}: {len(offences) or 'none'}")
        lines.extend(f"    {where(found, repo)}" for found in offences)
    return "\n".join(lines), not found and not any(offences for _, offences in broken)


def main() -> int:
    text, fine = report(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else REPO)
    print(text)
    return 0 if fine else 1


if __name__ == "__main__":
    sys.exit(main())
