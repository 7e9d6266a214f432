"""What each built-in recognizer catches and, as important, what it leaves alone."""

from __future__ import annotations

import re

import pytest

from fluxio.errors import UsageError
from fluxio.governance.redaction import (
    BUILTIN_RECOGNIZERS,
    Entity,
    Recognizer,
    RedactionConfig,
    Redactor,
)
from fluxio.governance.redaction.validators import iban_check_digits, luhn_valid


def found(text: str) -> list[tuple[str, str, str]]:
    """(entity, recognizer, matched text) for every finding in ``text``."""
    return [(f.entity, f.recognizer, text[f.start : f.end]) for f in Redactor().scan(text)]


def entities(text: str) -> list[str]:
    return [entity for entity, _, _ in found(text)]


def test_every_builtin_recognizer_has_a_unique_name_and_a_description() -> None:
    names = [r.name for r in BUILTIN_RECOGNIZERS]
    assert len(names) == len(set(names))
    assert all(r.description and 0 < r.confidence <= 1 for r in BUILTIN_RECOGNIZERS)
    assert {r.entity for r in BUILTIN_RECOGNIZERS} == {e.value for e in Entity}


def test_card_number_with_valid_luhn_and_issuer_is_redacted() -> None:
    assert found("card 4111 1111 1111 1111 exp 12/26") == [("CARD", "card", "4111 1111 1111 1111")]
    assert entities("amex 3782-822463-10005") == ["CARD"]


def test_card_number_with_bad_luhn_is_not_redacted() -> None:
    assert not luhn_valid("4111111111111112")
    assert found("card 4111 1111 1111 1112") == []


def test_luhn_valid_number_with_unknown_issuer_is_not_a_card() -> None:
    assert luhn_valid("9000000000000001")
    assert found("ref 9000 0000 0000 0001") == []


def test_card_digits_inside_a_longer_number_or_decimal_are_ignored() -> None:
    assert found("id 14111111111111111") == []
    assert found("ratio 0.4111111111111111") == []


def test_iban_with_valid_mod97_is_redacted_compact_or_grouped() -> None:
    assert found("pay DE89370400440532013000 now") == [("IBAN", "iban", "DE89370400440532013000")]
    assert found("pay GB82 WEST 1234 5698 7654 32 EUR") == [
        ("IBAN", "iban", "GB82 WEST 1234 5698 7654 32")
    ]


def test_iban_with_wrong_check_digits_or_length_is_not_redacted() -> None:
    assert found("pay DE88370400440532013000") == []
    assert found("pay DE8937040044053201300") == []
    assert iban_check_digits("DE", "370400440532013000") == "89"


def test_iban_stops_at_its_country_length_before_a_following_word() -> None:
    assert found("IBAN BE68 5390 0754 7034 ABCD") == [("IBAN", "iban", "BE68 5390 0754 7034")]


@pytest.mark.parametrize("ssn", ["000-12-3456", "666-12-3456", "912-12-3456", "123-00-4567"])
def test_ssn_in_a_never_issued_range_is_not_redacted(ssn: str) -> None:
    assert found(f"SSN {ssn}") == []


def test_valid_national_ids_are_redacted() -> None:
    text = "SSN 536-90-4399, NINO AB 12 34 56 C, DNI 12345678Z, NIE X1234567L, CF RSSMRA85T10A562S"
    assert [name for _, name, _ in found(text)] == [
        "us_ssn",
        "uk_nino",
        "es_dni_nie",
        "es_dni_nie",
        "it_codice_fiscale",
    ]


def test_national_ids_with_bad_check_letters_or_prefixes_are_not_redacted() -> None:
    assert found("DNI 12345678A, CF RSSMRA85T10A562T, NINO BG123456A, NINO QQ123456C") == []


PHONES = [
    "+44 20 7946 0958",
    "+1 (415) 555-0132",
    "(415) 555-0132",
    "020 7946 0958",
    "+49 (0)30 901820",
    "0049 30 901820",
    "1-800-555-0199",
    "+14155550132",
]


@pytest.mark.parametrize("phone", PHONES)
def test_phone_numbers_in_international_and_national_formats_are_redacted(phone: str) -> None:
    assert [(entity, text) for entity, _, text in found(f"call {phone} today")] == [
        ("PHONE", phone)
    ]


@pytest.mark.parametrize(
    "text",
    [
        "due 2024-01-15 at 10:30",
        "Order #100234567 shipped",
        "SKU 123-456-7890 in stock",
        "ISBN 978-0-306-40615-7",
        "release 2.10.0-rc.1",
        "Stichtag 01.02.2024",
        "Amazon order 112-7654321-1234567",
        "+35236450.6 is a decimal",
    ],
)
def test_dates_order_numbers_and_product_codes_are_not_phones(text: str) -> None:
    assert found(text) == []


