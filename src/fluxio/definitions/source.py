"""A workflow definition's text as data with the line of every value (``fluxio.yamlsource``).

Definitions are validated after parsing, so every later error needs to say where in the file
the offending value is: ``Source.error`` points at a data path.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fluxio.errors import DefinitionError
from fluxio.yamlsource import DataPath, LineMap, parse_yaml

__all__ = ["LineMap", "Path", "Source", "parse_source"]

Path = DataPath


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
    data, lines = parse_yaml(text, file, what="the definition")
    if data is None:
        raise DefinitionError(
            "the definition is empty",
            file=file,
            line=1,
            suggestion="Start with `name:` and a list of `steps:` (see docs/yaml.md).",
        )
    return Source(data, file, lines)


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
