"""Identifiers: time-ordered run ids and deterministic idempotency keys."""

from __future__ import annotations

import hashlib
import os
import time

__all__ = ["idempotency_key", "new_run_id", "new_worker_id"]

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def _b32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_run_id() -> str:
    """A new run id: 26 characters, sortable by creation time (ULID layout)."""
    millis = time.time_ns() // 1_000_000
    return _b32(millis, 10) + _b32(int.from_bytes(os.urandom(10), "big"), 16)


def new_worker_id() -> str:
    """A worker id naming the host process, unique per process start."""
    return f"{os.uname().nodename}:{os.getpid()}:{os.urandom(3).hex()}"


def idempotency_key(tenant_id: str, run_id: str, step_key: str) -> str:
    """The idempotency key handed to a step: the same on every attempt and every replay."""
    digest = hashlib.sha256(f"{tenant_id}\x1f{run_id}\x1f{step_key}".encode()).hexdigest()
    return digest[:32]
