"""Phone-number checks: ITU calling codes, national number lengths, North American rules.

Without a numbering-plan database these checks are deliberately plain: an international
number needs a calling code in use and a national length the country allows; a national
number needs separators and a plausible digit count, so dates and order numbers stay out.
"""

from __future__ import annotations

import re

__all__ = [
    "fit_international_phone",
    "international_phone_valid",
    "nanp_valid",
    "national_phone_valid",
    "north_american_phone_valid",
]

_NON_DIGIT = re.compile(r"\D")
_SSN_SHAPE = re.compile(r"\d{3}-\d{2}-\d{4}")
_ZIP4_SHAPE = re.compile(r"\d{5}-\d{4}")

# ITU-T E.164 country calling codes in use (the set is prefix-free).
_CALLING_CODES_TEXT = """
    1 7 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61
    62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98 211 212 213 216 218 220 221 222 223 224
    225 226 227 228 229 230 231 232 233 234 235 236 237 238 239 240 241 242 243 244 245 246
    247 248 249 250 251 252 253 254 255 256 257 258 260 261 262 263 264 265 266 267 268 269
    290 291 297 298 299 350 351 352 353 354 355 356 357 358 359 370 371 372 373 374 375 376
    377 378 380 381 382 383 385 386 387 389 420 421 423 500 501 502 503 504 505 506 507 508
    509 590 591 592 593 594 595 596 597 598 599 670 672 673 674 675 676 677 678 679 680 681
    682 683 685 686 687 688 689 690 691 692 850 852 853 855 856 880 886 960 961 962 963 964
    965 966 967 968 970 971 972 973 974 975 976 977 992 993 994 995 996 998"""
_CALLING_CODES = frozenset(_CALLING_CODES_TEXT.split())
# National significant number lengths for the most common countries; others allow 6-12.
_NSN_LENGTHS: dict[str, frozenset[int]] = {
    "1": frozenset({10}), "7": frozenset({10}), "31": frozenset({9}), "32": frozenset({8, 9}),
    "33": frozenset({9}), "34": frozenset({9}), "39": frozenset(range(6, 12)),
    "41": frozenset({9}), "44": frozenset({9, 10}), "49": frozenset(range(6, 14)),
    "52": frozenset({10}), "55": frozenset({10, 11}), "61": frozenset({9}),
    "81": frozenset({9, 10}), "86": frozenset({10, 11}), "91": frozenset({10}),
}  # fmt: skip
_ANY_NSN = frozenset(range(6, 13))


def _international_digits(candidate: str) -> str:
    """Calling code + national number: no ``+``/``00`` prefix, no ``(0)`` trunk digit."""
    digits = _NON_DIGIT.sub("", candidate.replace("(0)", ""))
    return digits if candidate.startswith("+") else digits[2:]


def _calling_code(digits: str) -> str | None:
    return next((digits[:n] for n in (1, 2, 3) if digits[:n] in _CALLING_CODES), None)


def nanp_valid(digits: str) -> bool:
    """Whether 10 digits form a North American number: area and exchange start 2-9, not N11."""
    area, exchange = digits[:3], digits[3:6]
    return (
        len(digits) == 10
        and area[0] not in "01"
        and exchange[0] not in "01"
        and area[1:] != "11"
        and exchange[1:] != "11"
    )


def international_phone_valid(candidate: str) -> bool:
    """Whether ``+CC ...`` has a real calling code and a plausible national number length."""
    if candidate.count("(") != candidate.count(")"):
        return False
    digits = _international_digits(candidate)
    code = _calling_code(digits)
    if code is None or len(digits) > 15:
        return False
    if len(re.split(r"\D+", candidate)[-1]) < 2:  # "+35236450.6" is a decimal, not a phone
        return False
    national = digits[len(code) :]
    if code == "1" and not nanp_valid(national):
        return False
    return len(national) in _NSN_LENGTHS.get(code, _ANY_NSN)


def fit_international_phone(candidate: str) -> str:
    """Drop trailing digit groups that make a ``+CC`` number longer than its country allows."""
    code = _calling_code(_international_digits(candidate)) or ""
    longest = len(code) + max(_NSN_LENGTHS.get(code, _ANY_NSN))
    while len(_international_digits(candidate)) > longest and " " in candidate:
        candidate = candidate.rsplit(" ", 1)[0].rstrip(" .-")
    return candidate


def national_phone_valid(candidate: str) -> bool:
    """Whether a trunk-prefixed (``0...``) number has 9-12 digits and consistent separators.

    Shapes that belong to something else are refused: ``078-05-1120`` (a US SSN), ``01760-2098``
    (a ZIP+4 code), ``03.05.16.0001.01`` (dotted groups of uneven length: a section number).
    """
    digits = _NON_DIGIT.sub("", candidate)
    if not 9 <= len(digits) <= 12 or candidate.count("(") != candidate.count(")"):
        return False
    if _SSN_SHAPE.fullmatch(candidate) or _ZIP4_SHAPE.fullmatch(candidate):
        return False
    if "." not in candidate:
        return True
    groups = candidate.split(".")
    return len(groups) >= 3 and len({len(group) for group in groups[1:]}) == 1


def north_american_phone_valid(candidate: str) -> bool:
    """Whether a national US/Canada number (optionally ``1-`` prefixed) follows NANP rules.

    One kind of separator throughout (any may follow ``(415)``): ``1.648 777 2536`` is a
    physical constant, not a phone number.
    """
    digits = _NON_DIGIT.sub("", candidate)
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if candidate.count("(") != candidate.count(")") or not nanp_valid(digits):
        return False
    _, paren, after = candidate.rpartition(")")
    separators = _NON_DIGIT.findall(after.lstrip(" .-") if paren else candidate)
    return len(set(separators)) <= 1
