"""Read YAML (or JSON) into plain data while remembering the line of every key and value.

Definitions of every kind (workflows, tools, agents, policies) are validated after parsing,
so every later error needs to say where in the file the offending value is. ``parse_yaml``
walks PyYAML's node tree (which carries marks) and returns the data with a ``LineMap`` from
data paths to 1-based lines. A repeated mapping key is an error here (YAML would silently keep
the last one), and so is a key that is a list or a mapping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from fluxio.errors import DefinitionError

__all__ = ["DataPath", "LineMap", "parse_yaml"]

DataPath = tuple[str | int, ...]


@dataclass(frozen=True)
class LineMap:
    """Where each value of a parsed document starts: data path -> 1-based line."""

    lines: dict[DataPath, int] = field(default_factory=dict)

    def line(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path``, or of its closest enclosing value that has one."""
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), None)


def parse_yaml(
    text: str, file: str, *, what: str = "the file", multi: bool = False
) -> tuple[Any, LineMap]:
    """Parse ``text`` into plain data and its line map.

    Args:
        text: the YAML (or JSON) text.
        file: names the text in errors.
        what: names it in the parse error (``cannot parse {what}: ...``).
        multi: accept several documents (``---``); the data is then their list and paths
            start with the document's index.

    Returns:
        The data (``None`` for an empty single document) and the line map.

    Raises:
        DefinitionError: the text does not parse, or a mapping repeats a key or has a key
            that is not a plain value.
    """
    loader = yaml.SafeLoader(text)
    lines: dict[DataPath, int] = {}
    try:
        if multi:
            documents: list[Any] = []
            while loader.check_node():
                node = loader.get_node()
                at: DataPath = (len(documents),)
                documents.append(None if node is None else _data(node, at, lines, loader, file))
            return documents, LineMap(lines)
        node = loader.get_single_node()
        data = None if node is None else _data(node, (), lines, loader, file)
        return data, LineMap(lines)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise DefinitionError(
            f"cannot parse {what}: {exc.problem or 'the text is not valid YAML'}",
            file=file,
            line=mark.line + 1 if mark is not None else None,
            suggestion="Check the indentation and quoting around this line.",
        ) from exc
    except yaml.YAMLError as exc:
        raise DefinitionError(f"cannot parse {what}: {exc}", file=file) from exc
    finally:
        loader.dispose()


def _data(
    node: yaml.Node, path: DataPath, lines: dict[DataPath, int], loader: yaml.SafeLoader, file: str
) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, list | dict):
                raise DefinitionError("a mapping key must be a plain value", file=file, line=line)
            if key in result:
                raise DefinitionError(
                    f"key {key!r} appears twice in the same mapping",
                    file=file,
                    line=line,
                    suggestion="Remove or rename one of them; YAML would silently keep the last.",
                )
            lines[(*path, key)] = line
            result[key] = _data(value_node, (*path, key), lines, loader, file)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_data(item, (*path, i), lines, loader, file) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
