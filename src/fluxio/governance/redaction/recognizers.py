"""Recognizers: a compiled pattern proposes candidates, a validator keeps only real ones.

Each built-in recognizer names the entity type it finds (``EMAIL``, ``CARD``...) and carries
a confidence used to settle overlaps. Speed comes from the patterns' shape rather than from a
combined mega-regex (which would hide overlapping candidates from each other): patterns start
with a literal or a narrow character class so the regex engine skips ahead, and recognizers
keyed on a word (``password``, ``bearer``, ``@``) only run near that word's occurrences.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from fluxio.errors import UsageError
from fluxio.governance.redaction import phones
from fluxio.governance.redaction import validators as check

__all__ = ["BUILTIN_RECOGNIZERS", "Entity", "Recognizer"]

_ENTITY_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


class Entity(StrEnum):
    """The entity types the built-in recognizers find; custom recognizers may add others."""

    EMAIL = "EMAIL"
    PHONE = "PHONE"
    CARD = "CARD"
    IBAN = "IBAN"
    NATIONAL_ID = "NATIONAL_ID"
    SECRET = "SECRET"  # noqa: S105 - an entity type name, not a credential
    IP_ADDRESS = "IP_ADDRESS"


@dataclass(frozen=True)
class Recognizer:
    """Finds one kind of sensitive value in text.

    Args:
        name: unique name, reported in findings (``"card"``, ``"aws_access_key"``).
        entity: the entity type, used for placeholders and configuration (``"CARD"``).
        pattern: compiled regex for candidates; a group named ``value`` narrows the span
            (``password=(?P<value>...)`` redacts only the value).
        confidence: 0-1; when two findings overlap the more confident (then longer) wins.
        validator: returns ``False`` for a candidate that only looks right (bad checksum).
        fit: shortens a candidate from the right (``None`` rejects it) before validation.
        hints: lower-case substrings of which one must occur for the pattern to run (a
            pattern that starts with a literal needs none: the regex engine skips as fast).
        needs_digits: skip texts without any digit.
        anchors: lower-case substrings every match contains, or a cheap regex every match
            contains a match of; when set, the pattern runs only near their occurrences
            instead of over the whole text.
        reach: ``(before, after)``: a match lies within ``before`` characters before and
            ``after`` characters after an anchor's start; ``(before, None)``: a match starts
            at most ``before`` characters before an anchor and may run on to the end.
        description: what it catches, for the docs and ``fluxio`` listings.
    """

    name: str
    entity: str
    pattern: re.Pattern[str]
    confidence: float
    validator: Callable[[str], bool] | None = None
    fit: Callable[[str], str | None] | None = None
    hints: tuple[str, ...] = ()
    needs_digits: bool = False
    anchors: tuple[str, ...] | re.Pattern[str] = ()
    reach: tuple[int, int | None] = (0, None)
    description: str = ""

    def __post_init__(self) -> None:
        """Refuse an entity type placeholders cannot carry, or a confidence outside (0, 1]."""
        if not _ENTITY_NAME.fullmatch(self.entity):
            raise UsageError(
                f"recognizer {self.name!r}: entity type {self.entity!r} must be upper-case "
                "letters, digits and underscores, like 'EMPLOYEE_ID'"
            )
        if not 0 < self.confidence <= 1:
            raise UsageError(
                f"recognizer {self.name!r}: confidence {self.confidence} must be in (0, 1]"
            )

    def applies(self, lowered: str, has_digits: bool) -> bool:
        """Whether the pattern can match a text, judged from its lower-case form."""
        if self.needs_digits and not has_digits:
            return False
        return not self.hints or any(hint in lowered for hint in self.hints)

    def spans(self, text: str, lowered: str | None = None) -> Iterator[tuple[int, int]]:
        """Yield ``(start, end)`` of every validated match in ``text``.

        Pass ``text.lower()`` as ``lowered`` to let anchored recognizers skip most of the text.
        """
        for match in self._matches(text, lowered):
            span = self._accept(text, match)
            if span is not None:
                yield span

    def _matches(self, text: str, lowered: str | None) -> Iterator[re.Match[str]]:
        if isinstance(self.anchors, re.Pattern):
            starts = [match.start() for match in self.anchors.finditer(text)]
        elif self.anchors and lowered is not None and len(lowered) == len(text):
            starts = sorted(set(_occurrences(lowered, self.anchors)))
        else:
            yield from self.pattern.finditer(text)
            return
        before, after = self.reach
        if after is not None:
            for low, high in _windows(starts, before, after, len(text)):
                yield from self.pattern.finditer(text, low, high)
            return
        end = 0
        for at in starts:
            for start in range(max(at - before, end), at + 1):
                match = self.pattern.match(text, start)
                if match is not None:
                    end = match.end()
                    yield match
                    break

    def _accept(self, text: str, match: re.Match[str]) -> tuple[int, int] | None:
        start, end = match.span("value") if "value" in self.pattern.groupindex else match.span()
        candidate = text[start:end]
        if self.fit is not None:
            fitted = self.fit(candidate)
            if not fitted:
                return None
            candidate, end = fitted, start + len(fitted)
        if self.validator is None or self.validator(candidate):
            return start, end
        return None


def _windows(starts: list[int], before: int, after: int, size: int) -> list[tuple[int, int]]:
    windows: list[tuple[int, int]] = []
    for at in starts:
        low, high = max(0, at - before), min(size, at + after)
        if windows and low <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(high, windows[-1][1]))
        else:
            windows.append((low, high))
    return windows


def _occurrences(lowered: str, anchors: tuple[str, ...]) -> Iterator[int]:
    for anchor in anchors:
        at = lowered.find(anchor)
        while at >= 0:
            yield at
            at = lowered.find(anchor, at + 1)


def _ipv4_valid(candidate: str) -> bool:
    try:
        ipaddress.IPv4Address(candidate)
    except ValueError:
        return False
    return True


def _ipv6_valid(candidate: str) -> bool:
    address = candidate.split("%", 1)[0]
    groups = [group for group in address.split(":") if group]
    # "::1" is loopback; "1::2" or "::2" are far more often Python slices than addresses.
    if address != "::1" and (len(groups) < 2 or sum(map(len, groups)) < 4):
        return False
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return False
    return True


def _r(
    name: str,
    entity: Entity,
    pattern: str,
    confidence: float,
    description: str,
    *,
    validator: Callable[[str], bool] | None = None,
    fit: Callable[[str], str | None] | None = None,
    hints: tuple[str, ...] = (),
    needs_digits: bool = False,
    anchors: tuple[str, ...] | re.Pattern[str] = (),
    reach: tuple[int, int | None] = (0, None),
    flags: re.RegexFlag = re.ASCII,
) -> Recognizer:
    return Recognizer(
        name,
        str(entity),
        re.compile(pattern, flags),
        confidence,
        validator,
        fit,
        hints,
        needs_digits,
        anchors,
        reach,
        description,
    )


# Patterns start with a literal where they can (the regex engine then jumps from one
# occurrence to the next) and check the preceding character right after it. re.ASCII keeps
# \d to 0-9, which the checksums need, and is faster than Unicode classes.
_KEY_END = r"[\"']?[ \t]*[:=][ \t]*[\"']?"
_KEYWORD_LEAD = (8, None)  # "signing_key": the keyword starts up to 8 characters before "key"


def _value(shortest: int) -> str:
    """The assigned value: a quoted string (spaces allowed) or a bare token."""
    quoted = rf"(?<=[\"'])[^\"'\n]{{{shortest},200}}(?=[\"'])"
    return rf"(?P<value>{quoted}|[^\s\"'`,;&<>]{{{shortest},}})"


_CONTACT = (
    _r("email", Entity.EMAIL,
       r"(?<![\w.%+-])(?<!\w')\w[\w.%+'-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
       r"[A-Za-z]{2,24}(?![\w-]|\.[A-Za-z0-9])",
       0.95, "addresses like jane.doe+news@mail.example.co.uk (not icon@2x.png)",
       validator=check.email_valid, anchors=("@",), reach=(65, 320), flags=re.UNICODE),
    _r("phone_international", Entity.PHONE,
       r"\+(?<![\w+]\+)\d{1,3}(?:[ .-]?\(\d{1,4}\)|[ .-]?\d{1,6}){1,6}(?!\w|[.-]\d)",
       0.8, "+CC numbers, E.164 or grouped, +44 (0)20 ...: calling code and length checked",
       validator=phones.international_phone_valid, fit=phones.fit_international_phone,
       needs_digits=True),
    _r("phone_international_00", Entity.PHONE,
       r"00(?<![\w+/.-]00)[1-9]\d{0,2}(?:[ .-]?\(\d{1,4}\)|[ .-]?\d{1,6}){1,6}(?!\w|[.-]\d)",
       0.75, "the same with the 00 international prefix: 0049 30 901820",
       validator=phones.international_phone_valid, fit=phones.fit_international_phone,
       needs_digits=True),
    _r("phone_north_america", Entity.PHONE,
       r"[(0-9](?<![\w+#/.-].)(?<!\d[ .-].)"
       r"(?:(?<=\()\d{3}\)[ .-]?|(?<=1)[ .-](?:\(\d{3}\)[ .-]?|\d{3}[ .-])|(?<=\d)\d\d[ .-])"
       r"\d{3}[ .-]\d{4}(?![\w-]|\.\d)",
       0.7, "(415) 555-0132, 415-555-0132, 1-800-555-0199: separators required, NANP rules",
       validator=phones.north_american_phone_valid, needs_digits=True),
    _r("phone_national", Entity.PHONE,
       r"[(0](?<![\w+#/.-].)(?<!\d[ .-].)(?:(?<=\()0[1-9]\d{0,3}\)|(?<=0)[1-9]\d{0,3})"
       r"(?:[ .-]\d{2,8}){1,4}(?![\w-]|[.,]\d)",
       0.6, "trunk-prefixed national numbers with separators: 020 7946 0958, 01 42 68 53 00",
       validator=phones.national_phone_valid, needs_digits=True),
)  # fmt: skip

_FINANCIAL = (
    _r("card", Entity.CARD,
       r"\d(?<![\w./-]\d)\d\d\d(?:\d{9,15}|([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{3})?"
       r"|([ -])\d{6}\2\d{4,5})(?![\w/-]|[.,]\d)",
       0.95, "13-19 digit card numbers, plain or grouped 4-4-4-4 / 4-6-5, Luhn + issuer prefix",
       validator=check.card_valid, needs_digits=True),
    _r("iban", Entity.IBAN,
       r"[A-Z](?<![A-Za-z0-9].)[A-Z]\d\d(?: ?[A-Z0-9]{4})+(?: ?[A-Z0-9]{1,3})?",
       0.95, "IBANs, compact or in groups of four: country length table + mod-97",
       validator=check.iban_valid, fit=check.fit_iban, needs_digits=True),
    _r("iban_any_case", Entity.IBAN,
       r"[A-Za-z](?<![A-Za-z0-9].)[A-Za-z]\d\d(?: ?[A-Za-z0-9]{4})+(?: ?[A-Za-z0-9]{1,3})?",
       0.95, "the same in lower or mixed case, right after the word IBAN",
       validator=check.iban_valid, fit=check.fit_iban, needs_digits=True, anchors=("iban",),
       reach=(0, 100)),
)  # fmt: skip

_NATIONAL_IDS = (
    _r("us_ssn", Entity.NATIONAL_ID, r"\d(?<![\w-]\d)\d\d([- ])\d\d\1\d\d\d\d(?![\w-])",
       0.85, "US social security numbers AAA-GG-SSSS, never-issued ranges excluded",
       validator=check.ssn_valid, needs_digits=True),
    _r("uk_nino", Entity.NATIONAL_ID,
       r"[A-CEGHJ-PR-TW-Z](?<!\w.)[A-CEGHJ-NPR-TW-Z] ?\d\d ?\d\d ?\d\d ?[A-D](?!\w)",
       0.85, "UK national insurance numbers (AB 12 34 56 C), unallocated prefixes excluded",
       validator=check.nino_valid, needs_digits=True),
    _r("es_dni_nie", Entity.NATIONAL_ID, r"[0-9XYZ](?<![\w./-].)\d{7}-?[A-Z](?![\w+])",
       0.9, "Spanish DNI (12345678Z) and NIE (X1234567L) with their mod-23 check letter",
       validator=check.spanish_id_valid, needs_digits=True),
    _r("it_codice_fiscale", Entity.NATIONAL_ID,
       r"[A-Z](?<!\w.)[A-Z]{5}\d\d[ABCDEHLMPRST]\d\d[A-Z]\d\d\d[A-Z](?!\w)",
       0.95, "Italian codice fiscale (RSSMRA85T10A562S) with its check character",
       validator=check.italian_tax_code_valid, needs_digits=True),
)  # fmt: skip

_KEYS = (
    _r("private_key", Entity.SECRET,
       r"-----BEGIN (?P<kind>[A-Z0-9 ]*)PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END (?P=kind)"
       r"PRIVATE KEY(?: BLOCK)?-----|(?:[ \t]*(?:\r?\n|\\n)[A-Za-z0-9+/=]{8,})*)",
       0.99, "PEM/PGP private key blocks (RSA, EC, OPENSSH, PGP...), also when truncated"),
    _r("url_credentials", Entity.SECRET,
       r"://[^\s:/@\"'<>]{0,64}:(?P<value>[^\s/@\"'<>]{1,128})@",
       0.97, "the password in scheme://user:password@host URLs (database and broker URLs)",
       validator=lambda v: not check.looks_like_placeholder(v)),
    _r("webhook_url", Entity.SECRET,
       r"https://(?:hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]{20,}"
       r"|(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_-]{20,})",
       0.97, "Slack and Discord incoming-webhook URLs (whoever has one can post)",
       ),
    _r("github_token", Entity.SECRET,
       r"g(?<![A-Za-z0-9_]g)(?:h[pousr]_[A-Za-z0-9]{30,255}|ithub_pat_[A-Za-z0-9_]{40,255})"
       r"(?![A-Za-z0-9_])",
       0.99, "GitHub tokens: ghp_/gho_/ghu_/ghs_/ghr_ (36 chars, 30+ accepted), github_pat_...",
       ),
    _r("stripe_key", Entity.SECRET, r"sk_(?<!\wsk_)(?:live|test)_[A-Za-z0-9]{16,}(?!\w)",
       0.99, "Stripe secret keys sk_live_/sk_test_"),
    _r("stripe_restricted_key", Entity.SECRET, r"rk_(?<!\wrk_)(?:live|test)_[A-Za-z0-9]{16,}(?!\w)",
       0.99, "Stripe restricted keys rk_live_/rk_test_"),
    _r("aws_access_key", Entity.SECRET,
       r"A(?<![A-Za-z0-9]A)(?:KIA|SIA|BIA|CCA|GPA|IDA|IPA|NPA|NVA|ROA|PKA)[A-Z0-9]{16}"
       r"(?![A-Za-z0-9])",
       0.95, "AWS access key ids (AKIA..., ASIA... and the other IAM prefixes)"),
    _r("slack_token", Entity.SECRET,
       r"x(?<![A-Za-z0-9-]x)(?:ox[abposre]-[A-Za-z0-9-]{10,}|app-\d-[A-Za-z0-9-]{10,})",
       0.95, "Slack tokens xoxb-/xoxp-/xoxa-/xoxs-/xoxe- and app tokens xapp-",
       validator=lambda v: any(c.isdigit() for c in v)),
    _r("google_api_key", Entity.SECRET, r"AIza(?<![\w-]AIza)[0-9A-Za-z_-]{35}(?![\w-])",
       0.95, "Google API keys AIza..."),
    _r("jwt", Entity.SECRET,
       r"eyJ(?<![\w-]eyJ)[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}(?![\w-])",
       0.95, "JSON Web Tokens (three base64url parts, header and payload start eyJ)",
       ),
    _r("openai_key", Entity.SECRET,
       r"sk-(?<![\w-]sk-)(?:proj-|svcacct-|admin-|ant-[a-z]+\d\d-)?[A-Za-z0-9_-]{20,}(?![\w-])",
       0.9, "OpenAI-style keys sk-..., sk-proj-..., Anthropic sk-ant-api03-...",
       validator=check.random_looking),
)  # fmt: skip

_ASSIGNMENTS = (
    _r("bearer_token", Entity.SECRET,
       r"(?<![\w-])bearer\s+(?P<value>[A-Za-z0-9._~+/-]{16,}=*)",
       0.85, "the credential after `Bearer ` (HTTP Authorization headers)",
       validator=check.random_looking, anchors=("bearer",), reach=_KEYWORD_LEAD,
       flags=re.ASCII | re.IGNORECASE),
    _r("password_assignment", Entity.SECRET,
       r"(?<![:/])(?:password|passwd|passphrase|pwd)" + _KEY_END + _value(4),
       0.8, "the value in password=..., \"db_password\": \"...\", PASSWD: ...",
       validator=check.password_like, anchors=("pass", "pwd"), reach=_KEYWORD_LEAD,
       flags=re.ASCII | re.IGNORECASE),
    _r("secret_assignment", Entity.SECRET,
       r"(?<![:/])(?:secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key"
       r"|auth[_-]?key|signing[_-]?key|credentials?)" + _KEY_END + _value(12),
       0.8, "a high-entropy value after secret=, token:, api_key=, client_secret: ...",
       validator=check.random_looking, anchors=("secret", "token", "key", "credential"),
       reach=_KEYWORD_LEAD, flags=re.ASCII | re.IGNORECASE),
)  # fmt: skip

_NETWORK = (
    _r("ipv4", Entity.IP_ADDRESS,
       r"\d(?<![\w.]\d)(?<![vV]ersion \d)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}(?!\w|\.\w)",
       0.85, "IPv4 addresses, validated with ipaddress (no leading zeros, octets <= 255)",
       validator=_ipv4_valid, hints=(".",), needs_digits=True),
    _r("ipv6", Entity.IP_ADDRESS,
       r"[0-9A-Fa-f:](?<![\w:.].)[0-9A-Fa-f]{0,3}(?::[0-9A-Fa-f]{0,4}){1,7}(?:\.\d{1,3}){0,3}"
       r"(?:%[A-Za-z0-9_.]+)?(?![\w:])",
       0.9, "IPv6 addresses, full or compressed, with embedded IPv4 or zone id; ipaddress-checked",
       validator=_ipv6_valid, anchors=re.compile(r":[0-9A-Fa-f]{0,4}:"), reach=(40, 50)),
)  # fmt: skip

BUILTIN_RECOGNIZERS: tuple[Recognizer, ...] = (
    *_CONTACT,
    *_FINANCIAL,
    *_NATIONAL_IDS,
    *_KEYS,
    *_ASSIGNMENTS,
    *_NETWORK,
)
"""Every built-in recognizer, in documentation order."""
