"""Reversible tokenization: a tenant-scoped vault maps unguessable tokens back to originals.

A token is ``tok_`` plus 26 base32 characters of HMAC-SHA256(key, tenant, entity, value):
the same value gets the same token within a tenant (so a model sees one consistent name for
it), a different one in another tenant, and nobody without the key can compute or guess one.
In text a token appears as a placeholder, ``[EMAIL:tok_...]``. Only code handed the ``Vault``
can turn tokens back into originals, and only for the tenant it asks about.

The mapping lives in a ``TokenStore``: ``MemoryTokenStore`` here; a durable store implements
the same three async methods.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast

from fluxio.errors import UsageError

__all__ = ["TOKEN_PATTERN", "MemoryTokenStore", "TokenStore", "Vault", "VaultEntry"]

T = TypeVar("T")

TOKEN_PATTERN = re.compile(
    r"\[[A-Z][A-Z0-9_]*:(tok_[a-z2-7]{26})\]|(?<!\w)(tok_[a-z2-7]{26})(?!\w)"
)
"""A token in text: the bracketed placeholder, or the bare ``tok_...`` id a model may echo."""

_MIN_KEY_BYTES = 16


@dataclass(frozen=True)
class VaultEntry:
    """One token and the original it stands for (the original is kept out of ``repr``)."""

    tenant_id: str
    token: str
    entity: str
    value: str = field(repr=False)

    @property
    def placeholder(self) -> str:
        """How the token appears in redacted text: ``[EMAIL:tok_...]``."""
        return f"[{self.entity}:{self.token}]"


class TokenStore(Protocol):
    """Where a vault keeps its token → original mappings, per tenant."""

    async def put(self, entries: Sequence[VaultEntry]) -> None:
        """Store entries; storing an existing token again is a no-op."""
        ...

    async def get(self, tenant_id: str, tokens: Collection[str]) -> Mapping[str, VaultEntry]:
        """The entries of this tenant among ``tokens``; unknown tokens are simply absent."""
        ...

    async def delete(self, tenant_id: str, tokens: Collection[str]) -> int:
        """Forget these tokens of this tenant (right to erasure); returns how many were known."""
        ...


class MemoryTokenStore:
    """A ``TokenStore`` in a dict: for tests and single-process use; lost on exit."""

    def __init__(self) -> None:
        """Start empty."""
        self._entries: dict[tuple[str, str], VaultEntry] = {}

    async def put(self, entries: Sequence[VaultEntry]) -> None:
        """Store entries; the first original stored for a token wins."""
        for entry in entries:
            self._entries.setdefault((entry.tenant_id, entry.token), entry)

    async def get(self, tenant_id: str, tokens: Collection[str]) -> Mapping[str, VaultEntry]:
        """The known entries of ``tenant_id`` among ``tokens``."""
        found = (self._entries.get((tenant_id, token)) for token in tokens)
        return {entry.token: entry for entry in found if entry is not None}

    async def delete(self, tenant_id: str, tokens: Collection[str]) -> int:
        """Forget tokens of ``tenant_id``; returns how many existed."""
        return sum(self._entries.pop((tenant_id, t), None) is not None for t in set(tokens))

    def __len__(self) -> int:
        """How many entries are held, across tenants."""
        return len(self._entries)


class Vault:
    """Issues tokens and, for whoever holds it, turns them back into originals.

    Args:
        key: the HMAC key (at least 16 bytes; ``Vault.generate_key()`` makes 32). Keep it
            secret and stable: a new key issues new tokens for the same values.
        store: where mappings live; defaults to a fresh ``MemoryTokenStore``.
    """

    def __init__(self, key: bytes, store: TokenStore | None = None) -> None:
        """Check the key and attach the store."""
        if not isinstance(key, bytes) or len(key) < _MIN_KEY_BYTES:
            raise UsageError(
                f"a vault key must be at least {_MIN_KEY_BYTES} random bytes; "
                "create one with Vault.generate_key() and keep it in your secret store"
            )
        self._key = key
        self.store: TokenStore = store if store is not None else MemoryTokenStore()

    @staticmethod
    def generate_key() -> bytes:
        """32 fresh random bytes, suitable as a vault key."""
        return os.urandom(32)

    def entry_for(self, tenant_id: str, entity: str, value: str) -> VaultEntry:
        """The token entry for a value (pure: the same inputs always give the same token)."""
        message = "\x00".join((tenant_id, entity, value)).encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()[:16]
        token = "tok_" + base64.b32encode(digest).decode().rstrip("=").lower()
        return VaultEntry(tenant_id, token, entity, value)

    async def remember(self, entries: Iterable[VaultEntry]) -> None:
        """Persist the entries a tokenizing redaction produced (``result.vault_entries``)."""
        batch = list(entries)
        if batch:
            await self.store.put(batch)

    async def reveal(self, token: str, *, tenant_id: str) -> str | None:
        """The original behind one token (bare ``tok_...`` or placeholder), or ``None``."""
        match = TOKEN_PATTERN.search(token)
        if match is None:
            return None
        found = await self.store.get(tenant_id, [match.group(1) or match.group(2)])
        entry = next(iter(found.values()), None)
        return entry.value if entry is not None else None

    async def detokenize(self, value: T, *, tenant_id: str) -> T:
        """Restore every known token of ``tenant_id`` in a text or JSON-like value.

        Tokens this tenant never issued (another tenant's, or made up) stay as they are.
        """
        tokens: set[str] = set()
        _collect(value, tokens)
        if not tokens:
            return value
        known = await self.store.get(tenant_id, tokens)
        return cast(T, _restore(value, known))

    async def forget(self, tokens: Collection[str], *, tenant_id: str) -> int:
        """Erase tokens of ``tenant_id`` so they can never be restored; returns how many."""
        return await self.store.delete(tenant_id, tokens)


def _collect(value: Any, into: set[str]) -> None:
    if isinstance(value, str):
        if "tok_" in value:
            into.update(m.group(1) or m.group(2) for m in TOKEN_PATTERN.finditer(value))
    elif isinstance(value, Mapping):
        for item in value.values():
            _collect(item, into)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, into)


def _restore(value: Any, known: Mapping[str, VaultEntry]) -> Any:
    if isinstance(value, str):
        if "tok_" not in value:
            return value
        return TOKEN_PATTERN.sub(lambda m: _original(m, known), value)
    if isinstance(value, Mapping):
        return {key: _restore(item, known) for key, item in value.items()}
    if isinstance(value, tuple):
        return tuple(_restore(item, known) for item in value)
    if isinstance(value, list):
        return [_restore(item, known) for item in value]
    return value


def _original(match: re.Match[str], known: Mapping[str, VaultEntry]) -> str:
    entry = known.get(match.group(1) or match.group(2))
    return entry.value if entry is not None else match.group(0)
