"""Offline bundles: a tenant's chain and checkpoints in one JSONL file, verifiable anywhere.

Layout, one canonical-JSON object per line::

    {"format": "fluxio-audit-bundle", "version": 1, "tenant_id": ..., "exported_at": ...,
     "key_fingerprint": ..., "entries": N, "checkpoints": M}
    {"entry": {...}}          N lines, by seq
    {"checkpoint": {...}}     M lines, by seq

The header is informational: nothing in it is trusted. Verification recomputes every hash
from the entries and checks every checkpoint's signature with the public key it is given.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from fluxio.errors import UsageError
from fluxio.governance.audit.canonical import canonical_json
from fluxio.governance.audit.chain import VerifyReport, verify
from fluxio.governance.audit.entry import AuditEntry
from fluxio.governance.audit.log import AuditLog
from fluxio.governance.audit.signing import Checkpoint, fingerprint

__all__ = [
    "AuditBundle",
    "BundleError",
    "export_bundle",
    "read_bundle",
    "verify_bundle",
    "verify_log",
    "write_bundle",
]

FORMAT = "fluxio-audit-bundle"
VERSION = 1


class BundleError(UsageError):
    """A bundle file cannot be read: not JSONL, not a bundle, or a malformed line."""


@dataclass(frozen=True, slots=True)
class AuditBundle:
    """One tenant's exported chain: entries by seq, checkpoints by seq.

    Attributes:
        tenant_id: whose chain.
        entries: the entries, in file order.
        checkpoints: the signed checkpoints, in file order.
        key_fingerprint: the key the exporter says signed the checkpoints (a hint only).
        exported_at: when it was exported (seconds since the epoch).
    """

    tenant_id: str
    entries: tuple[AuditEntry, ...]
    checkpoints: tuple[Checkpoint, ...]
    key_fingerprint: str | None = None
    exported_at: float = 0.0


async def export_bundle(
    log: AuditLog, tenant_id: str, *, public_key: Ed25519PublicKey | None = None
) -> AuditBundle:
    """Read a tenant's whole chain and checkpoints from ``log``.

    Checkpoints are read before entries, so a checkpoint signed meanwhile is never past the
    end of the entries exported.
    """
    checkpoints = tuple(await log.checkpoints(tenant_id))
    entries = tuple(await log.entries(tenant_id))
    key: str | None
    if public_key is not None:
        key = fingerprint(public_key)
    else:
        key = checkpoints[-1].key_fingerprint if checkpoints else None
    return AuditBundle(tenant_id, entries, checkpoints, key, time.time())


def write_bundle(bundle: AuditBundle, path: str | Path) -> Path:
    """Write ``bundle`` to ``path`` as JSONL; returns the path."""
    header = {
        "format": FORMAT,
        "version": VERSION,
        "tenant_id": bundle.tenant_id,
        "exported_at": bundle.exported_at,
        "key_fingerprint": bundle.key_fingerprint,
        "entries": len(bundle.entries),
        "checkpoints": len(bundle.checkpoints),
    }
    lines = [canonical_json(header)]
    lines += [canonical_json({"entry": e.to_dict()}) for e in bundle.entries]
    lines += [canonical_json({"checkpoint": c.to_dict()}) for c in bundle.checkpoints]
    target = Path(path)
    try:
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write the bundle to {target}: {exc.strerror or exc}") from exc
    return target


def read_bundle(path: str | Path) -> AuditBundle:
    """Read a bundle written by ``write_bundle``.

    Raises:
        BundleError: the file is missing or malformed (says which line and why).
    """
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BundleError(f"cannot read the audit bundle {source}: {exc}") from exc
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise BundleError(f"{source} is empty; export one with `fluxio audit export FILE`")
    header = _header(source, _parse(source, *lines[0]))
    entries: list[AuditEntry] = []
    checkpoints: list[Checkpoint] = []
    for number, line in lines[1:]:
        record = _parse(source, number, line)
        try:
            if isinstance(record, dict) and set(record) == {"entry"}:
                entries.append(AuditEntry.from_dict(record["entry"]))
            elif isinstance(record, dict) and set(record) == {"checkpoint"}:
                checkpoints.append(Checkpoint.from_dict(record["checkpoint"]))
            else:
                raise ValueError('expected {"entry": ...} or {"checkpoint": ...}')
        except ValueError as exc:
            raise BundleError(f"{source}:{number}: {exc}") from exc
    return AuditBundle(
        header["tenant_id"], tuple(entries), tuple(checkpoints),
        header.get("key_fingerprint"), float(header.get("exported_at") or 0.0),
    )  # fmt: skip


def _parse(source: Path, number: int, line: str) -> Any:
    try:
        return json.loads(line, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise BundleError(
            f"{source}:{number}: not valid JSON ({exc.msg} at column {exc.colno}); the bundle "
            "is damaged"
        ) from exc
    except ValueError as exc:
        raise BundleError(f"{source}:{number}: {exc}; the bundle is damaged") from exc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _header(source: Path, header: Any) -> dict[str, Any]:
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BundleError(
            f"{source} is not a fluxio audit bundle (its first line has no "
            f'"format": "{FORMAT}"); export one with `fluxio audit export FILE`'
        )
    if header.get("version") != VERSION:
        raise BundleError(
            f"{source} is bundle version {header.get('version')!r}; this fluxio reads "
            f"version {VERSION}"
        )
    if not isinstance(header.get("tenant_id"), str):
        raise BundleError(f"{source}:1: the header names no tenant_id")
    return header


def verify_bundle(bundle: AuditBundle, public_key: Ed25519PublicKey) -> VerifyReport:
    """Verify an exported chain offline: hashes, links, payloads and signed checkpoints."""
    return verify(bundle.tenant_id, bundle.entries, bundle.checkpoints, public_key)


async def verify_log(
    log: AuditLog, tenant_id: str, public_key: Ed25519PublicKey | None = None
) -> VerifyReport:
    """Verify a tenant's chain in a live log (checkpoints too, given their public key).

    The log's head is read first, then checkpoints, then entries, so appends that happen
    meanwhile only add entries past what the head and checkpoints vouch for.
    """
    head = await log.head(tenant_id)
    bundle = await export_bundle(log, tenant_id)
    return verify(tenant_id, bundle.entries, bundle.checkpoints, public_key, head)
