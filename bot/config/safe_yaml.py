"""YAML for files people hand the bot (config, knowledge, flows): no alias bombs.

PyYAML builds aliases as shared objects, so a 300-byte "billion laughs" file
loads quickly and then explodes in whatever walks it (validation, indexing):
one such config reached 7 GB. The document is composed first and the size
it would have with every alias written out is counted on the node graph
(each node once); a document whose aliases add more than
:data:`ALIAS_BUDGET` nodes, or that refers to itself, is refused before
anything is built.
"""

from __future__ import annotations

from typing import Any

import yaml

#: nodes that aliases may add beyond the document as written (a config's handful
#: of ``<<: *defaults`` uses far less; a bomb needs billions)
ALIAS_BUDGET = 10_000


class AliasBombError(yaml.MarkedYAMLError):
    """Aliases that would expand the document beyond the budget, or into itself."""


def safe_load(text: str) -> Any:
    """Like :func:`yaml.safe_load`, but refuses alias bombs with a :class:`yaml.YAMLError`."""
    return compose_and_load(text)[1]


def compose_and_load(text: str) -> tuple[yaml.Node | None, Any]:
    """Both the node tree (for line numbers) and the data, parsing ``text`` once."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_expansion(node)
        return node, loader.construct_document(node)
    finally:
        loader.dispose()


def _check_expansion(root: yaml.Node) -> None:
    walk = _Walk()
    try:
        expanded = walk.size(root)
    except RecursionError:
        raise AliasBombError(problem="nested too deeply", problem_mark=root.start_mark) from None
    added = expanded - len(walk.sizes)
    if added > ALIAS_BUDGET:
        anchor = walk.biggest_reused or root
        raise AliasBombError(
            problem=(
                f"aliases (*name) would expand this document by {added:,} values "
                f"(limit {ALIAS_BUDGET:,}); write the values out instead of nesting aliases"
            ),
            problem_mark=anchor.start_mark,
        )


class _Walk:
    """Measures the alias-expanded size of a node graph, each distinct node once."""

    def __init__(self) -> None:
        self.sizes: dict[int, int] = {}
        self.open: set[int] = set()
        #: the collection that uses the biggest alias (where the error points)
        self.biggest_reused: yaml.Node | None = None
        self._biggest = 0

    def size(self, node: yaml.Node, parent: yaml.Node | None = None) -> int:
        key = id(node)
        if key in self.sizes:  # reached again: an alias
            if self.sizes[key] > self._biggest:
                self._biggest, self.biggest_reused = self.sizes[key], parent
            return self.sizes[key]
        if key in self.open:
            raise AliasBombError(
                problem="an alias refers to a node that contains it (a recursive document)",
                problem_mark=(parent or node).start_mark,
            )
        self.open.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(self.size(item, node) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(self.size(k, node) + self.size(v, node) for k, v in node.value)
        self.open.discard(key)
        self.sizes[key] = total
        return total
