"""The checks that tell a real identifier from a look-alike: check digits, ranges, entropy.

Each function takes the candidate text a recognizer found and answers whether it is
well-formed: Luhn and issuer prefixes for payment cards, ISO 13616 mod-97 for IBANs, the
published check letters of Spanish and Italian tax ids, the ranges US social security numbers
and UK national insurance numbers never use, and Shannon entropy for secrets. Phone numbers
have their own module, ``phones``.
"""

from __future__ import annotations

import math
import re
from collections import Counter

__all__ = [
    "IBAN_LENGTHS",
    "card_issuer_known",
    "card_valid",
    "email_valid",
    "fit_iban",
    "iban_check_digits",
    "iban_valid",
    "italian_tax_code_valid",
    "looks_like_code",
    "looks_like_placeholder",
    "looks_like_reference",
    "looks_like_words",
    "luhn_valid",
    "nino_valid",
    "password_like",
    "random_looking",
    "shannon_entropy",
    "spanish_id_valid",
    "ssn_valid",
]

# ISO 13616 registry: the full length of an IBAN per country code.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27,
    "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip

_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn (mod 10) check used by payment cards."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _iban_number(rearranged: str) -> int:
    return int("".join(str(int(char, 36)) for char in rearranged))


def iban_valid(candidate: str) -> bool:
    """Whether ``candidate`` (spaces allowed) has its country's IBAN length and mod-97 == 1."""
    compact = _NON_ALNUM.sub("", candidate).upper()
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact[2:4].isdigit():
        return False
    return _iban_number(compact[4:] + compact[:4]) % 97 == 1


def iban_check_digits(country: str, bban: str) -> str:
    """The two check digits that make ``country + digits + bban`` a valid IBAN."""
    remainder = _iban_number(bban.upper() + country.upper() + "00") % 97
    return f"{98 - remainder:02d}"


def ssn_valid(candidate: str) -> bool:
    """Whether a ``AAA-GG-SSSS`` number is outside the ranges the SSA never issues."""
    digits = _NON_ALNUM.sub("", candidate)
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in {"000", "666"} or area >= "900" or group == "00" or serial == "0000":
        return False
    # Numbers voided after they were printed on sample cards and used by thousands.
    return digits not in {"078051120", "219099999", "123456789"}


_NINO_BAD_PREFIXES = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def nino_valid(candidate: str) -> bool:
    """Whether a UK national insurance number avoids the prefixes HMRC never allocates."""
    return _NON_ALNUM.sub("", candidate).upper()[:2] not in _NINO_BAD_PREFIXES


_SPANISH_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def spanish_id_valid(candidate: str) -> bool:
    """Whether a Spanish DNI (8 digits + letter) or NIE (X/Y/Z + 7 digits + letter) checks out."""
    compact = _NON_ALNUM.sub("", candidate).upper()
    number = compact[:-1]
    if number[0] in "XYZ":
        number = str("XYZ".index(number[0])) + number[1:]
    return number.isdigit() and _SPANISH_LETTERS[int(number) % 23] == compact[-1]


_CF_ODD = [
    1,
    0,
    5,
    7,
    9,
    13,
    15,
    17,
    19,
    21,
    2,
    4,
    18,
    20,
    11,
    3,
    6,
    8,
    12,
    14,
    16,
    10,
    22,
    25,
    24,
    23,
]


def _cf_value(char: str, odd: bool) -> int:
    index = int(char) if char.isdigit() else ord(char) - 65
    return _CF_ODD[index] if odd else index


def italian_tax_code_valid(candidate: str) -> bool:
    """Whether an Italian codice fiscale's last letter matches its check character."""
    code = candidate.upper()
    total = sum(_cf_value(char, position % 2 == 0) for position, char in enumerate(code[:15]))
    return chr(65 + total % 26) == code[15]


def shannon_entropy(text: str) -> float:
    """Bits of Shannon entropy per character of ``text`` (0.0 for an empty string)."""
    if not text:
        return 0.0
    size = len(text)
    return -sum(n / size * math.log2(n / size) for n in Counter(text).values())


# (lowest prefix, highest prefix, allowed lengths) per card scheme, by issuer identification
# number: Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay, Maestro, Mir.
_CARD_ISSUERS: tuple[tuple[str, str, frozenset[int]], ...] = (
    ("4", "4", frozenset({13, 16, 19})),
    ("51", "55", frozenset({16})),
    ("2221", "2720", frozenset({16})),
    ("34", "34", frozenset({15})),
    ("37", "37", frozenset({15})),
    ("6011", "6011", frozenset(range(16, 20))),
    ("644", "649", frozenset(range(16, 20))),
    ("65", "65", frozenset(range(16, 20))),
    ("300", "305", frozenset(range(14, 20))),
    ("36", "36", frozenset(range(14, 20))),
    ("38", "39", frozenset(range(16, 20))),
    ("3528", "3589", frozenset(range(16, 20))),
    ("62", "62", frozenset(range(16, 20))),
    ("5018", "5018", frozenset(range(12, 20))),
    ("5020", "5020", frozenset(range(12, 20))),
    ("5038", "5038", frozenset(range(12, 20))),
    ("5893", "5893", frozenset(range(12, 20))),
    ("6304", "6304", frozenset(range(12, 20))),
    ("6759", "6759", frozenset(range(12, 20))),
    ("6761", "6763", frozenset(range(12, 20))),
    ("2200", "2204", frozenset(range(16, 20))),
)
_NON_DIGIT = re.compile(r"\D")


