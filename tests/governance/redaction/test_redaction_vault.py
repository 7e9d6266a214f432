"""Reversible tokenization: tokens round-trip only through the vault, per tenant."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence

import pytest

from fluxio.errors import UsageError
from fluxio.governance.redaction import (
    TOKEN_PATTERN,
    MemoryTokenStore,
    RedactionConfig,
    Redactor,
    TokenStore,
    Vault,
    VaultEntry,
)

pytestmark = pytest.mark.anyio

KEY = b"k" * 32
PAYLOAD = {
    "to": "jane@example.com",
    "body": "Refund card 4111 1111 1111 1111 and call +44 20 7946 0958.",
    "cc": ["bob@example.org", "jane@example.com"],
}


def tokenizer(vault: Vault) -> Redactor:
    return Redactor(RedactionConfig(mode="tokenize"), vault=vault)


async def test_tokenized_value_round_trips_only_with_the_vault() -> None:
    vault = Vault(KEY)
    result = tokenizer(vault).redact(PAYLOAD, tenant_id="acme")
    assert "jane@example.com" not in str(result.value)
    await vault.remember(result.vault_entries)
    assert await vault.detokenize(result.value, tenant_id="acme") == PAYLOAD
    stranger = Vault(b"x" * 32)  # another key, or no vault at all: tokens stay tokens
    assert await stranger.detokenize(result.value, tenant_id="acme") == result.value


async def test_tokens_are_stable_per_value_and_tenant_and_differ_across_tenants() -> None:
    vault = Vault(KEY)
    acme = tokenizer(vault).redact(PAYLOAD, tenant_id="acme").value
    again = tokenizer(vault).redact(PAYLOAD, tenant_id="acme").value
    globex = tokenizer(vault).redact(PAYLOAD, tenant_id="globex").value
    assert acme == again
    assert acme["to"] == acme["cc"][1]
    assert acme["to"] != globex["to"]


async def test_detokenize_under_another_tenant_leaves_tokens_in_place() -> None:
    vault = Vault(KEY)
    result = tokenizer(vault).redact(PAYLOAD, tenant_id="acme")
    await vault.remember(result.vault_entries)
    assert await vault.detokenize(result.value, tenant_id="globex") == result.value


async def test_tokens_are_not_guessable_without_the_key() -> None:
    entry = Vault(KEY).entry_for("acme", "EMAIL", "jane@example.com")
    other = Vault(b"y" * 32).entry_for("acme", "EMAIL", "jane@example.com")
    assert re.fullmatch(r"tok_[a-z2-7]{26}", entry.token)  # 128 bits of HMAC-SHA256
    assert entry.token != other.token
    assert "jane" not in entry.token
    assert "jane" not in repr(entry)


async def test_a_token_the_model_echoes_without_brackets_is_restored_too() -> None:
    vault = Vault(KEY)
    result = tokenizer(vault).redact_text("mail jane@example.com", tenant_id="acme")
    await vault.remember(result.vault_entries)
    bare = TOKEN_PATTERN.search(result.text).group(1)  # type: ignore[union-attr]
    assert await vault.detokenize(f"send to {bare}.", tenant_id="acme") == (
        "send to jane@example.com."
    )
    assert await vault.reveal(bare, tenant_id="acme") == "jane@example.com"
    assert await vault.reveal(result.text, tenant_id="acme") == "jane@example.com"


async def test_unknown_or_malformed_tokens_reveal_nothing() -> None:
    vault = Vault(KEY)
    assert await vault.reveal("tok_aaaaaaaaaaaaaaaaaaaaaaaaaa", tenant_id="acme") is None
    assert await vault.reveal("no token here", tenant_id="acme") is None
    assert await vault.detokenize("nothing to do", tenant_id="acme") == "nothing to do"


async def test_forgotten_tokens_can_never_be_restored() -> None:
    store = MemoryTokenStore()
    vault = Vault(KEY, store)
    result = tokenizer(vault).redact_text("mail jane@example.com", tenant_id="acme")
    await vault.remember(result.vault_entries)
    tokens = [entry.token for entry in result.vault_entries]
    assert await vault.forget(tokens, tenant_id="globex") == 0
    assert await vault.forget(tokens, tenant_id="acme") == 1
    assert len(store) == 0
    assert await vault.detokenize(result.text, tenant_id="acme") == result.text


async def test_a_short_vault_key_is_refused_with_how_to_make_one() -> None:
    with pytest.raises(UsageError, match=r"at least 16 random bytes.*generate_key"):
        Vault(b"short")
    assert len(Vault.generate_key()) == 32


class CountingStore:
    """A custom TokenStore (what a durable store implements): records calls."""

    def __init__(self) -> None:
        self.inner = MemoryTokenStore()
        self.puts = 0
        self.gets = 0

    async def put(self, entries: Sequence[VaultEntry]) -> None:
        self.puts += 1
        await self.inner.put(entries)

    async def get(self, tenant_id: str, tokens: Collection[str]) -> Mapping[str, VaultEntry]:
        self.gets += 1
        return await self.inner.get(tenant_id, tokens)

    async def delete(self, tenant_id: str, tokens: Collection[str]) -> int:
        return await self.inner.delete(tenant_id, tokens)


async def test_a_custom_store_gets_one_batch_per_call() -> None:
    store = CountingStore()
    checked: TokenStore = store
    vault = Vault(KEY, checked)
    result = tokenizer(vault).redact(PAYLOAD, tenant_id="acme")
    await vault.remember(result.vault_entries)
    await vault.remember(())  # nothing to store: no call
    assert await vault.detokenize(result.value, tenant_id="acme") == PAYLOAD
    assert (store.puts, store.gets) == (1, 1)
