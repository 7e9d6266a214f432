"""Encoding a request body in the media type the operation declares.

JSON (``application/json`` and ``*+json``) is the common case; HTML forms
(``application/x-www-form-urlencoded``) and ``multipart/form-data`` send an object's fields as
text (nested values as JSON); any other media type sends a string as is and anything else as
JSON text.
"""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import urlencode

__all__ = ["encode_body"]


def encode_body(body: Any, media_type: str) -> tuple[bytes, str]:
    """The body bytes and the ``Content-Type`` header to send them with."""
    plain = media_type.split(";")[0].strip().lower()
    if plain == "application/json" or plain.endswith("+json"):
        return _json(body), media_type
    if plain == "application/x-www-form-urlencoded" and isinstance(body, dict):
        fields = {k: _field(v) for k, v in body.items() if v is not None}
        return urlencode(fields, doseq=True).encode(), media_type
    if plain == "multipart/form-data" and isinstance(body, dict):
        return _multipart(body)
    if isinstance(body, str):
        return body.encode(), media_type
    return _json(body), media_type


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _field(value: Any) -> str | list[str]:
    if isinstance(value, list):
        return [_text(v) for v in value]
    return _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _multipart(body: dict[str, Any]) -> tuple[bytes, str]:
    boundary = f"fluxio-{secrets.token_hex(12)}"
    parts: list[bytes] = []
    for name, value in body.items():
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            parts.append(head.encode() + _text(item).encode() + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
