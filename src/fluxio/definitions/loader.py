"""``load_workflow``: read, validate and compile a YAML/JSON workflow definition.

Three stages, each failing with a ``DefinitionError`` that names the file and line and says
how to fix it: parsing (``source``), shape (pydantic models in ``schema``, unknown fields
refused), and meaning (``compiler``: references, types, expressions, cycles, tools).
"""

from __future__ import annotations

import os
import re
from pathlib import Path as FilePath
from typing import Any

from pydantic import AliasChoices, BaseModel, ValidationError

from fluxio.definitions import schema
from fluxio.definitions.agents import AgentResolver
from fluxio.definitions.compiler import compile_plan
from fluxio.definitions.source import Path, Source, parse_source
from fluxio.definitions.tools import ToolResolver, closest
from fluxio.definitions.workflow import YamlWorkflow
from fluxio.errors import DefinitionError

__all__ = ["load_workflow"]

SUFFIXES = (".yaml", ".yml", ".json")
_MODELS: dict[tuple[str, ...], type[BaseModel]] = {
    (): schema.WorkflowSpec,
    ("trigger",): schema.TriggerSpec,
    ("trigger", "specification"): schema.TriggerSpecification,
    ("steps", "*"): schema.StepSpec,
    ("steps", "*", "wait_for"): schema.WaitForSpec,
    ("steps", "*", "retry_config"): schema.RetryConfigSpec,
    ("steps", "*", "branches", "*"): schema.BranchSpec,
    ("outputs", "*"): schema.OutputSpec,
}


def load_workflow(
    path_or_text: str | os.PathLike[str],
    *,
    tools: ToolResolver,
    agents: AgentResolver | None = None,
) -> YamlWorkflow:
    """Load a workflow from a ``.yaml``/``.yml``/``.json`` file, or from YAML/JSON text.

    A ``str`` is a path when it is one line ending in one of those suffixes; any other string
    is the definition itself (reported as ``<string>`` in errors).

    Args:
        path_or_text: the file, or the definition's text.
        tools: resolves the names in ``tool:`` fields to callables.
        agents: resolves the names in ``agent:`` fields (an ``AgentRegistry``); the agents
            must be deployed in an ``AgentRuntime`` on the engine that runs the workflow.

    Raises:
        DefinitionError: the definition is invalid; the message gives file, line and a fix.
    """
    text, file, is_json = _read(path_or_text)
    source = parse_source(text, file, is_json=is_json)
    if not isinstance(source.data, dict):
        raise source.error(
            f"the definition must be a mapping, not a {type(source.data).__name__}",
            suggestion="Start the file with `name: <workflow name>` and `steps:`.",
        )
    spec = _validate(source)
    return YamlWorkflow(spec, compile_plan(spec, source, tools, agents))


def _read(path_or_text: str | os.PathLike[str]) -> tuple[str, str, bool]:
    if isinstance(path_or_text, str) and not _looks_like_path(path_or_text):
        return path_or_text, "<string>", False
    path = FilePath(path_or_text)
    if path.suffix.lower() not in SUFFIXES:
        raise DefinitionError(
            f"cannot load {str(path)!r}: workflow definitions are .yaml, .yml or .json files",
            file=str(path),
            suggestion="Rename the file or pass its text instead of its path.",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DefinitionError(
            "no such file", file=str(path), suggestion="Check the path and the working directory."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(f"cannot read the file: {exc}", file=str(path)) from exc
    return text, str(path), path.suffix.lower() == ".json"


def _looks_like_path(text: str) -> bool:
    return "\n" not in text and text.strip().lower().endswith(SUFFIXES)


def _validate(source: Source) -> schema.WorkflowSpec:
    try:
        return schema.WorkflowSpec.model_validate(source.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise _explain(source, tuple(first["loc"]), first) from None


def _explain(source: Source, loc: tuple[Any, ...], error: Any) -> DefinitionError:
    path = _data_path(source.data, loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(path[-1])
        allowed = _fields(path[:-1])
        hint = closest(key, allowed)
        listing = f"Allowed here: {', '.join(allowed)}."
        return source.error(
            f"{_owner(source, path[:-1])}: unknown field `{key}`",
            path,
            suggestion=f"Did you mean `{hint}`? {listing}" if hint else listing,
        )
    if kind == "missing":
        key = str(loc[-1])
        return source.error(
            f"{_owner(source, path)}: required field `{key}` is missing",
            path,
            suggestion=f"Add `{key}: ...`; see docs/yaml.md for the format.",
        )
    message = str(error["msg"]).removeprefix("Value error, ")
    got = error.get("input")
    suggestion = None
    expected = (error.get("ctx") or {}).get("expected")
    if kind == "literal_error" and expected:
        choices = re.findall(r"'([^']*)'", str(expected))
        hint = closest(str(got), choices)
        suggestion = f"Did you mean {hint!r}?" if hint else None
    shown = f" (got {got!r})" if isinstance(got, str | int | float | bool) else ""
    return source.error(f"{_owner(source, path)}: {message}{shown}", path, suggestion=suggestion)


def _data_path(data: Any, loc: tuple[Any, ...]) -> Path:
    """The part of a pydantic error location that exists in the data (drops union tags)."""
    path: list[str | int] = []
    node = data
    for segment in loc:
        if _has(node, segment):
            node = node[segment]
            path.append(segment)
        elif isinstance(node, dict) and isinstance(segment, str):
            path.append(segment)  # a key the data lacks (missing or unknown): keep, then stop
            break
    return tuple(path)


def _has(node: Any, segment: Any) -> bool:
    if isinstance(node, dict):
        return segment in node
    return isinstance(node, list) and isinstance(segment, int) and 0 <= segment < len(node)


def _owner(source: Source, path: Path) -> str:
    data = source.data
    if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
        step = data["steps"][path[1]]
        name = step.get("id") or step.get("step_id") if isinstance(step, dict) else None
        rest = ".".join(str(p) for p in path[2:])
        where = f"step {name!r}" if name else f"step #{path[1] + 1}"
        return f"{where} `{rest}`" if rest else where
    return f"`{'.'.join(str(p) for p in path)}`" if path else "the workflow"


def _fields(path: Path) -> list[str]:
    pattern = tuple("*" if isinstance(p, int) else p for p in path)
    model = _MODELS.get(pattern)
    if model is None:
        return []
    names: list[str] = []
    for name, info in model.model_fields.items():
        alias = info.validation_alias
        names.extend([str(c) for c in alias.choices] if isinstance(alias, AliasChoices) else [name])
    return names
