"""The offline verifier catches every tamper and names the first sequence number it distrusts.

The chain: 12 entries of tenant ``acme``, signed checkpoints at seq 4, 8 and 12.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fluxio.governance.audit import (
    Actor,
    AuditBundle,
    AuditEntry,
    AuditEvent,
    BundleError,
    Head,
    MemoryAuditLog,
    entry_hash,
    export_bundle,
    generate_signing_key,
    read_bundle,
    sign_checkpoint,
    verify,
    verify_bundle,
    write_bundle,
)
from fluxio.governance.audit.chain import GENESIS


@pytest.fixture
def bundle(key: Ed25519PrivateKey) -> AuditBundle:
    return asyncio.run(_chain(key))


async def _chain(key: Ed25519PrivateKey) -> AuditBundle:
    log = MemoryAuditLog(signing_key=key, checkpoint_every=4)
    for i in range(1, 13):
        await log.append(
            AuditEvent(
                "acme", Actor("alice", "user"), "tool.called", target=f"tool:t{i}",
                payload={"i": i, "email": f"user{i}@example.com"}, duration_ms=1.5 * i,
            )
        )  # fmt: skip
    return await export_bundle(log, "acme", public_key=key.public_key())


def with_entries(bundle: AuditBundle, entries: list[AuditEntry]) -> AuditBundle:
    return dataclasses.replace(bundle, entries=tuple(entries))


def rehash_from(entries: list[AuditEntry], start: int) -> list[AuditEntry]:
    """What a forger with database access does: renumber and recompute every hash after."""
    fixed = entries[:start]
    prev = fixed[-1].hash if fixed else GENESIS
    for position, entry in enumerate(entries[start:], start + 1):
        entry = dataclasses.replace(entry, seq=position, prev_hash=prev, hash="")
        entry = dataclasses.replace(entry, hash=entry_hash(entry))
        fixed.append(entry)
        prev = entry.hash
    return fixed


def check(bundle: AuditBundle, key: Ed25519PrivateKey, seq: int, kind: str) -> str:
    report = verify_bundle(bundle, key.public_key())
    assert not report.ok
    assert (report.first_bad_seq, report.kind) == (seq, kind), report
    assert report.problem
    return report.problem


def test_an_untouched_export_verifies(bundle: AuditBundle, key: Ed25519PrivateKey) -> None:
    report = verify_bundle(bundle, key.public_key())
    assert report.ok, report
    assert (report.entries, report.signed_through, report.erased) == (12, 12, ())


def test_flipped_byte_in_an_entry(bundle: AuditBundle, key: Ed25519PrivateKey) -> None:
    entries = list(bundle.entries)
    entries[5] = dataclasses.replace(entries[5], target="tool:t7")
    assert "entry 6 does not match its hash" in check(
        with_entries(bundle, entries), key, 6, "hash_mismatch"
    )


def test_flipped_byte_in_the_exported_file(
    bundle: AuditBundle, key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    path = write_bundle(bundle, tmp_path / "audit.jsonl")
    lines = path.read_text().splitlines()
    assert '"seq":6' in lines[6]
    lines[6] = lines[6].replace('"duration_ms":9', '"duration_ms":8', 1)
    assert '"duration_ms":8' in lines[6]
    path.write_text("\n".join(lines) + "\n")
    check(read_bundle(path), key, 6, "hash_mismatch")


def test_deleted_entry(bundle: AuditBundle, key: Ed25519PrivateKey) -> None:
    entries = [e for e in bundle.entries if e.seq != 6]
    assert "entry 6 is missing" in check(with_entries(bundle, entries), key, 6, "missing_entry")


def test_reordered_entries(bundle: AuditBundle, key: Ed25519PrivateKey) -> None:
    entries = list(bundle.entries)
    entries[5], entries[6] = entries[6], entries[5]
    check(with_entries(bundle, entries), key, 6, "out_of_order")


def test_truncated_tail_is_caught_by_the_checkpoint_past_the_end(
    bundle: AuditBundle, key: Ed25519PrivateKey
) -> None:
    problem = check(with_entries(bundle, list(bundle.entries[:9])), key, 10, "truncated")
    assert "entries 10..12 were removed" in problem


def test_inserted_forgery(bundle: AuditBundle, key: Ed25519PrivateKey) -> None:
    entries = list(bundle.entries)
    forged = dataclasses.replace(entries[5], target="tool:wire_money", hash="")
    forged = dataclasses.replace(forged, hash=entry_hash(forged))  # a valid-looking seq 6
    entries.insert(5, forged)
    check(with_entries(bundle, entries), key, 6, "duplicate")


def test_inserted_forgery_with_the_rest_renumbered_and_rehashed(
    bundle: AuditBundle, key: Ed25519PrivateKey
) -> None:
    entries = list(bundle.entries)
    forged = dataclasses.replace(entries[4], target="tool:wire_money")
    entries = rehash_from([*entries[:4], forged, *entries[4:]], 4)
    problem = check(with_entries(bundle, entries), key, 5, "checkpoint_mismatch")
    assert "entries 5..8 were rewritten" in problem


def test_replaced_entry_with_a_valid_hash_breaks_the_next_link(
    bundle: AuditBundle, key: Ed25519PrivateKey
) -> None:
    entries = list(bundle.entries)
    forged = dataclasses.replace(entries[5], target="tool:wire_money", hash="")
    entries[5] = dataclasses.replace(forged, hash=entry_hash(forged))
    assert "breaks before entry 7" in check(with_entries(bundle, entries), key, 6, "broken_link")


def test_whole_chain_recomputed_is_caught_by_the_signed_checkpoint(
    bundle: AuditBundle, key: Ed25519PrivateKey
) -> None:
    entries = list(bundle.entries)
    entries[1] = dataclasses.replace(entries[1], target="tool:nothing_to_see")
    entries = rehash_from(entries, 0)
    assert verify("acme", entries).ok  # the chain alone looks perfect...
    check(with_entries(bundle, entries), key, 1, "checkpoint_mismatch")  # ...the signature not


def test_two_checkpoints_for_one_sequence(bundle: AuditBundle, key: Ed25519PrivateKey) -> None:
    real = bundle.checkpoints[1]
    other = sign_checkpoint(key, "acme", real.seq, "f" * 64, real.time + 1)
    tampered = dataclasses.replace(bundle, checkpoints=(*bundle.checkpoints, other))
    assert "two signed checkpoints for seq 8" in check(tampered, key, 8, "equivocation")


def test_an_identical_checkpoint_twice_is_not_equivocation(
    bundle: AuditBundle, key: Ed25519PrivateKey
) -> None:
    doubled = dataclasses.replace(bundle, checkpoints=bundle.checkpoints * 2)
    assert verify_bundle(doubled, key.public_key()).ok


def test_checkpoint_signed_by_another_key_is_refused(
    bundle: AuditBundle, key: Ed25519PrivateKey
) -> None:
    real = bundle.checkpoints[1]
    stranger = sign_checkpoint(generate_signing_key(), "acme", real.seq, real.hash, real.time)
    checkpoints = (bundle.checkpoints[0], stranger, bundle.checkpoints[2])
    problem = check(dataclasses.replace(bundle, checkpoints=checkpoints), key, 8, "bad_signature")
    assert "refused" in problem


def test_verifying_with_the_wrong_public_key_refuses_the_first_checkpoint(
    bundle: AuditBundle,
) -> None:
    check(bundle, generate_signing_key(), 4, "bad_signature")


def test_a_checkpoint_of_another_tenant_is_refused(
    bundle: AuditBundle, key: Ed25519PrivateKey
) -> None:
    real = bundle.checkpoints[0]
    foreign = sign_checkpoint(key, "globex", real.seq, real.hash, real.time)
    check(dataclasses.replace(bundle, checkpoints=(foreign,)), key, 4, "wrong_tenant")


def test_an_entry_of_another_tenant_is_refused(bundle: AuditBundle, key: Ed25519PrivateKey) -> None:
    entries = list(bundle.entries)
    entries[2] = dataclasses.replace(entries[2], tenant_id="globex")
    check(with_entries(bundle, entries), key, 3, "wrong_tenant")


def test_erased_payload_verifies_and_is_reported_as_erased(
    bundle: AuditBundle, key: Ed25519PrivateKey
) -> None:
    entries = list(bundle.entries)
    entries[2] = dataclasses.replace(entries[2], payload=None)
    report = verify_bundle(with_entries(bundle, entries), key.public_key())
    assert report.ok, report
    assert report.erased == (3,)


def test_altered_payload_is_caught(bundle: AuditBundle, key: Ed25519PrivateKey) -> None:
    entries = list(bundle.entries)
    entries[2] = dataclasses.replace(entries[2], payload={"i": 3, "email": "someone@else.org"})
    assert "payload of entry 3 was altered" in check(
        with_entries(bundle, entries), key, 3, "payload_altered"
    )


def test_without_a_public_key_checkpoints_do_not_count(bundle: AuditBundle) -> None:
    report = verify("acme", bundle.entries[:9], bundle.checkpoints)
    assert report.ok  # the truncation needs the signed checkpoint to be seen
    assert report.signed_through == 0


def test_bundle_round_trips_through_a_file(
    bundle: AuditBundle, key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    again = read_bundle(write_bundle(bundle, tmp_path / "audit.jsonl"))
    assert again.entries == bundle.entries
    assert again.checkpoints == bundle.checkpoints
    assert verify_bundle(again, key.public_key()).ok


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda lines: lines[:0], "is empty"),
        (lambda lines: ['{"format": "other"}', *lines[1:]], "not a fluxio audit bundle"),
        (lambda lines: [lines[0].replace('"version":1', '"version":9'), *lines[1:]], "version 9"),
        (lambda lines: [*lines[:3], lines[3][:-5], *lines[4:]], ":4: not valid JSON"),
        (lambda lines: [*lines[:3], '{"note": 1}', *lines[4:]], ':4: expected {"entry"'),
        (
            lambda lines: [*lines[:3], lines[3].replace('"seq":3', '"seq":"3"'), *lines[4:]],
            ":4: field 'seq' has the wrong type",
        ),
        (
            lambda lines: [*lines[:3], lines[3].replace('"target"', '"aim"'), *lines[4:]],
            ":4: missing field(s) target",
        ),
        (lambda lines: [*lines, '{"checkpoint": {"seq": 1}}'], "a checkpoint needs exactly"),
        (
            lambda lines: [
                *lines[:3],
                lines[3].replace('"duration_ms":4.5', '"duration_ms":NaN'),
                *lines[4:],
            ],
            ":4: NaN is not a JSON number",
        ),
    ],
)
def test_a_damaged_bundle_file_is_refused_with_its_line(
    bundle: AuditBundle, tmp_path: Path, damage: object, message: str
) -> None:
    path = write_bundle(bundle, tmp_path / "audit.jsonl")
    lines = path.read_text().splitlines()
    path.write_text("\n".join(damage(lines)) + "\n")  # type: ignore[operator]
    with pytest.raises(BundleError) as caught:
        read_bundle(path)
    assert message in str(caught.value)


def test_a_missing_bundle_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="cannot read the audit bundle"):
        read_bundle(tmp_path / "nope.jsonl")


def test_a_chain_that_stops_short_of_the_logs_head_is_truncated(bundle: AuditBundle) -> None:
    head = Head(12, bundle.entries[-1].hash)
    report = verify("acme", bundle.entries[:9], head=head)
    assert (report.ok, report.first_bad_seq, report.kind) == (False, 10, "truncated")


def test_a_recomputed_tail_disagrees_with_the_logs_head(bundle: AuditBundle) -> None:
    head = Head(12, bundle.entries[-1].hash)
    entries = list(bundle.entries)
    entries[11] = dataclasses.replace(entries[11], target="tool:other", hash="")
    entries[11] = dataclasses.replace(entries[11], hash=entry_hash(entries[11]))
    report = verify("acme", entries, head=head)
    assert (report.ok, report.first_bad_seq, report.kind) == (False, 12, "head_mismatch")
    assert verify("acme", entries, head=Head(11, entries[10].hash)).ok  # appended after head
