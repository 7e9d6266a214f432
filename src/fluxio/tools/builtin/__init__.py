"""fluxio's built-in atomic tools: files, documents, data, templates and HTTP.

``builtin_tools(workspace, http)`` builds them for one workspace root and one
``OutboundClient``; ``builtin_registry`` puts them in a fresh ``ToolRegistry``.

| tool | side effects | idempotent |
| --- | --- | --- |
| read_file, list_files | no | yes |
| write_file, delete_file, copy_file | yes | yes |
| append_file, move_file | yes | no |
| parse_document, chunk_content, format_output | no | yes |
| transform_data, validate_schema, check_condition | no | yes |
| http_get | no | yes |
| http_request | yes | no |
"""

from __future__ import annotations

from pathlib import Path

from fluxio.tools import Tool
from fluxio.tools.builtin.chunking import Chunk, ChunkList
from fluxio.tools.builtin.data import (
    ConditionResult,
    SchemaValidation,
    SchemaViolation,
    TransformResult,
    check_condition,
    transform_data,
    validate_schema,
)
from fluxio.tools.builtin.documents import chunk_content, document_tools
from fluxio.tools.builtin.files import file_tools
from fluxio.tools.builtin.parsing import Link, ParsedDocument, Section
from fluxio.tools.builtin.templates import FormattedOutput, format_output
from fluxio.tools.builtin.web import HttpResult, web_tools
from fluxio.tools.builtin.workspace import PathOutsideWorkspace, Workspace, WorkspaceFileError
from fluxio.tools.outbound import OutboundClient
from fluxio.tools.registry import ToolRegistry

__all__ = [
    "Chunk",
    "ChunkList",
    "ConditionResult",
    "FormattedOutput",
    "HttpResult",
    "Link",
    "ParsedDocument",
    "PathOutsideWorkspace",
    "SchemaValidation",
    "SchemaViolation",
    "Section",
    "TransformResult",
    "Workspace",
    "WorkspaceFileError",
    "builtin_registry",
    "builtin_tools",
    "check_condition",
    "chunk_content",
    "format_output",
    "transform_data",
    "validate_schema",
]


def builtin_tools(
    workspace: Path | str | Workspace, http: OutboundClient | None = None
) -> list[Tool]:
    """Every built-in tool, the file tools confined to ``workspace``.

    Args:
        workspace: the root folder file tools may use (a ``Workspace`` to set size limits).
        http: the outbound client for ``http_get`` and ``http_request``; without one those
            two tools are left out (the caller owns the client and closes it).

    Raises:
        UsageError: ``workspace`` is not an existing folder.
    """
    root = workspace if isinstance(workspace, Workspace) else Workspace.at(workspace)
    tools = [
        *file_tools(root),
        *document_tools(root),
        transform_data,
        validate_schema,
        check_condition,
        format_output,
    ]
    if http is not None:
        tools.extend(web_tools(http))
    return tools


def builtin_registry(
    workspace: Path | str | Workspace, http: OutboundClient | None = None
) -> ToolRegistry:
    """A new ``ToolRegistry`` holding ``builtin_tools(workspace, http)``."""
    return ToolRegistry(builtin_tools(workspace, http))
