"""YAML text into plain data: PyYAML's safe loader, made strict.

Imported only when a YAML document is read (PyYAML takes 14 ms to import). ``StrictLoader``
rejects a key written twice in one mapping (PyYAML keeps the last value) and records the line
of every key and collection; ``TextLoader`` also reads every plain scalar as text, for front
matter.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import yaml

__all__ = ["DuplicateKeyError", "StrictLoader", "TextLoader", "yaml_problem"]

if TYPE_CHECKING:
    _BaseLoader = yaml.SafeLoader
else:  # the C loader is several times faster on large plans, when PyYAML was built with it
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DuplicateKeyError(Exception):
    """A key written twice in one mapping: where, and the path and task it lies in."""

    def __init__(
        self,
        key: object,
        *,
        line: int,
        column: int,
        first_line: int,
        path: list[object],
        task: str | None,
    ) -> None:
        self.key = key
        self.line = line
        self.column = column
        self.first_line = first_line
        self.path = path
        self.task = task


_MERGE_TAG = "tag:yaml.org,2002:merge"
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")


class StrictLoader(_BaseLoader):
    """SafeLoader that rejects duplicate keys and records where each key was written.

    A duplicate key is reported with its task and field: the path to its mapping is found in the
    node tree only then, so that loading a valid file pays nothing for it.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.key_lines: dict[int, dict[object, int]] = {}
        self.node_lines: dict[int, int] = {}
        self._root: yaml.Node | None = None
        self._merged_pairs: dict[yaml.Node, int] = {}

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        """Resolve ``<<`` merges, remembering how many of the node's pairs were merged in.

        Merged pairs come first and the keys written in the mapping may override them, as YAML
        says; only a key written twice in the mapping itself is a duplicate.
        """
        if node in self._merged_pairs:
            return
        written = sum(1 for key_node, _ in node.value if key_node.tag != _MERGE_TAG)
        has_merges = written < len(node.value)
        super().flatten_mapping(node)
        if has_merges:  # most mappings have none, and need no entry
            self._merged_pairs[node] = len(node.value) - written

    def construct_document(self, node: yaml.Node) -> Any:
        self._root = node
        return super().construct_document(node)

    def _locate(self, target: yaml.Node) -> tuple[list[object], list[yaml.Node]]:
        """Keys and indices from the top of the document down to ``target``, and the nodes."""
        pending: list[tuple[yaml.Node, list[object], list[yaml.Node]]] = []
        if self._root is not None:
            pending.append((self._root, [], []))
        visited: set[int] = set()
        while pending:
            node, path, nodes = pending.pop()
            if node is target:
                return path, [*nodes, node]
            if id(node) in visited:
                continue
            visited.add(id(node))
            if isinstance(node, yaml.MappingNode):
                children = [(value, key.value) for key, value in node.value]
            elif isinstance(node, yaml.SequenceNode):
                children = [(child, index) for index, child in enumerate(node.value)]
            else:
                continue
            # reversed, so that the first place in the document is searched first
            pending.extend((child, [*path, step], [*nodes, node]) for child, step in children[::-1])
        return [], [target]

    def _duplicate(
        self, node: yaml.MappingNode, key_node: yaml.Node, key: object, first_line: int
    ) -> DuplicateKeyError:
        """The error for ``key`` written again at ``key_node`` in the mapping ``node``."""
        path, nodes = self._locate(node)
        task = None
        if len(path) >= 2 and path[0] == "tasks":
            if isinstance(nodes[1], yaml.MappingNode):  # tasks given as a mapping
                task = str(path[1])
            else:
                task = self._scalar_id(nodes[2])
        mark = key_node.start_mark
        return DuplicateKeyError(
            key,
            line=mark.line + 1,
            column=mark.column + 1,
            first_line=first_line,
            path=path,
            task=task,
        )

    def _scalar_id(self, node: yaml.Node) -> str | None:
        """The ``id`` of a task's mapping node: the first written in it, else the merged one."""
        if not isinstance(node, yaml.MappingNode):
            return None
        merged = self._merged_pairs.get(node, 0)
        # of merged pairs the last one wins, as in the data built from them
        for key_node, value_node in node.value[merged:] + node.value[:merged][::-1]:
            if key_node.value == "id" and isinstance(value_node, yaml.ScalarNode):
                return str(value_node.value)
        return None

    def construct_strict_map(self, node: yaml.MappingNode) -> Iterator[dict[Any, Any]]:
        data: dict[Any, Any] = {}
        yield data
        self.flatten_mapping(node)
        merged = self._merged_pairs.get(node, 0)
        lines: dict[object, int] = {}
        seen: set[object] = set()
        for position, (key_node, value_node) in enumerate(node.value):
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain value", key_node.start_mark
                ) from None
            if position >= merged:
                if key in seen:
                    raise self._duplicate(node, key_node, key, lines[key])
                seen.add(key)
            lines[key] = key_node.start_mark.line + 1
            data[key] = self.construct_object(value_node, deep=True)
        self.key_lines[id(data)] = lines
        self.node_lines[id(data)] = node.start_mark.line + 1

    def construct_plain_int(self, node: yaml.ScalarNode) -> int | str:
        """An integer written as JSON and YAML 1.2 write one (``12``, ``-3``); the other forms
        YAML 1.1 reads as integers stay text (``010`` would be 8, ``0x10`` 16, ``1_000`` 1000,
        ``1:30`` 90), so an id ``010`` is not renamed ``8`` and a duration ``1:30`` is not 90
        without a word: the field's check then says what it expected."""
        text = str(self.construct_scalar(node))
        return int(text) if _DECIMAL.match(text) else text

    def construct_plain_float(self, node: yaml.ScalarNode) -> float | str:
        """A float, except the YAML 1.1 forms with ``_`` or ``:`` (``1:30.5`` is 90.5): text."""
        text = str(self.construct_scalar(node))
        if "_" in text or ":" in text:
            return text
        return float(self.construct_yaml_float(node))

    def construct_plain_bool(self, node: yaml.ScalarNode) -> bool | str:
        """``true`` and ``false`` (any case, as YAML 1.2 and JSON write them); the words YAML 1.1
        also reads as booleans stay text (``yes``, ``no``, ``on``, ``off``), so an id ``no`` or
        a state named ``on`` is not a boolean, and ``done: yes`` is an error naming the field."""
        text = str(self.construct_scalar(node))
        return text.lower() == "true" if text.lower() in ("true", "false") else text

    def construct_strict_seq(self, node: yaml.SequenceNode) -> Iterator[list[Any]]:
        data: list[Any] = []
        yield data
        data.extend(self.construct_object(child, deep=True) for child in node.value)
        self.node_lines[id(data)] = node.start_mark.line + 1


StrictLoader.add_constructor("tag:yaml.org,2002:map", StrictLoader.construct_strict_map)
StrictLoader.add_constructor("tag:yaml.org,2002:seq", StrictLoader.construct_strict_seq)
StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_plain_int)
StrictLoader.add_constructor("tag:yaml.org,2002:float", StrictLoader.construct_plain_float)
StrictLoader.add_constructor("tag:yaml.org,2002:bool", StrictLoader.construct_plain_bool)


def yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    """PyYAML's description of a syntax error, completed when its problem only reads as a tail."""
    problem = exc.problem or exc.context or "cannot be parsed"
    if exc.context and exc.problem and exc.problem.startswith("but "):
        # "expected a single document in the stream" / "but found another document"
        return f"{exc.context}, {exc.problem}"
    return problem


class TextLoader(StrictLoader):
    """The strict loader (duplicate keys are errors, key lines recorded) with every plain
    scalar read as text: no implicit ints, booleans, dates or octal numbers."""

    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 - PyYAML's class attribute
