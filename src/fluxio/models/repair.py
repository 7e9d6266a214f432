"""Deterministic repair of almost-JSON that models write: fences, prose, quotes, commas.

Small and local models often wrap JSON in a markdown fence, add a sentence around it, use
single quotes or Python literals, or leave a trailing comma. ``repair_json`` undoes exactly
those, without guessing at anything else.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["repair_json"]

_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_PY_LITERAL = re.compile(r"\b(True|False|None)\b")
_PY_LITERALS = {"True": "true", "False": "false", "None": "null"}


def repair_json(text: str) -> Any:
    """Parse ``text`` as JSON, repairing the usual model mistakes first if needed.

    Tries, in order: the text as is; the inside of the first code fence; the first balanced
    JSON object or array in the text; then the same with trailing commas removed, single
    quotes turned into double quotes and Python's True/False/None into JSON literals.

    Raises:
        ValueError: no repair gives valid JSON; the message says why.
    """
    candidates = _candidates(text)
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    for candidate in candidates:
        try:
            return json.loads(_fix_syntax(candidate))
        except ValueError:
            continue
    excerpt = text.strip()[:200] or "(empty)"
    raise ValueError(f"no JSON object or array could be recovered from: {excerpt}")


def _candidates(text: str) -> list[str]:
    found = [text.strip()]
    fence = _FENCE.search(text)
    if fence:
        found.append(fence.group(1).strip())
    balanced = _first_balanced(text)
    if balanced:
        found.append(balanced)
    return [c for i, c in enumerate(found) if c and c not in found[:i]]


def _first_balanced(text: str) -> str | None:
    """The first ``{...}`` or ``[...]`` span whose brackets balance (strings respected)."""
    start = next((i for i, ch in enumerate(text) if ch in "{["), None)
    if start is None:
        return None
    depth, quote, escaped = 0, "", False
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return None


def _fix_syntax(text: str) -> str:
    """Outside strings: drop trailing commas, map Python literals; quote strings with ``"``."""
    out: list[str] = []
    for is_string, segment in _segments(text):
        if is_string:
            out.append(_as_double_quoted(segment))
        else:
            segment = _TRAILING_COMMA.sub(r"\1", segment)
            out.append(_PY_LITERAL.sub(lambda m: _PY_LITERALS[m.group(1)], segment))
    return "".join(out)


def _segments(text: str) -> list[tuple[bool, str]]:
    """Split ``text`` into (is_string, text) runs; strings keep their quotes."""
    runs: list[tuple[bool, str]] = []
    start, quote, escaped = 0, "", False
    for i, ch in enumerate(text):
        if not quote:
            if ch in "\"'":
                runs.append((False, text[start:i]))
                start, quote = i, ch
        elif escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == quote:
            runs.append((True, text[start : i + 1]))
            start, quote = i + 1, ""
    runs.append((bool(quote), text[start:]))
    return runs


def _as_double_quoted(string: str) -> str:
    if not string.startswith("'"):
        return string
    inner = string[1:-1] if string.endswith("'") and len(string) > 1 else string[1:]
    inner = inner.replace("\\'", "'").replace('"', '\\"')
    return f'"{inner}"'
