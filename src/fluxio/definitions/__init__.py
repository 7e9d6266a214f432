"""Workflows defined in YAML or JSON (seed ``000`` Workflow schema), run on the durable kernel.

``load_workflow(path, tools=registry)`` checks a definition completely at load time (every
error names file, line and a fix) and returns a ``YamlWorkflow`` that ``Engine.register``
accepts. See docs/yaml.md for the format.
"""

from fluxio.definitions.actions import approval_signal
from fluxio.definitions.loader import load_workflow
from fluxio.definitions.tools import RegisteredTool, ToolRegistry, ToolResolver
from fluxio.definitions.workflow import YamlWorkflow

__all__ = [
    "RegisteredTool",
    "ToolRegistry",
    "ToolResolver",
    "YamlWorkflow",
    "approval_signal",
    "load_workflow",
]
