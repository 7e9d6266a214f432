"""Load workflow and tool definitions from files: YAML/JSON workflows and Python modules.

The rule (documented in docs/cli.md):

- ``.yaml``, ``.yml``, ``.json``: one workflow each, loaded by ``fluxio.definitions``; its
  ``tool`` steps call tools from the Python files given alongside (``--tools`` or PATHS).
- ``.py``: a module. Its tools are the module-level ``TOOLS``: a ``ToolRegistry`` or a dict of
  name -> callable. Its workflows are the module-level ``WORKFLOWS`` dict (name -> DSL workflow
  or ``async def (ctx, input)`` function) if it defines one, else every module-level DSL
  ``Workflow`` object (which ``@workflow`` functions are).
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from fluxio.definitions import load_workflow
from fluxio.definitions.tools import ToolRegistry
from fluxio.dsl import Workflow
from fluxio.errors import DefinitionError, FluxioError, UsageError

__all__ = ["DEFINITION_SUFFIXES", "Definitions", "load_definitions"]

DEFINITION_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass
class Definitions:
    """Workflows loaded from files, and where each came from.

    Attributes:
        workflows: workflow name -> what ``Engine.register`` accepts.
        origins: workflow name -> the file that defines it.
        tool_files: the Python files tools came from (needed to load the workflows again).
        tools: the merged tool registry.
    """

    workflows: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, Path] = field(default_factory=dict)
    tool_files: list[Path] = field(default_factory=list)
    tools: ToolRegistry = field(default_factory=ToolRegistry)

    def add(self, name: str, workflow: Any, origin: Path) -> None:
        """Add one workflow; a name defined twice is an error naming both files."""
        if name in self.workflows:
            raise DefinitionError(
                f"workflow {name!r} is defined twice: in {self.origins[name]} and in {origin}",
                file=str(origin),
                suggestion="Rename one of them or load only one of the files.",
            )
        self.workflows[name] = workflow
        self.origins[name] = origin

    def only(self, name: str | None) -> tuple[str, Any]:
        """The workflow to run: ``name`` if given, else the only one loaded."""
        names = sorted(self.workflows)
        if name is not None:
            if name not in self.workflows:
                raise UsageError(
                    f"no workflow named {name!r} in the given files; they define: "
                    f"{', '.join(names) or 'none'}"
                )
            return name, self.workflows[name]
        if len(names) != 1:
            listed = ", ".join(names) or "no workflows"
            raise UsageError(
                f"the given files define {listed}; choose one with --workflow NAME"
                if names
                else "the given files define no workflows: a .py file needs a WORKFLOWS dict "
                "or module-level DSL workflows (see docs/cli.md)"
            )
        return names[0], self.workflows[names[0]]


def load_definitions(
    paths: Sequence[Path], tool_paths: Sequence[Path] = (), *, builtins: bool = True
) -> Definitions:
    """Load workflows from ``paths`` and tools from ``tool_paths`` and every ``.py`` in ``paths``.

    With ``builtins``, workflows may also call fluxio's built-in tools (the user's win a name).

    Raises:
        UsageError: a file is missing or of an unknown kind.
        DefinitionError: a file is invalid (with file, line and a suggestion).
    """
    defs = Definitions()
    files = [_existing(p) for p in paths]
    tool_files = [_existing(p, python_only=True) for p in tool_paths]
    modules = {p: _import(p) for p in [*tool_files, *[f for f in files if f.suffix == ".py"]]}
    for path, module in modules.items():
        _add_tools(defs.tools, module, path)
        defs.tool_files.append(path)
    if builtins:
        _add_builtin_tools(defs.tools)
    for path in files:
        if path.suffix == ".py":
            for name, workflow in _module_workflows(modules[path], path).items():
                defs.add(name, workflow, path)
        else:
            workflow = load_workflow(path, tools=defs.tools)
            defs.add(workflow.name, workflow, path)
    return defs


def _add_builtin_tools(registry: ToolRegistry) -> None:
    """fluxio's built-in tools (files confined to the working directory, parsing, data), unless
    a user tool already has the name. The HTTP tools need a live client: use them from Python.
    """
    from fluxio.tools.builtin import builtin_tools

    for tool in builtin_tools(Path.cwd()):
        if registry.get(tool.name) is None:
            registry.register(tool)


def _existing(path: Path, *, python_only: bool = False) -> Path:
    resolved = path.expanduser().resolve()
    if not resolved.is_file():
        raise UsageError(f"no such file: {path}; check the path (relative to {Path.cwd()})")
    allowed = (".py",) if python_only else (*DEFINITION_SUFFIXES, ".py")
    if resolved.suffix.lower() not in allowed:
        raise UsageError(
            f"{path}: cannot load a {resolved.suffix or 'suffix-less'} file; give "
            f"{' or '.join(allowed)} files"
        )
    return resolved


def _import(path: Path) -> ModuleType:
    """Import a Python file as a module, turning any error into a ``DefinitionError``."""
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    name = f"fluxio_user_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        del sys.modules[name]
        raise DefinitionError(
            f"invalid Python: {exc.msg}", file=str(path), line=exc.lineno
        ) from exc
    except FluxioError:
        del sys.modules[name]
        raise
    except Exception as exc:  # user code boundary: report it as a definition error
        del sys.modules[name]
        raise DefinitionError(
            f"importing it raised {type(exc).__name__}: {exc}",
            file=str(path),
            line=_line_in(exc, path),
            suggestion="Fix the error in the module (run `python FILE` to see the traceback).",
        ) from exc
    finally:
        sys.path.remove(str(path.parent))
    return module


def _line_in(exc: BaseException, path: Path) -> int | None:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
    return frames[-1].lineno if frames else None


def _add_tools(registry: ToolRegistry, module: ModuleType, path: Path) -> None:
    tools = getattr(module, "TOOLS", None)
    if tools is None:
        return
    if isinstance(tools, ToolRegistry):
        for tool in tools.list(all_versions=True):
            registry.register(tool)  # keeps the tool's whole contract
        return
    if not isinstance(tools, Mapping):
        raise DefinitionError(
            f"TOOLS is a {type(tools).__name__}",
            file=str(path),
            suggestion="Make TOOLS a ToolRegistry or a dict of tool name -> callable.",
        )
    for name, fn in tools.items():
        try:
            registry.register(str(name), fn)
        except UsageError as exc:
            raise DefinitionError(str(exc), file=str(path)) from exc


def _module_workflows(module: ModuleType, path: Path) -> dict[str, Any]:
    declared = getattr(module, "WORKFLOWS", None)
    if declared is not None:
        if not isinstance(declared, Mapping):
            raise DefinitionError(
                f"WORKFLOWS is a {type(declared).__name__}",
                file=str(path),
                suggestion="Make WORKFLOWS a dict of workflow name -> workflow.",
            )
        return {str(k): v for k, v in declared.items()}
    return {
        value.name: value
        for attr, value in vars(module).items()
        if isinstance(value, Workflow) and not attr.startswith("_")
    }
