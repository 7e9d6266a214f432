"""The Redactor: modes, JSON-like values, configuration, and the logging filter."""

from __future__ import annotations

import itertools
import json
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluxio.errors import UsageError
from fluxio.governance.redaction import (
    PLACEHOLDER_PATTERN,
    RedactingFilter,
    RedactionConfig,
    Redactor,
    Vault,
)

TEXT = "Mail jane@example.com or JANE@example.com, then bob@example.org; card 4111 1111 1111 1111"


def test_mask_mode_numbers_each_distinct_value_within_one_call() -> None:
    result = Redactor().redact_text(TEXT)
    assert result.text == "Mail [EMAIL_1] or [EMAIL_1], then [EMAIL_2]; card [CARD_1]"
    assert result.counts() == {"EMAIL": 3, "CARD": 1}
    assert [f.replacement for f in result.findings] == [
        "[EMAIL_1]",
        "[EMAIL_1]",
        "[EMAIL_2]",
        "[CARD_1]",
    ]


def test_mask_indexes_restart_with_each_call() -> None:
    redactor = Redactor()
    first = redactor.redact_text("bob@example.org")
    second = redactor.redact_text("jane@example.com")
    assert first.text == second.text == "[EMAIL_1]"


def test_findings_report_positions_in_the_original_but_never_the_value() -> None:
    result = Redactor().redact_text(TEXT)
    first = result.findings[0]
    assert TEXT[first.start : first.end] == "jane@example.com"
    assert "jane" not in repr(result.findings)


def test_hash_mode_gives_the_same_digest_for_the_same_value_and_salt() -> None:
    one = Redactor(RedactionConfig(mode="hash"), salt=b"s1")
    again = Redactor(RedactionConfig(mode="hash"), salt=b"s1")
    other = Redactor(RedactionConfig(mode="hash"), salt=b"s2")
    text = one.redact_text("jane@example.com").text
    assert PLACEHOLDER_PATTERN.fullmatch(text)
    assert text.startswith("[EMAIL:")
    assert again.redact_text("JANE@example.com").text == text
    assert other.redact_text("jane@example.com").text != text


def test_hash_digests_differ_between_tenants() -> None:
    redactor = Redactor(RedactionConfig(mode="hash"), salt=b"s1")
    acme = redactor.redact_text("jane@example.com", tenant_id="acme").text
    globex = redactor.redact_text("jane@example.com", tenant_id="globex").text
    assert acme != globex


def test_per_entity_modes_override_the_default() -> None:
    vault = Vault(Vault.generate_key())
    config = RedactionConfig(mode="mask", modes={"email": "tokenize", "CARD": "hash"})
    result = Redactor(config, vault=vault).redact_text(TEXT)
    assert result.text.startswith("Mail [EMAIL:tok_")
    assert "[CARD:" in result.text
    assert len(result.vault_entries) == 3  # jane, JANE (exact spelling kept), bob


def test_only_configured_entity_types_are_redacted() -> None:
    redactor = Redactor(RedactionConfig(entities=["card"]))
    assert redactor.redact_text(TEXT).text.endswith("card [CARD_1]")
    assert "jane@example.com" in redactor.redact_text(TEXT).text


def test_redacting_redacted_text_changes_nothing() -> None:
    redactor = Redactor()
    once = redactor.redact_text(TEXT + " api_key=q8R9s0T1u2V3w4X5y6Z7").text
    assert redactor.redact_text(once).text == once
    vault = Vault(Vault.generate_key())
    tokenizer = Redactor(RedactionConfig(mode="tokenize"), vault=vault)
    tokenized = tokenizer.redact_text("password=Tr0ub4dor!x " + TEXT).text
    assert tokenizer.redact_text(tokenized).text == tokenized


def test_json_values_keep_their_shape_and_keys() -> None:
    value = {
        "user": {"email": "jane@example.com", "age": 41, "vip": True, "score": 0.5},
        "jane@example.com": ["call +44 20 7946 0958", None, ("bob@example.org",)],
    }
    result = Redactor().redact(value)
    assert result.value == {
        "user": {"email": "[EMAIL_1]", "age": 41, "vip": True, "score": 0.5},
        "jane@example.com": ["call [PHONE_1]", None, ("[EMAIL_2]",)],
    }
    assert [f.path for f in result.findings] == [
        ("user", "email"),
        ("jane@example.com", 0),
        ("jane@example.com", 2, 0),
    ]


