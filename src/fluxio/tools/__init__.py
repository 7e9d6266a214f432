"""Tools with a contract the runtime obeys: schemas, retries, side effects, versions.

```python
from fluxio.tools import ToolRegistry, call_tool, tool

@tool(category="text", side_effects=False)
async def shout(text: str) -> str:
    '''Upper-case text.'''
    return text.upper()

registry = ToolRegistry([shout])
result = await call_tool(ctx, registry.require("shout"), {"text": "hi"})   # a journaled step
```
"""

from fluxio.tools.contract import ErrorSpec, RetrySpec, ToolContract, ToolError
from fluxio.tools.decorator import ToolOptions, tool
from fluxio.tools.loader import load_tools
from fluxio.tools.registry import ToolRegistry
from fluxio.tools.runtime import Tool, call_tool

__all__ = [
    "ErrorSpec",
    "RetrySpec",
    "Tool",
    "ToolContract",
    "ToolError",
    "ToolOptions",
    "ToolRegistry",
    "call_tool",
    "load_tools",
    "tool",
]
