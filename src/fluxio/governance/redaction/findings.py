"""What a redaction reports: findings (never the values) and the redacted result."""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from fluxio.errors import UsageError
from fluxio.governance.redaction.vault import VaultEntry

__all__ = ["PLACEHOLDER_PATTERN", "Finding", "Path", "RedactionResult", "resolve_overlaps"]

T = TypeVar("T")
Path = tuple[str | int, ...]
"""Where a string sits in a JSON-like value: dict keys and list indexes, outermost first."""

PLACEHOLDER_PATTERN = re.compile(r"\[[A-Z][A-Z0-9_]*(?:_\d+|:[0-9a-f]{16}|:tok_[a-z2-7]{26})\]")
"""What the redactor writes; text inside these is never redacted again."""


@dataclass(frozen=True)
class Finding:
    """One sensitive value found: where, what kind, what replaced it (never the value).

    ``start``/``end`` index the original string at ``path`` (``()`` for a plain text; dict
    keys and list indexes for a JSON-like value).
    """

    entity: str
    recognizer: str
    start: int
    end: int
    confidence: float
    replacement: str = ""
    path: Path = ()


@dataclass(frozen=True)
class RedactionResult(Generic[T]):
    """The redacted value, what was found, and the vault entries tokenization created."""

    value: T
    findings: tuple[Finding, ...] = ()
    vault_entries: tuple[VaultEntry, ...] = field(default=(), repr=False)

    @property
    def text(self) -> str:
        """The redacted text (for ``redact_text`` results)."""
        if not isinstance(self.value, str):
            raise UsageError("this result holds a structured value; read .value instead")
        return self.value

    def counts(self) -> dict[str, int]:
        """How many values of each entity type were redacted (safe to log or audit)."""
        return dict(Counter(finding.entity for finding in self.findings))


def resolve_overlaps(found: list[Finding], taken: list[tuple[int, int]]) -> list[Finding]:
    """Keep non-overlapping findings, most confident first, then longest; sorted by start.

    ``taken`` spans (placeholders already in the text) are never overlapped.
    """
    found.sort(key=lambda f: (-f.confidence, f.start - f.end, f.start))
    spans = sorted(taken)
    starts = [start for start, _ in spans]
    kept = []
    for finding in found:
        at = bisect.bisect_left(starts, finding.start)
        before = at > 0 and spans[at - 1][1] > finding.start
        after = at < len(spans) and spans[at][0] < finding.end
        if not (before or after):
            starts.insert(at, finding.start)
            spans.insert(at, (finding.start, finding.end))
            kept.append(finding)
    kept.sort(key=lambda f: f.start)
    return kept