def test_plain_ten_digit_numbers_are_not_taken_for_phones() -> None:
    assert found("Phone: 4155550132") == []  # documented miss: indistinguishable from an id


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("key AKIAIOSFODNN7EXAMPLE", "aws_access_key"),
        ("t ghp_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5", "github_token"),
        ("x xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "slack_token"),
        ("k sk-proj-Zx81Kd02LmQp73RsTu94VwXy05AbCdEf", "openai_key"),
        ("k sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe_key"),
        ("g AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "google_api_key"),
        ("Authorization: Bearer 9f8e7d6c5b4a39281726a5b4c3d2e1f0", "bearer_token"),
        ("password=Tr0ub4dor!x", "password_assignment"),
        ('"client_secret": "q8R9s0T1u2V3w4X5y6Z7a8B9c0D1e2F3"', "secret_assignment"),
        ("postgres://app:s3cr3tP4ss@db.example.com/app", "url_credentials"),
    ],
)
def test_api_keys_and_secrets_are_recognized_by_pattern(text: str, name: str) -> None:
    assert [(entity, recognizer) for entity, recognizer, _ in found(text)] == [("SECRET", name)]


def test_only_the_value_of_an_assignment_is_redacted() -> None:
    assert found("password=Tr0ub4dor!x; user=bob")[0][2] == "Tr0ub4dor!x"
    assert found('api_key: "q8R9s0T1u2V3w4X5y6Z7a8B9"')[0][2] == "q8R9s0T1u2V3w4X5y6Z7a8B9"


def test_a_pem_private_key_block_is_redacted_whole() -> None:
    pem = (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\nabc+/=\n-----END RSA PRIVATE KEY-----"
    )
    assert found(f"key:\n{pem}\nend") == [("SECRET", "private_key", pem)]


@pytest.mark.parametrize(
    "text",
    [
        "max_tokens=4096",
        "token_count: 1532",
        "password_min_length=12",
        "Use a Bearer token in the Authorization header.",
        "api_key=${OPENAI_API_KEY}",
        "api_key: <your-api-key>",
        "password = auth[2]",
        '"output_token": "NextContinuationToken"',
        '"ClientRequestToken": "a8ca07e4-61ec-4399-99f4-19853801bcd5"',
        "run the risk-assessment-2024-final task",
        "commit a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
    ],
)
def test_secret_shaped_but_harmless_text_is_left_alone(text: str) -> None:
    assert found(text) == []


def test_ip_addresses_are_validated_by_ipaddress() -> None:
    assert (
        entities("from 203.0.113.42:443 and [2001:db8::1]:80 and ::ffff:192.0.2.1")
        == ["IP_ADDRESS"] * 3
    )
    assert found("host 256.1.1.1, OID 1.3.6.1.4.1, time 12:30:45, std::vector") == []
    assert found("slice x[1::2] and version 4.7.2.0") == []


def test_emails_are_redacted_but_image_names_and_handles_are_not() -> None:
    assert found("mail Jane.Doe+news@mail.example.co.uk.") == [
        ("EMAIL", "email", "Jane.Doe+news@mail.example.co.uk")
    ]
    assert found("o'connor@example.ie")[0][2] == "o'connor@example.ie"
    assert found("logo@2x.png, @jane_doe, root@localhost") == []


def test_overlapping_matches_are_resolved_by_confidence_then_length() -> None:
    # The URL password (0.97) wins over the e-mail-shaped "pass@host" (0.95).
    assert found("redis://u:Pa55w0rd@cache.example.com") == [
        ("SECRET", "url_credentials", "Pa55w0rd")
    ]
    low = Recognizer("short", "CODE", re.compile(r"AB-\d{2}"), 0.5)
    long = Recognizer("long", "CODE", re.compile(r"AB-\d{4}"), 0.5)
    redactor = Redactor(recognizers=[low, long])
    assert [(f.recognizer, f.end - f.start) for f in redactor.scan("x AB-1234 y")] == [("long", 7)]


def test_a_custom_recognizer_adds_an_entity_type() -> None:
    employee = Recognizer(
        "employee_id",
        "EMPLOYEE_ID",
        re.compile(r"EMP-\d{6}"),
        0.9,
        validator=lambda value: not value.endswith("000000"),
    )
    redactor = Redactor(
        RedactionConfig(entities=["EMPLOYEE_ID", "EMAIL"]),
        recognizers=[*BUILTIN_RECOGNIZERS, employee],
    )
    result = redactor.redact_text("EMP-123456 (jane@example.com), EMP-000000, +44 20 7946 0958")
    assert result.text == "[EMPLOYEE_ID_1] ([EMAIL_1]), EMP-000000, +44 20 7946 0958"


def test_min_confidence_drops_less_certain_recognizers() -> None:
    redactor = Redactor(RedactionConfig(min_confidence=0.75))
    assert redactor.redact_text("call 020 7946 0958 or +44 20 7946 0958").text == (
        "call 020 7946 0958 or [PHONE_1]"
    )


def test_a_custom_recognizer_with_a_bad_entity_name_or_confidence_is_refused() -> None:
    with pytest.raises(UsageError, match=r"'employee id' must be upper-case .* 'EMPLOYEE_ID'"):
        Recognizer("employee", "employee id", re.compile("x"), 0.9)
    with pytest.raises(UsageError, match=r"confidence 1.5 must be in \(0, 1\]"):
        Recognizer("employee", "EMPLOYEE", re.compile("x"), 1.5)
