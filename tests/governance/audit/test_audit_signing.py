"""Ed25519 keys and signed checkpoints: writing, loading, and the errors for bad key files."""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fluxio.errors import UsageError
from fluxio.governance.audit import (
    Checkpoint,
    fingerprint,
    load_public_key,
    load_signing_key,
    sign_checkpoint,
    signature_valid,
    write_key_pair,
)


def test_a_key_pair_round_trips_through_pem_files(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    public_path = write_key_pair(key, tmp_path / "keys" / "audit.pem")
    assert public_path == tmp_path / "keys" / "audit.pub.pem"
    assert stat.S_IMODE((tmp_path / "keys" / "audit.pem").stat().st_mode) == 0o600
    assert fingerprint(load_signing_key(tmp_path / "keys" / "audit.pem")) == fingerprint(key)
    assert fingerprint(load_public_key(public_path)) == fingerprint(key)
    assert fingerprint(load_public_key(tmp_path / "keys" / "audit.pem")) == fingerprint(key)


def test_an_existing_key_is_kept_unless_overwrite(key: Ed25519PrivateKey, tmp_path: Path) -> None:
    write_key_pair(key, tmp_path / "audit.pem")
    with pytest.raises(UsageError, match="already exists"):
        write_key_pair(Ed25519PrivateKey.generate(), tmp_path / "audit.pem")
    other = Ed25519PrivateKey.generate()
    write_key_pair(other, tmp_path / "audit.pem", overwrite=True)
    assert fingerprint(load_signing_key(tmp_path / "audit.pem")) == fingerprint(other)


def test_a_checkpoint_signature_covers_every_field(key: Ed25519PrivateKey) -> None:
    cp = sign_checkpoint(key, "acme", 8, "a" * 64, 1700000000.5)
    assert signature_valid(cp, key.public_key())
    assert Checkpoint.from_dict(cp.to_dict()) == cp
    for change in ({"seq": 9}, {"hash": "b" * 64}, {"time": 1.0}, {"tenant_id": "globex"}):
        assert not signature_valid(dataclasses.replace(cp, **change), key.public_key())  # type: ignore[arg-type]
    assert not signature_valid(dataclasses.replace(cp, signature="not base64!"), key.public_key())


def test_missing_key_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"cannot read the signing key .*fluxio audit keygen"):
        load_signing_key(tmp_path / "nope.pem")
    with pytest.raises(UsageError, match="cannot read the public key"):
        load_public_key(tmp_path / "nope.pub.pem")


def test_a_file_that_is_not_pem_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("hello")
    with pytest.raises(UsageError, match="is not a PEM private key"):
        load_signing_key(junk)
    with pytest.raises(UsageError, match="is not a PEM public key"):
        load_public_key(junk)


def test_a_key_of_another_algorithm_is_refused(tmp_path: Path) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    private = tmp_path / "ec.pem"
    private.write_bytes(
        ec_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = tmp_path / "ec.pub.pem"
    public.write_bytes(
        ec_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    with pytest.raises(UsageError, match="need an Ed25519 key"):
        load_signing_key(private)
    with pytest.raises(UsageError, match="verified with an Ed25519 public key"):
        load_public_key(public)


def test_a_malformed_checkpoint_dict_is_refused() -> None:
    with pytest.raises(ValueError, match="exactly the fields"):
        Checkpoint.from_dict({"seq": 1})
    good = sign_checkpoint(Ed25519PrivateKey.generate(), "acme", 1, "a" * 64, 1.0).to_dict()
    with pytest.raises(ValueError, match="field 'seq' has the wrong type"):
        Checkpoint.from_dict({**good, "seq": "1"})
