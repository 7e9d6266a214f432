"""Split text into overlapping chunks that end at paragraph or sentence boundaries when they can.

The split is deterministic: the same text and settings always give the same chunks, and every
chunk's ``text`` equals ``content[start:end]``.
"""

from __future__ import annotations

import bisect
import re
from typing import Literal

from pydantic import BaseModel

from fluxio.errors import UsageError

__all__ = ["Chunk", "ChunkList", "ChunkStrategy", "split_text"]

ChunkStrategy = Literal["paragraph", "sentence", "fixed"]

_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
_SENTENCE = re.compile(r"[.!?…][\"'”’)\]]*\s+")
_WORD = re.compile(r"\s+")
_LEVELS: dict[str, tuple[re.Pattern[str], ...]] = {
    "paragraph": (_PARAGRAPH, _SENTENCE, _WORD),
    "sentence": (_SENTENCE, _WORD),
    "fixed": (),
}


class Chunk(BaseModel):
    """One chunk: its position in the list and its character span in the content."""

    index: int
    start: int
    end: int
    text: str


class ChunkList(BaseModel):
    """What ``chunk_content`` returns."""

    chunks: list[Chunk]
    strategy: ChunkStrategy
    max_size: int
    overlap: int


def split_text(text: str, max_size: int, overlap: int, strategy: ChunkStrategy) -> ChunkList:
    """Split ``text`` into chunks of at most ``max_size`` characters.

    A chunk ends at the last paragraph boundary past half of ``max_size``, else at a sentence
    boundary, else between words, else exactly at ``max_size`` (``fixed`` always cuts there).
    The next chunk starts up to ``overlap`` characters before the previous end, at a boundary.

    Raises:
        UsageError: ``max_size`` is below 1, ``overlap`` is negative or not below ``max_size``.
    """
    if max_size < 1 or overlap < 0 or overlap >= max_size:
        raise UsageError(
            f"chunk sizes are invalid (max_size={max_size}, overlap={overlap}); give "
            "max_size >= 1 and 0 <= overlap < max_size"
        )
    levels = [_positions(pattern, text) for pattern in _LEVELS[strategy]]
    every = sorted({p for level in levels for p in level})
    trim = strategy != "fixed"
    chunks: list[Chunk] = []
    start = 0
    while start < len(text):
        end = _cut(start, max_size, len(text), levels, every)
        first, last = _trimmed(text, start, end) if trim else (start, end)
        if first < last:
            chunks.append(Chunk(index=len(chunks), start=first, end=last, text=text[first:last]))
        if end >= len(text):
            break
        start = _next_start(start, end, overlap, levels)
    return ChunkList(chunks=chunks, strategy=strategy, max_size=max_size, overlap=overlap)


def _positions(pattern: re.Pattern[str], text: str) -> list[int]:
    return [match.end() for match in pattern.finditer(text)]


def _cut(start: int, size: int, length: int, levels: list[list[int]], every: list[int]) -> int:
    limit = start + size
    if limit >= length:
        return length
    for positions in levels:
        best = _last_in(positions, start + size // 2, limit)
        if best is not None:
            return best
    best = _last_in(every, start, limit)
    return best if best is not None else limit


def _last_in(positions: list[int], low: int, high: int) -> int | None:
    """The largest position in (low, high], if any."""
    i = bisect.bisect_right(positions, high) - 1
    return positions[i] if i >= 0 and positions[i] > low else None


def _next_start(start: int, end: int, overlap: int, levels: list[list[int]]) -> int:
    """Where the next chunk starts: the earliest boundary of the coarsest level in the overlap."""
    target = end - overlap
    if overlap == 0:
        return end
    if not levels:
        return max(target, start + 1)
    for positions in levels:
        i = bisect.bisect_left(positions, target)
        if i < len(positions) and start < positions[i] < end:
            return positions[i]
    return end


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
