"""Canaries: seeded sensitive values never come out of redaction in clear.

A nested tool result carries an e-mail, a card number and fake API keys; whatever the mode,
none of them survives in the JSON sent on, in a log line, or in a real SQLite file.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from fluxio.governance.redaction import (
    RedactingFilter,
    RedactionConfig,
    Redactor,
    Vault,
)

CANARY_EMAIL = "canary.person@example.com"
CANARY_CARD = "4242 4242 4242 4242"
CANARY_KEYS = (
    "sk_live_CANARYx9Q2w8E7r6T5y4U3i2",
    "ghp_CANARYaB3dE5gH7jK9mN1pQ3sT5vW7yZ9b",
    "AKIACANARY7Q2W8E6R5T",
)
CANARIES = (CANARY_EMAIL, CANARY_CARD, *CANARY_KEYS)


def tool_result() -> dict[str, Any]:
    """A search tool's answer, as an agent would feed it back to a model."""
    return {
        "tool": "crm.lookup",
        "ok": True,
        "result": {
            "customers": [
                {
                    "name": "Canary Person",
                    "contact": {"email": CANARY_EMAIL, "notes": [f"paid with {CANARY_CARD}"]},
                    "integrations": [
                        {"kind": "stripe", "config": f"STRIPE_KEY={CANARY_KEYS[0]} region=eu"},
                        {"kind": "github", "auth": {"header": f"token {CANARY_KEYS[1]}"}},
                    ],
                }
            ],
            "raw": f"aws_access_key_id = {CANARY_KEYS[2]}\nreply to <{CANARY_EMAIL}>",
        },
    }


def assert_no_canary(text: str) -> None:
    leaked = [canary for canary in CANARIES if canary in text]
    assert not leaked, f"in clear: {leaked}"


@pytest.mark.parametrize("mode", ["mask", "hash", "tokenize"])
def test_a_nested_tool_result_comes_out_with_no_canary_in_clear(mode: str) -> None:
    redactor = Redactor(RedactionConfig(mode=mode), vault=Vault(Vault.generate_key()))  # type: ignore[arg-type]
    result = redactor.redact(tool_result(), tenant_id="acme")
    dumped = json.dumps(result.value)
    assert_no_canary(dumped)
    assert "4242" not in dumped
    assert result.counts() == {"EMAIL": 2, "CARD": 1, "SECRET": 3}
    assert result.value["result"]["customers"][0]["name"] == "Canary Person"


def test_findings_and_counts_are_safe_to_audit() -> None:
    result = Redactor().redact(tool_result())
    assert_no_canary(repr(result.findings) + json.dumps(result.counts()))


def test_a_persisted_redacted_payload_holds_no_canary_on_disk(tmp_path: Path) -> None:
    database = tmp_path / "journal.db"
    payload = Redactor().redact(tool_result()).value
    with sqlite3.connect(database) as connection:
        connection.execute("create table journal (payload text)")
        connection.execute("insert into journal values (?)", (json.dumps(payload),))
    connection.close()
    on_disk = database.read_bytes().decode("latin-1")
    assert "[EMAIL_1]" in on_disk
    assert_no_canary(on_disk)


def test_a_logged_tool_result_holds_no_canary(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("fluxio.test.canary")
    redacting = RedactingFilter(Redactor())
    logger.addFilter(redacting)
    try:
        with caplog.at_level(logging.INFO, logger="fluxio.test.canary"):
            logger.info("tool returned %s", json.dumps(tool_result()))
    finally:
        logger.removeFilter(redacting)
    assert "[CARD_1]" in caplog.text
    assert_no_canary(caplog.text)
