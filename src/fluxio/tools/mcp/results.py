"""What an MCP tool call returns to fluxio: a JSON value, or a ``StepFailed`` that says why.

- structured content, when the server sends it, is the value (it matches the output schema);
- otherwise the content blocks become one string: text joined with newlines, embedded text
  resources inlined, and a short bracketed note for images, audio, blobs and links;
- ``isError`` results fail the step without retry, carrying the server's text;
- a value larger than the server's ``max_output_bytes`` fails the step without retry.
"""

from __future__ import annotations

import json
from typing import Any

import mcp_types
from mcp_types import CallToolResult

from fluxio.errors import StepFailed

__all__ = ["too_large", "tool_value"]


def tool_value(result: CallToolResult, *, server: str, tool: str, limit: int) -> Any:
    """The JSON value of a successful call.

    Raises:
        StepFailed: the server reported an error (not retryable), or the value is larger than
            ``limit`` bytes (not retryable).
    """
    if result.is_error:
        text = content_text(result.content) or "no error text"
        raise StepFailed(
            f"tool {tool!r} on MCP server {server!r} reported an error: {text}",
            retryable=False,
            error_type="MCPToolError",
        )
    value: Any = result.structured_content
    if value is None:
        value = content_text(result.content)
    size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    if size > limit:
        raise too_large(server, f"calling tool {tool!r}", limit, size)
    return value


def too_large(server: str, what: str, limit: int, size: int | None = None) -> StepFailed:
    """The error for an answer past the byte cap (``size`` when it is known).

    Args:
        server: the server's name.
        what: what was asked, e.g. ``"calling tool 'search'"``.
        limit: the cap that was passed, in bytes.
        size: the answer's size, when it is known.
    """
    measured = f"{size} bytes" if size is not None else f"more than {limit} bytes"
    return StepFailed(
        f"MCP server {server!r} answered {measured} while {what}, over the limit of "
        f"{limit} bytes; ask the tool for less (a narrower query, a page) or raise the "
        f"server's max_output_bytes (`fluxio mcp add {server} ... --max-output-bytes N`)",
        retryable=False,
        error_type="MCPOutputTooLarge",
    )


def content_text(blocks: list[mcp_types.ContentBlock]) -> str:
    """The content blocks of a result as one string."""
    return "\n".join(_block_text(block) for block in blocks)


def _block_text(block: mcp_types.ContentBlock) -> str:
    if isinstance(block, mcp_types.TextContent):
        return block.text
    if isinstance(block, mcp_types.ImageContent | mcp_types.AudioContent):
        return f"[{block.type} {block.mime_type}, {len(block.data)} base64 characters]"
    if isinstance(block, mcp_types.EmbeddedResource):
        resource = block.resource
        if isinstance(resource, mcp_types.TextResourceContents):
            return resource.text
        return f"[resource {resource.uri} {resource.mime_type or ''}, binary]".replace(" ,", ",")
    if isinstance(block, mcp_types.ResourceLink):
        return f"[resource link {block.uri}{' ' + block.name if block.name else ''}]"
    return f"[{getattr(block, 'type', 'unknown')} content]"