def card_issuer_known(digits: str) -> bool:
    """Whether a card number's prefix and length belong to a known card scheme."""
    for low, high, lengths in _CARD_ISSUERS:
        if len(digits) in lengths and low <= digits[: len(low)] <= high:
            return True
    return False


def card_valid(candidate: str) -> bool:
    """Whether a 13-19 digit candidate (separators allowed) passes Luhn with a known issuer."""
    digits = _NON_DIGIT.sub("", candidate)
    return 13 <= len(digits) <= 19 and card_issuer_known(digits) and luhn_valid(digits)


def fit_iban(candidate: str) -> str | None:
    """Cut a candidate to its country's IBAN length; ``None`` if that splits a word or is short."""
    length = IBAN_LENGTHS.get(candidate[:2].upper())
    seen = 0
    for position, char in enumerate(candidate):
        seen += char != " "
        if seen == length:
            rest = candidate[position + 1 : position + 2]
            return None if rest.isalnum() else candidate[: position + 1]
    return None


_IMAGE_SUFFIXES = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tiff"})


def email_valid(candidate: str) -> bool:
    """Whether an ``a@b.tld`` candidate respects RFC 5321 lengths and is not ``icon@2x.png``."""
    local, _, domain = candidate.rpartition("@")
    if len(candidate) > 254 or len(local) > 64 or ".." in local:
        return False
    if local.startswith(".") or local.endswith("."):
        return False
    return domain.rsplit(".", 1)[-1].lower() not in _IMAGE_SUFFIXES


_PLACEHOLDER_WORDS = ("redacted", "placeholder", "your", "xxxx", "****")


def looks_like_placeholder(value: str) -> bool:
    """Whether an assigned value is a template or dummy (``${VAR}``, ``<token>``, ``****``)."""
    lowered = value.lower()
    if value[0] in "$%{[<*#(" or len(set(value)) <= 2:
        return True
    return any(word in lowered for word in _PLACEHOLDER_WORDS)


_CALL = re.compile(r"[A-Za-z_][\w.]*[(\[{].*")
_DOTTED_NAME = re.compile(r"[A-Za-z_]+(?:\.[A-Za-z_]+)+")
_SNAKE_NAME = re.compile(r"_?[A-Za-z]+(?:_[A-Za-z]+)+")


def looks_like_code(value: str) -> bool:
    """Whether an assigned value is a program expression (``auth[2]``, ``self.pwd``).

    Names count only without digits: ``ya29.a0AfH6...`` is an OAuth token, while
    ``master_user_password`` and ``FORCE_CHANGE_PASSWORD`` are identifiers.
    """
    if value in {"None", "True", "False", "null"}:
        return True
    return any(shape.fullmatch(value) for shape in (_CALL, _DOTTED_NAME, _SNAKE_NAME))


_TOKEN_CHARS = re.compile(r"[A-Za-z0-9+/=_.~-]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_LOWER_RUN = re.compile(r"[a-z]+")


def looks_like_words(value: str) -> bool:
    """Whether a letters-only value reads as CamelCase words (``ExclusiveStartKey``)."""
    if not value.isalpha():
        return False
    runs = _LOWER_RUN.findall(value)
    return bool(runs) and sum(map(len, runs)) / len(runs) >= 3


def looks_like_reference(value: str) -> bool:
    """Whether a value names something rather than being a secret: an ARN, a URL, a sentence."""
    return value.startswith("arn:") or "://" in value or (" " in value and value.endswith("."))


def random_looking(value: str, *, min_length: int = 16, min_entropy: float = 3.0) -> bool:
    """Whether a token is long, high-entropy and mixes digits or cases, as generated keys do.

    Identifiers (``continuationToken``), UUIDs (request ids), code and placeholders are not.
    """
    if len(value) < min_length or not _TOKEN_CHARS.fullmatch(value):
        return False
    if looks_like_placeholder(value) or looks_like_code(value) or looks_like_words(value):
        return False
    if _UUID.fullmatch(value):
        return False
    mixed = any(c.isdigit() for c in value) or (value.lower() != value != value.upper())
    return mixed and shannon_entropy(value) >= min_entropy


def password_like(value: str) -> bool:
    """Whether a value assigned to a password key is a real password, not a prose word."""
    value = value.rstrip("):}],")  # "pwd=None):" and "{'password': password}" are code
    if len(value) < 4 or looks_like_placeholder(value) or looks_like_code(value):
        return False
    if looks_like_reference(value):
        return False
    if value.isalpha() and (value.isupper() or value[1:].islower()):
        return len(value) >= 12  # a short word ("please", "PASSWORD") is prose or a constant
    return True
