"""One redaction call: replaces findings in strings and in JSON-like values.

A ``Rewrite`` holds what must be consistent across the whole call: the ``[EMAIL_1]`` index
of each distinct value, the findings reported, and the vault entries tokenization created.
JSON-like values are redacted in two passes: gather every string, scan them all at once (one
regex pass over their concatenation is much cheaper than hundreds of tiny ones), then rebuild
the value in the same order, replacing as it goes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from fluxio.governance.redaction.findings import (
    PLACEHOLDER_PATTERN,
    Finding,
    Path,
    RedactionResult,
)
from fluxio.governance.redaction.recognizers import Entity
from fluxio.governance.redaction.vault import VaultEntry

if TYPE_CHECKING:
    from fluxio.governance.redaction.redactor import Redactor

__all__ = ["Rewrite"]

_SMALLEST_REDACTED_INT = 10**7  # shorter integers cannot hold a card, phone or id
_COMPACT = re.compile(r"[^0-9A-Za-z+]")
_COMPACTED = frozenset({Entity.CARD, Entity.IBAN, Entity.PHONE, Entity.NATIONAL_ID})


class Rewrite:
    """The state of one redaction call for one tenant."""

    def __init__(self, redactor: Redactor, tenant_id: str) -> None:
        """Start a call with no placeholders issued yet."""
        self.redactor, self.tenant_id = redactor, tenant_id
        self.indexes: dict[str, dict[str, int]] = {}
        self.findings: list[Finding] = []
        self.entries: dict[str, VaultEntry] = {}

    def result(self, value: Any) -> RedactionResult[Any]:
        """Package the redacted value with what this call found."""
        return RedactionResult(value, tuple(self.findings), tuple(self.entries.values()))

    def text(self, text: str, path: Path = ()) -> str:
        """Redact one string."""
        return self.apply(text, self.redactor.scan(text), path)

    def value(self, value: Any) -> Any:
        """Redact every string of a JSON-like value, keeping its shape and keys."""
        texts: list[str] = []
        self._gather(value, texts)
        found = iter(self.redactor.scan_many(texts))
        return self._rebuild(value, (), found)

    def apply(self, text: str, findings: list[Finding], path: Path) -> str:
        """Replace ``findings`` (sorted, non-overlapping) in ``text``."""
        if not findings:
            return text
        pieces, last = [], 0
        for finding in findings:
            replacement = self.replacement(finding.entity, text[finding.start : finding.end])
            pieces += [text[last : finding.start], replacement]
            last = finding.end
            self.findings.append(
                Finding(
                    finding.entity,
                    finding.recognizer,
                    finding.start,
                    finding.end,
                    finding.confidence,
                    replacement,
                    path,
                )
            )
        pieces.append(text[last:])
        return "".join(pieces)

    def replacement(self, entity: str, value: str) -> str:
        """The placeholder for ``value`` under the entity's mode."""
        mode = self.redactor.config.mode_for(entity)
        if mode == "tokenize":
            entry = self.redactor.vault_entry(self.tenant_id, entity, value)
            self.entries.setdefault(entry.token, entry)
            return entry.placeholder
        canonical = _canonical(entity, value)
        if mode == "hash":
            message = "\x00".join((self.tenant_id, entity, canonical)).encode()
            digest = hmac.new(self.redactor.salt, message, hashlib.sha256).hexdigest()
            return f"[{entity}:{digest[:16]}]"
        seen = self.indexes.setdefault(entity, {})
        return f"[{entity}_{seen.setdefault(canonical, len(seen) + 1)}]"

    def _whole(self, key: object, value: Any) -> bool:
        """Whether ``value`` sits under a sensitive key and is replaced as a whole."""
        if not self.redactor.is_sensitive_key(key):
            return False
        return isinstance(value, str | int) and not isinstance(value, bool) and value != ""

    def _gather(self, value: Any, texts: list[str]) -> None:
        kind = _kind(value)
        if kind is str:
            texts.append(value)
        elif kind is dict:
            for key, item in value.items():
                if not self._whole(key, item):
                    self._gather(item, texts)
        elif kind is list:
            for item in value:
                self._gather(item, texts)
        elif kind is int:
            texts.append(str(value))

    def _rebuild(self, value: Any, path: Path, found: Iterator[list[Finding]]) -> Any:
        kind = _kind(value)
        if kind is str:
            return self.apply(value, next(found), path)
        if kind is dict:
            return {key: self._item(key, item, (*path, key), found) for key, item in value.items()}
        if kind is list:
            items = [self._rebuild(item, (*path, i), found) for i, item in enumerate(value)]
            return tuple(items) if isinstance(value, tuple) else items
        if kind is int:
            return self._number(value, path, next(found))
        return value

    def _item(self, key: object, value: Any, path: Path, found: Iterator[list[Finding]]) -> Any:
        if not self._whole(key, value):
            return self._rebuild(value, path, found)
        text = str(value)
        if PLACEHOLDER_PATTERN.fullmatch(text):
            return value
        replacement = self.replacement(Entity.SECRET, text)
        self.findings.append(
            Finding(Entity.SECRET, "sensitive_key", 0, len(text), 1.0, replacement, path)
        )
        return replacement

    def _number(self, value: int, path: Path, findings: list[Finding]) -> Any:
        text = str(value)
        if len(findings) == 1 and (findings[0].start, findings[0].end) == (0, len(text)):
            return self.apply(text, findings, path)
        return value


_LEAVES: dict[type, type | None] = {
    str: str,
    dict: dict,
    list: list,
    tuple: list,
    bool: None,
    float: None,
    type(None): None,
}


def _kind(value: Any) -> type | None:
    """How a value is walked: as ``str``, ``dict``, ``list``, a redactable ``int``, or not."""
    kind = _LEAVES.get(type(value), object)
    if kind is not object:
        return kind
    if isinstance(value, str):
        return str
    if isinstance(value, Mapping):
        return dict
    if isinstance(value, list | tuple):
        return list
    if isinstance(value, int) and not isinstance(value, bool):
        return int if abs(value) >= _SMALLEST_REDACTED_INT else None
    return None


def _canonical(entity: str, value: str) -> str:
    """The form under which two spellings of one value share a mask index or digest."""
    if entity == Entity.EMAIL:
        return value.lower()
    if entity in _COMPACTED:
        return _COMPACT.sub("", value).upper()
    return value
