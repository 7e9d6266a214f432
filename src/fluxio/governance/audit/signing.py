"""Ed25519-signed checkpoints: a signature over (tenant, seq, hash, time) kept outside the log.

A checkpoint vouches for every entry up to its sequence number, because each entry's hash
covers the previous one. Someone who can write to the database can rewrite the chain and
recompute every hash, but cannot sign the new head without the private key, so the verifier
catches the rewrite at the first checkpoint it contradicts.

Keys are PEM files: the private key (PKCS#8) stays with the process that appends; the public
key (SubjectPublicKeyInfo) goes to whoever verifies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fluxio.errors import UsageError
from fluxio.governance.audit.canonical import canonical_bytes

__all__ = [
    "Checkpoint",
    "fingerprint",
    "generate_signing_key",
    "load_public_key",
    "load_signing_key",
    "sign_checkpoint",
    "signature_valid",
    "write_key_pair",
]

_DOMAIN = b"fluxio.audit.checkpoint.v1\n"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement: "tenant's chain had ``hash`` at ``seq`` at ``time``".

    Attributes:
        tenant_id: whose chain.
        seq: the last entry it covers.
        hash: that entry's hash.
        time: when it was signed (seconds since the epoch).
        key_fingerprint: which key signed it (``fingerprint(public_key)``).
        signature: the Ed25519 signature, base64.
    """

    tenant_id: str
    seq: int
    hash: str
    time: float
    key_fingerprint: str
    signature: str

    def signed_bytes(self) -> bytes:
        """Exactly what the signature covers (a domain tag, then canonical JSON)."""
        return _message(self.tenant_id, self.seq, self.hash, self.time, self.key_fingerprint)

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint as JSON values."""
        return {
            "tenant_id": self.tenant_id,
            "seq": self.seq,
            "hash": self.hash,
            "time": self.time,
            "key_fingerprint": self.key_fingerprint,
            "signature": self.signature,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Checkpoint:
        """Read a checkpoint written by ``to_dict``.

        Raises:
            ValueError: a field is missing, unexpected or of the wrong type.
        """
        if not isinstance(data, dict) or set(data) != set(_CHECKPOINT_TYPES):
            raise ValueError(
                f"a checkpoint needs exactly the fields {', '.join(_CHECKPOINT_TYPES)}"
            )
        for name, kinds in _CHECKPOINT_TYPES.items():
            if isinstance(data[name], bool) or not isinstance(data[name], kinds):
                raise ValueError(f"checkpoint field {name!r} has the wrong type")
        return cls(**data)


_CHECKPOINT_TYPES: dict[str, tuple[type, ...]] = {
    "tenant_id": (str,),
    "seq": (int,),
    "hash": (str,),
    "time": (int, float),
    "key_fingerprint": (str,),
    "signature": (str,),
}


def _message(tenant_id: str, seq: int, hash: str, time: float, key: str) -> bytes:
    body = {"tenant_id": tenant_id, "seq": seq, "hash": hash, "time": time, "key": key}
    return _DOMAIN + canonical_bytes(body)


def fingerprint(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """A short, stable name for a key: ``ed25519:`` and the SHA-256 of its raw public bytes."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:32]


def sign_checkpoint(
    key: Ed25519PrivateKey, tenant_id: str, seq: int, hash: str, time: float
) -> Checkpoint:
    """Sign the head ``(seq, hash)`` of a tenant's chain at ``time``."""
    name = fingerprint(key)
    signature = key.sign(_message(tenant_id, seq, hash, time, name))
    return Checkpoint(tenant_id, seq, hash, time, name, base64.b64encode(signature).decode())


def signature_valid(checkpoint: Checkpoint, public_key: Ed25519PublicKey) -> bool:
    """True if ``public_key`` signed exactly this checkpoint."""
    try:
        signature = base64.b64decode(checkpoint.signature, validate=True)
        public_key.verify(signature, checkpoint.signed_bytes())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def generate_signing_key() -> Ed25519PrivateKey:
    """A new Ed25519 private key."""
    return Ed25519PrivateKey.generate()


def write_key_pair(key: Ed25519PrivateKey, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the private key to ``path`` (mode 0600) and the public key beside it.

    Returns:
        The public key's path: ``path`` with ``.pub.pem`` in place of its suffix.

    Raises:
        UsageError: ``path`` exists and ``overwrite`` is false.
    """
    private_path = Path(path)
    public_path = public_key_path(private_path)
    if not overwrite and private_path.exists():
        raise UsageError(
            f"{private_path} already exists; keep it (checkpoints signed with it need its "
            "public key to verify) or pass overwrite/--force to replace it"
        )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(pem)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return public_path


def public_key_path(private_path: Path) -> Path:
    """Where the public key of the private key at ``private_path`` is kept."""
    return private_path.with_name(private_path.stem + ".pub.pem")


def load_signing_key(path: str | Path, password: bytes | None = None) -> Ed25519PrivateKey:
    """Load an Ed25519 private key from a PEM file.

    Raises:
        UsageError: the file is missing, not a PEM private key, or not an Ed25519 key.
    """
    data = _read(Path(path), "signing key")
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except (ValueError, TypeError) as exc:
        raise UsageError(
            f"{path} is not a PEM private key ({exc}); create one with `fluxio audit keygen`"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise UsageError(
            f"{path} holds a {type(key).__name__.removeprefix('_')} key; audit checkpoints "
            "need an Ed25519 key (create one with `fluxio audit keygen`)"
        )
    return key


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    """Load an Ed25519 public key from a PEM file (a private key's PEM also works).

    Raises:
        UsageError: the file is missing, holds no PEM key, or not an Ed25519 one.
    """
    data = _read(Path(path), "public key")
    if b"PRIVATE KEY" in data:
        return load_signing_key(path).public_key()
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise UsageError(
            f"{path} is not a PEM public key ({exc}); pass the .pub.pem file written by "
            "`fluxio audit keygen`"
        ) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise UsageError(
            f"{path} holds a {type(key).__name__.removeprefix('_')} key; audit checkpoints "
            "are verified with an Ed25519 public key"
        )
    return key


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(
            f"cannot read the {what} {path}: {exc.strerror or exc}; check the path "
            "(`fluxio audit keygen` creates a key pair)"
        ) from exc
