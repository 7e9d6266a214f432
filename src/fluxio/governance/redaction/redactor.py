"""The Redactor: finds sensitive values in text or JSON-like data and replaces them.

A scan runs every applicable precompiled recognizer over the text, settles overlaps (more
confident first, then longer) and skips placeholders already written. Replacing follows the
configured mode per entity type. Findings report where and what kind, never the value.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Sequence
from typing import TypeVar

from fluxio.errors import UsageError
from fluxio.governance.redaction.config import RedactionConfig
from fluxio.governance.redaction.findings import (
    PLACEHOLDER_PATTERN,
    Finding,
    RedactionResult,
    resolve_overlaps,
)
from fluxio.governance.redaction.recognizers import BUILTIN_RECOGNIZERS, Entity, Recognizer
from fluxio.governance.redaction.rewrite import Rewrite
from fluxio.governance.redaction.vault import Vault, VaultEntry

__all__ = ["Redactor"]

T = TypeVar("T")

_DIGIT = re.compile(r"[0-9]")
# Joins the strings of a JSON value for one scan: no recognizer matches across "\n\x1e\n".
_SEPARATOR = "\n\x1e\n"
_KEY_CACHE_SIZE = 4096


class Redactor:
    """Redacts emails, phones, cards, IBANs, national ids, secrets and IP addresses.

    Args:
        config: what to redact and how; default: every entity type, ``mask`` mode.
        recognizers: the recognizers to choose from; default ``BUILTIN_RECOGNIZERS``.
        vault: issues tokens; required when any entity type uses ``tokenize``.
        salt: the key of ``hash`` digests; default random per Redactor. Pass a fixed secret
            salt for digests that stay comparable across processes.
    """

    def __init__(
        self,
        config: RedactionConfig | None = None,
        *,
        recognizers: Sequence[Recognizer] = BUILTIN_RECOGNIZERS,
        vault: Vault | None = None,
        salt: bytes | None = None,
    ) -> None:
        """Select the recognizers the configuration asks for and check the setup."""
        self.config = config or RedactionConfig()
        self._recognizers = _select(recognizers, self.config)
        self._entities = frozenset(r.entity for r in self._recognizers)
        _check_vault(self.config, self._entities, vault)
        self._vault = vault
        self.salt = salt if salt is not None else os.urandom(32)
        keys = "|".join(re.escape(k.lower().replace("-", "_")) for k in self.config.sensitive_keys)
        self._sensitive = re.compile(rf"(?:.*_)?(?:{keys})") if keys else None
        self._key_verdicts: dict[str, bool] = {}

    def scan(self, text: str) -> list[Finding]:
        """Find sensitive values in ``text`` without replacing them, sorted by position."""
        if not text:
            return []
        lowered, has_digits = text.lower(), _DIGIT.search(text) is not None
        found = [
            Finding(rec.entity, rec.name, start, end, rec.confidence)
            for rec in self._recognizers
            if rec.applies(lowered, has_digits)
            for start, end in rec.spans(text, lowered)
        ]
        if not found:
            return []
        taken = [m.span() for m in PLACEHOLDER_PATTERN.finditer(text)] if "[" in text else []
        return resolve_overlaps(found, taken)

    def scan_many(self, texts: Sequence[str]) -> list[list[Finding]]:
        """``scan`` each text, in one pass over all of them; positions are per text."""
        if len(texts) < 2:
            return [self.scan(text) for text in texts]
        starts, offset = [], 0
        for text in texts:
            starts.append(offset)
            offset += len(text) + len(_SEPARATOR)
        per_text: list[list[Finding]] = [[] for _ in texts]
        for finding in self.scan(_SEPARATOR.join(texts)):
            index = bisect.bisect_right(starts, finding.start) - 1
            start, end = finding.start - starts[index], finding.end - starts[index]
            if end > len(texts[index]):  # crossed into the next text: scan them one by one
                return [self.scan(text) for text in texts]
            per_text[index].append(_moved(finding, start, end))
        return per_text

    def redact_text(self, text: str, *, tenant_id: str = "default") -> RedactionResult[str]:
        """Redact one string: ``Redactor().redact_text("mail a@b.io").text == "mail [EMAIL_1]"``."""
        call = Rewrite(self, tenant_id)
        return call.result(call.text(text))

    def redact(self, value: T, *, tenant_id: str = "default") -> RedactionResult[T]:
        """Redact every string in a JSON-like value (dicts, lists, tuples); keys are kept.

        Indexes (``[EMAIL_1]``) are stable across the whole value: the same address gets the
        same placeholder wherever it appears. Under a sensitive key (``password``, ``api_key``)
        the whole value is replaced. Integers of 8+ digits that are entirely one finding (a
        card stored as a number) become their placeholder string.
        """
        call = Rewrite(self, tenant_id)
        return call.result(call.value(value))

    def is_sensitive_key(self, key: object) -> bool:
        """Whether a JSON key names a secret (``password``, ``db_password``, ``api-key``)."""
        if not isinstance(key, str):
            return False
        known = self._key_verdicts.get(key)
        if known is None:
            known = self._judge_key(key)
            if len(self._key_verdicts) < _KEY_CACHE_SIZE:
                self._key_verdicts[key] = known
        return known

    def _judge_key(self, key: str) -> bool:
        if self._sensitive is None or Entity.SECRET not in self._entities:
            return False
        return self._sensitive.fullmatch(key.lower().replace("-", "_")) is not None

    def vault_entry(self, tenant_id: str, entity: str, value: str) -> VaultEntry:
        """The vault's token entry for a value (``tokenize`` mode)."""
        assert self._vault is not None, "__init__ refuses tokenize without a vault"
        return self._vault.entry_for(tenant_id, entity, value)


def _moved(finding: Finding, start: int, end: int) -> Finding:
    return Finding(finding.entity, finding.recognizer, start, end, finding.confidence)


def _select(recognizers: Sequence[Recognizer], config: RedactionConfig) -> tuple[Recognizer, ...]:
    known = sorted({r.entity for r in recognizers})
    wanted = set(config.entities) if config.entities is not None else set(known)
    unknown = sorted((wanted | set(config.modes)) - set(known))
    if unknown:
        raise UsageError(
            f"unknown entity type(s) {', '.join(unknown)} in the redaction config; "
            f"the recognizers know: {', '.join(known)}"
        )
    return tuple(
        r for r in recognizers if r.entity in wanted and r.confidence >= config.min_confidence
    )


def _check_vault(config: RedactionConfig, entities: frozenset[str], vault: Vault | None) -> None:
    tokenized = sorted(e for e in entities if config.mode_for(e) == "tokenize")
    if tokenized and vault is None:
        raise UsageError(
            f"redaction mode 'tokenize' (for {', '.join(tokenized)}) needs a vault: "
            "Redactor(config, vault=Vault(key=...)), or choose mode 'mask' or 'hash'"
        )
