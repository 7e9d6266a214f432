"""Agents: definitions, a registry with a lifecycle, and a tool-calling loop that is a run.

```python
from fluxio.agents import AgentDefinition, AgentRuntime

runtime = AgentRuntime(engine, tools=tools, model=model)
await runtime.deploy(AgentDefinition(name="helper", tools=["shout"]))
result = await runtime.run("helper", "Shout hello")     # an AgentResult
```

Every model call and tool call of a task is a journaled step of the run ``agent:<name>``: a
task resumed after a crash asks the model nothing it already answered and repeats no recorded
tool call. See docs/agents.md.
"""

from fluxio.agents.definition import AgentDefinition, AgentStatus, AgentType, workflow_name
from fluxio.agents.delegation import AgentTool, agent_as_tool, call_agent
from fluxio.agents.loader import load_agents
from fluxio.agents.loop import APPROVAL_SIGNAL, AgentLoop
from fluxio.agents.records import (
    AgentInputInvalid,
    AgentResult,
    AgentStopped,
    AgentTask,
    Constraints,
    StopReason,
    ToolUse,
)
from fluxio.agents.registry import AgentRecord, AgentRegistry, Lifecycle, check_tools
from fluxio.agents.runtime import AgentRuntime, Binding

__all__ = [
    "APPROVAL_SIGNAL",
    "AgentDefinition",
    "AgentInputInvalid",
    "AgentLoop",
    "AgentRecord",
    "AgentRegistry",
    "AgentResult",
    "AgentRuntime",
    "AgentStatus",
    "AgentStopped",
    "AgentTask",
    "AgentTool",
    "AgentType",
    "Binding",
    "Constraints",
    "Lifecycle",
    "StopReason",
    "ToolUse",
    "agent_as_tool",
    "call_agent",
    "check_tools",
    "load_agents",
    "workflow_name",
]
