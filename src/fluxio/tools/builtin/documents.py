"""Document tools: ``parse_document`` and ``chunk_content``.

``parse_document`` extracts structure from markdown, HTML, CSV, JSON or plain text;
``chunk_content`` splits text into overlapping chunks that respect paragraph and sentence breaks.
"""

from __future__ import annotations

import asyncio

from fluxio.errors import UsageError
from fluxio.tools import Tool, tool
from fluxio.tools.builtin.chunking import ChunkList, ChunkStrategy, split_text
from fluxio.tools.builtin.parsing import DocumentFormat, ParsedDocument, detect_format, parse
from fluxio.tools.builtin.workspace import Workspace, WorkspaceFileError

__all__ = ["chunk_content", "document_tools"]


@tool(
    category="text",
    tags=("text", "documents", "chunking"),
    capabilities=("chunk_content",),
    timeout=30.0,
)
async def chunk_content(
    content: str, max_size: int = 1000, overlap: int = 100, strategy: ChunkStrategy = "paragraph"
) -> ChunkList:
    """Split text into overlapping chunks of at most max_size characters, with offsets.

    Chunks end at paragraph or sentence boundaries where possible; each carries its index and
    its start/end character offsets in the content.

    Args:
        content: the text to split.
        max_size: the largest chunk, in characters.
        overlap: how many characters a chunk may repeat from the end of the previous one.
        strategy: 'paragraph' (prefer paragraph, then sentence breaks), 'sentence' (sentence
            breaks) or 'fixed' (cut exactly every max_size characters).
    """
    return await asyncio.to_thread(split_text, content, max_size, overlap, strategy)


def document_tools(workspace: Workspace | None) -> list[Tool]:
    """``parse_document`` (reading ``path`` from ``workspace`` if given) and ``chunk_content``."""

    @tool(
        category="text",
        tags=("text", "documents", "parsing"),
        capabilities=("parse_document",),
        timeout=30.0,
    )
    async def parse_document(
        content: str | None = None, path: str | None = None, format: DocumentFormat | None = None
    ) -> ParsedDocument:
        """Extract structure (title, sections, links, rows, data, plain text) from a document.

        Args:
            content: the document text; give this or path.
            path: a workspace file to read instead of content.
            format: 'markdown', 'html', 'csv', 'json' or 'text'; detected from the file
                extension or the content when omitted.
        """
        text, filename = await _source(workspace, content, path)
        chosen = format or detect_format(text, filename)
        return await asyncio.to_thread(parse, text, chosen, filename)

    return [parse_document, chunk_content]


async def _source(
    workspace: Workspace | None, content: str | None, path: str | None
) -> tuple[str, str | None]:
    if content is not None and path is None:
        return content, None
    if path is None or content is not None:
        raise UsageError("parse_document needs exactly one of content or path")
    if workspace is None:
        raise UsageError(
            "parse_document cannot read path: no workspace is configured; pass content"
        )
    return await asyncio.to_thread(_read, workspace, path), path


def _read(workspace: Workspace, path: str) -> str:
    file = workspace.target(path)
    if not file.is_file():
        raise WorkspaceFileError(f"cannot parse {path!r}: no such file in the workspace")
    size = file.stat().st_size
    if size > workspace.max_read_bytes:
        raise WorkspaceFileError(
            f"{path!r} is {size} bytes, over the workspace's {workspace.max_read_bytes}-byte "
            "read limit; split the file or raise the limit"
        )
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise WorkspaceFileError(f"{path!r} is not UTF-8 text (byte {exc.start})") from exc
