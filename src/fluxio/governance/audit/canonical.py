"""Canonical JSON: one byte string per value, so a hash computed today is recomputed tomorrow.

The rules follow RFC 8785 (JSON Canonicalization Scheme):

- objects: keys sorted by their UTF-16 code units, no whitespace anywhere;
- strings: UTF-8, only ``"``, ``\\`` and control characters escaped (``\\n``, ``\\u001f``);
- numbers: integers as decimal integers; floats as ECMAScript's ``Number.prototype.toString``
  renders them (shortest round-trip digits, ``1.0`` → ``1``, ``1e21`` → ``1e+21``,
  ``1e-7`` → ``1e-7``, ``-0.0`` → ``0``); NaN and infinities are refused;
- ``true``, ``false``, ``null``; tuples are arrays.

A float with an integral value renders like the integer, so ``1.0`` and ``1`` digest the same,
as they would in any other JSON implementation that follows RFC 8785.
"""

from __future__ import annotations

import hashlib
import json
import math
from decimal import Decimal
from typing import Any

__all__ = ["canonical_bytes", "canonical_json", "digest"]

_string = json.JSONEncoder(ensure_ascii=False).encode
_fast = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
).encode


class _Slow(Exception):
    """The value needs the careful renderer (an exponent float, an astral key, a subclass)."""


def canonical_json(value: Any) -> str:
    """The canonical JSON text of a JSON-compatible value.

    Raises:
        ValueError: a float is NaN or infinite, or a key is not a string.
        TypeError: the value holds something JSON cannot represent.
    """
    try:
        return _fast(_prepare(value))
    except _Slow:
        parts: list[str] = []
        _render(value, parts)
        return "".join(parts)


def canonical_bytes(value: Any) -> bytes:
    """The canonical JSON of ``value`` as UTF-8 bytes (what hashes and signatures cover)."""
    return canonical_json(value).encode("utf-8")


def digest(value: Any) -> str:
    """The SHA-256 of a value's canonical JSON, as 64 lower-case hex digits."""
    return hashlib.sha256(canonical_bytes(value)).hexdigest()


def _prepare(value: Any) -> Any:
    """``value`` made safe for the C encoder, whose output then is canonical: integral floats
    become ints, and anything it would render differently from RFC 8785 raises ``_Slow``."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        if value.is_integer() and abs(value) < 2**53:  # larger ones round to fewer digits
            return int(value)
        if value.is_integer() or "e" in repr(value) or not math.isfinite(value):
            raise _Slow
        return value
    if kind is dict:
        return {_plain_key(k): _prepare(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_prepare(v) for v in value]
    raise _Slow


def _plain_key(key: Any) -> str:
    """A key whose code-point order equals its UTF-16 order (no astral characters)."""
    if type(key) is not str or (not key.isascii() and max(key) > "\uffff"):
        raise _Slow
    return key


def _render(value: Any, parts: list[str]) -> None:
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, str):
        parts.append(_string(value))
    elif isinstance(value, int):
        parts.append(str(int(value)))
    elif isinstance(value, float):
        parts.append(_number(value))
    elif isinstance(value, dict):
        _render_object(value, parts)
    elif isinstance(value, list | tuple):
        _render_array(value, parts)
    else:
        raise TypeError(
            f"cannot put a {type(value).__name__} into canonical JSON; convert it to a string, "
            "number, bool, None, list or dict first"
        )


def _render_object(value: dict[Any, Any], parts: list[str]) -> None:
    for key in value:
        if not isinstance(key, str):
            raise ValueError(f"canonical JSON needs string keys, got {key!r}")
    parts.append("{")
    for i, key in enumerate(sorted(value, key=_utf16)):
        if i:
            parts.append(",")
        parts.append(_string(key))
        parts.append(":")
        _render(value[key], parts)
    parts.append("}")


def _render_array(value: list[Any] | tuple[Any, ...], parts: list[str]) -> None:
    parts.append("[")
    for i, item in enumerate(value):
        if i:
            parts.append(",")
        _render(item, parts)
    parts.append("]")


def _utf16(key: str) -> bytes:
    """Sort key: RFC 8785 orders object keys by UTF-16 code units, not code points."""
    return key.encode("utf-16-be", "surrogatepass")


def _number(value: float) -> str:
    """A float as ECMAScript renders it (the RFC 8785 number format)."""
    if not math.isfinite(value):
        raise ValueError(f"canonical JSON cannot hold {value!r}; record it as a string or null")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    assert isinstance(exponent, int)
    # value = 0.digits × 10^n  (n is ECMAScript's "n": position of the decimal point)
    n = len(digit_tuple) + exponent
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    e = n - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{mantissa}e{'+' if e > 0 else '-'}{abs(e)}"
