"""Read YAML or JSON text into plain data while remembering the line of every key and value.

Definitions are validated after parsing, so every later error needs to say where in the file
the offending value is. ``parse_source`` walks PyYAML's node tree (which carries marks) and
returns the data together with a ``LineMap`` from data paths to 1-based line numbers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from fluxio.errors import DefinitionError

__all__ = ["LineMap", "Path", "Source", "parse_source"]

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class LineMap:
    """Where each value of a parsed document starts: data path -> 1-based line."""

    lines: dict[Path, int] = field(default_factory=dict)

    def line(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path``, or of its closest enclosing value that has one."""
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), None)


@dataclass(frozen=True)
class Source:
    """A parsed definition: its data, where it came from, and its line map."""

    data: Any
    file: str
    lines: LineMap

    def error(
        self, message: str, path: Sequence[str | int] = (), suggestion: str | None = None
    ) -> DefinitionError:
        """A ``DefinitionError`` pointing at ``path`` in this source."""
        if suggestion and not message.endswith((".", "?", "!")):
            message += "."
        return DefinitionError(
            message, file=self.file, line=self.lines.line(path), suggestion=suggestion
        )


def parse_source(text: str, file: str, *, is_json: bool = False) -> Source:
    """Parse YAML (or JSON, which YAML reads too) into data plus a line map.

    Raises:
        DefinitionError: the text does not parse, is empty, or repeats a mapping key.
    """
    if is_json:
        _check_json(text, file)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or "the text is not valid YAML"
        raise DefinitionError(
            f"cannot parse the definition: {problem}",
            file=file,
            line=line,
            suggestion="Check the indentation and quoting around this line.",
        ) from exc
    except yaml.YAMLError as exc:
        raise DefinitionError(f"cannot parse the definition: {exc}", file=file) from exc
    finally:
        loader.dispose()
    if node is None:
        raise DefinitionError(
            "the definition is empty",
            file=file,
            line=1,
            suggestion="Start with `name:` and a list of `steps:` (see docs/yaml.md).",
        )
    lines: dict[Path, int] = {}
    data = _to_data(node, (), lines, loader, file)
    return Source(data, file, LineMap(lines))


def _check_json(text: str, file: str) -> None:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise DefinitionError(
            f"cannot parse the JSON definition: {exc.msg}",
            file=file,
            line=exc.lineno,
            suggestion="Check for a missing comma, quote or bracket near this line.",
        ) from exc


def _to_data(
    node: yaml.Node, path: Path, lines: dict[Path, int], loader: yaml.SafeLoader, file: str
) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                raise DefinitionError(
                    "a mapping key must be a plain value",
                    file=file,
                    line=key_node.start_mark.line + 1,
                )
            if key in result:
                raise DefinitionError(
                    f"key {key!r} appears twice in the same mapping",
                    file=file,
                    line=key_node.start_mark.line + 1,
                    suggestion="Remove or rename one of them; YAML would silently keep the last.",
                )
            child = (*path, key)
            lines[child] = key_node.start_mark.line + 1
            result[key] = _to_data(value_node, child, lines, loader, file)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _to_data(item, (*path, i), lines, loader, file) for i, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)
