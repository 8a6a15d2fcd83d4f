"""The packages form layers (bench/import_graph.py draws them): shared storage imports no
other package, the core only storage (not its own platform adapters), no feature package
is imported by the core, the journey imports no adapter, and no chain of imports leads
back to where it started."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "import_graph", REPO / "bench" / "import_graph.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("import_graph", module)  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


graph_of = _script()


def test_the_core_imports_no_feature_package() -> None:
    """No module of bot/ at all (adapters and composition roots included, today)."""
    offences = [
        graph_of.where(found)
        for found in graph_of.imports()
        if graph_of.within(found.source, "bot")
        and any(graph_of.within(found.module, p) for p in graph_of.FEATURE_PACKAGES)
    ]
    assert offences == []
    assert graph_of.core_offences() == []


def test_the_scan_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    """The check above would catch the imports the command line used to make."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from knowledge.service import KnowledgeBase\n")
    assert graph_of.imported_modules(sample, tmp_path) == [(2, "knowledge.service")]


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    return root


def test_only_adapters_and_composition_roots_of_the_core_may_import_a_feature(
    tmp_path: Path,
) -> None:
    root = tree(
        tmp_path,
        {
            "bot/__init__.py": "",
            "bot/plain.py": '"""Plain."""\nfrom ..flows import engine\n',
            "bot/root.py": '"""The command line: a\ncomposition root."""\nimport flows.engine\n',
            "bot/later.py": '"""Not one.\n\nUnlike a composition root."""\nimport push\n',
            "bot/adapters/__init__.py": "",
            "bot/adapters/a.py": "import knowledge\nfrom bot.events import Event\n",
            "flows/__init__.py": "",
            "flows/engine.py": "from bot.adapters.a import x\nimport wechatpy\n",
        },
    )
    assert [graph_of.where(i, root) for i in graph_of.core_offences(root)] == [
        "bot/later.py:4: imports push",
        "bot/plain.py:2: imports flows",
    ]
    assert [graph_of.where(i, root) for i in graph_of.flows_adapter_offences(root)] == [
        "flows/engine.py:1: imports bot.adapters.a",
        "flows/engine.py:2: imports wechatpy",
    ]
    assert graph_of.edges(graph_of.package_graph(root)) == {
        "bot": {"flows"},
        "bot.adapters": {"bot"},
        "flows": {"bot.adapters"},
    }


def test_the_circle_check_finds_a_long_circle() -> None:
    circles = graph_of.circles
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_between_packages() -> None:
    graph = graph_of.edges(graph_of.package_graph())
    assert {"bot", "bot.adapters", "flows", "storage", "knowledge", "push"} <= set(graph)
    assert graph_of.circles(graph) == []
    assert graph["storage"] == set()
    assert graph["bot"] <= {"storage"}
    assert not graph["bot.adapters"] & set(graph_of.FEATURE_PACKAGES)


def test_flows_import_no_adapter() -> None:
    """The journey talks to the platform through the core's neutral contract only."""
    assert [graph_of.where(found) for found in graph_of.flows_adapter_offences()] == []


def test_the_script_prints_the_graph_and_fails_on_a_circle(tmp_path: Path) -> None:
    script = str(REPO / "bench" / "import_graph.py")
    shown = subprocess.run([sys.executable, script], capture_output=True, text=True, check=False)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    lines = shown.stdout.splitlines()
    assert "  storage      -> (nothing)" in lines
    assert "circles: none" in lines and "core imports a feature: none" in lines
    assert any(line.startswith("  bot/adapters -> bot (") for line in lines)
    root = tree(
        tmp_path,
        {"bot/__init__.py": "import storage\n", "storage/__init__.py": "from bot import x\n"},
    )
    broken = subprocess.run(
        [sys.executable, script, str(root)], capture_output=True, text=True, check=False
    )
    assert broken.returncode == 1
    assert "circles: bot -> storage -> bot" in broken.stdout.splitlines()