def test_values_under_sensitive_keys_are_redacted_whatever_they_look_like() -> None:
    value = {"db_password": "hunter2", "API-Key": "abc", "pin": 1234, "token_count": 12, "n": {}}
    result = Redactor().redact(value)
    assert result.value == {
        "db_password": "[SECRET_1]",
        "API-Key": "[SECRET_2]",
        "pin": "[SECRET_3]",
        "token_count": 12,
        "n": {},
    }
    assert {f.recognizer for f in result.findings} == {"sensitive_key"}


def test_sensitive_keys_can_be_disabled() -> None:
    redactor = Redactor(RedactionConfig(sensitive_keys=()))
    assert redactor.redact({"password": "hunter2"}).value == {"password": "hunter2"}


def test_a_card_stored_as_an_integer_is_redacted_but_other_integers_are_not() -> None:
    result = Redactor().redact({"pan": 4111111111111111, "order": 100234567, "ts": 1700000000})
    assert result.value == {"pan": "[CARD_1]", "order": 100234567, "ts": 1700000000}


def test_a_value_spanning_two_strings_is_not_glued_together() -> None:
    pem_start = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
    value = [pem_start, "-----END PRIVATE KEY----- and jane@example.com"]
    result = Redactor().redact(value)
    assert result.value == ["[SECRET_1]", "-----END PRIVATE KEY----- and [EMAIL_1]"]


def test_many_strings_are_scanned_like_one() -> None:
    redactor = Redactor()
    texts = ["a jane@example.com", "", "+44 20 7946 0958 x", "plain"]
    assert redactor.scan_many(texts) == [redactor.scan(t) for t in texts]


def test_tokenize_mode_without_a_vault_is_refused_with_the_fix() -> None:
    with pytest.raises(UsageError, match=r"needs a vault: Redactor\(config, vault=Vault"):
        Redactor(RedactionConfig(mode="tokenize"))
    with pytest.raises(UsageError, match="EMAIL"):
        Redactor(RedactionConfig(modes={"EMAIL": "tokenize"}))


def test_an_unknown_entity_type_is_refused_with_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"unknown entity type\(s\) EMAL .* EMAIL"):
        Redactor(RedactionConfig(entities=["EMAL"]))
    with pytest.raises(UsageError, match="CARDS"):
        Redactor(RedactionConfig(modes={"CARDS": "hash"}))


def test_a_bad_config_mapping_raises_a_usage_error_naming_the_field() -> None:
    with pytest.raises(UsageError, match=r"mode: .*mask.*Expected keys"):
        RedactionConfig.parse({"mode": "scramble"})
    with pytest.raises(UsageError, match=r"min_confidence"):
        RedactionConfig.parse({"min_confidence": 2})
    with pytest.raises(UsageError, match=r"colour"):
        RedactionConfig.parse({"colour": "red"})
    assert RedactionConfig.parse({"mode": "hash", "entities": ["email"]}).entities == ("EMAIL",)


def test_reading_text_from_a_structured_result_is_refused() -> None:
    with pytest.raises(UsageError, match=r"read \.value"):
        _ = Redactor().redact({"a": "b"}).text


def test_the_logging_filter_keeps_sensitive_values_out_of_log_output() -> None:
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    logger = logging.getLogger("fluxio.test.redaction")
    handler = Collect()
    handler.addFilter(RedactingFilter(Redactor()))
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("user %s paid with %s", "jane@example.com", "4111 1111 1111 1111")
        try:
            raise ValueError("bad key sk_live_4eC39HqLyjWDarjtT1zdp7dc")
        except ValueError:
            logger.exception("failed for %s", "jane@example.com")
    finally:
        logger.removeHandler(handler)
    output = "\n".join(records)
    assert records[0] == "user [EMAIL_1] paid with [CARD_1]"
    assert "ValueError: bad key [SECRET_1]" in output
    for raw in ("jane@example.com", "4111 1111 1111 1111", "sk_live_"):
        assert raw not in output


def test_redaction_results_serialize_to_json() -> None:
    result = Redactor().redact({"note": "jane@example.com"})
    assert json.loads(json.dumps(result.value)) == {"note": "[EMAIL_1]"}


_ALPHABET = "0123456789 +-().:@_/=\"'\nabcdefxyzABCDEFKXYZ٣é[]"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=120))
def test_any_text_is_scanned_without_error_into_ordered_disjoint_findings(text: str) -> None:
    findings = Redactor().scan(text)
    spans = [(f.start, f.end) for f in findings]
    assert spans == sorted(spans)
    assert all(0 <= start < end <= len(text) for start, end in spans)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    redacted = Redactor().redact_text(text)
    assert len(redacted.findings) == len(findings)
