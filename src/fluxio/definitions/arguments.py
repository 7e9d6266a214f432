"""Check a tool step's ``inputs`` against the keyword arguments its callable accepts."""

from __future__ import annotations

import inspect
from collections.abc import Sequence

from fluxio.definitions.source import Path, Source
from fluxio.definitions.tools import RegisteredTool, closest

__all__ = ["check_arguments"]

_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def check_arguments(
    tool: RegisteredTool,
    step_id: str,
    given: Sequence[str],
    source: Source,
    inputs_path: Path,
    tool_path: Path,
) -> None:
    """Raise ``DefinitionError`` if ``given`` misses a required argument or names an unknown one.

    Callables whose signature cannot be read (some builtins) are not checked.
    """
    try:
        signature = inspect.signature(tool.fn)
    except (TypeError, ValueError):
        return
    params = list(signature.parameters.values())
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    names = [p.name for p in params if p.kind in _NAMED]
    if not accepts_any:
        for name in given:
            if name not in names:
                hint = closest(name, names)
                accepted = ", ".join(names) or "no arguments"
                raise source.error(
                    f"step {step_id!r} passes input {name!r}, which tool {tool.name!r} does not "
                    f"accept (it accepts: {accepted})",
                    (*inputs_path, name),
                    suggestion=f"Did you mean {hint!r}?" if hint else "Remove this input.",
                )
    for param in params:
        required = param.default is inspect.Parameter.empty
        if param.kind in _NAMED and required and param.name not in given:
            raise source.error(
                f"step {step_id!r} is missing input {param.name!r}, which tool {tool.name!r} "
                "requires",
                inputs_path if given else tool_path,
                suggestion=f"Add `{param.name}: <JMESPath expression>` (or "
                f"`{param.name}: {{value: ...}}`) under `inputs`.",
            )
        if param.kind is inspect.Parameter.POSITIONAL_ONLY and required:
            raise source.error(
                f"tool {tool.name!r} has a positional-only argument {param.name!r}; step "
                f"{step_id!r} can only pass named inputs",
                tool_path,
                suggestion="Register a wrapper that takes keyword arguments.",
            )
