"""``fluxio audit``: Inspect, export and verify the tamper-evident audit chain.

The chain lives in the database (``--db``), one per tenant (``--tenant``). The signing key is
``audit_key.pem`` beside the database unless ``--key`` or ``$FLUXIO_AUDIT_KEY`` names another;
its public half (``audit_key.pub.pem``) is what verifiers need.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from rich.markup import escape
from rich.table import Table

from fluxio.cli.commands.common import run_async, settings_of
from fluxio.cli.output import EXIT_FAILED, fails_cleanly, out
from fluxio.cli.settings import Settings
from fluxio.errors import UsageError
from fluxio.governance.audit import (
    Actor,
    AuditBundle,
    AuditEntry,
    AuditQuery,
    BundleError,
    Checkpoint,
    SQLiteAuditLog,
    VerifyReport,
    export_bundle,
    fingerprint,
    generate_signing_key,
    load_public_key,
    load_signing_key,
    read_bundle,
    verify_bundle,
    verify_log,
    write_bundle,
    write_key_pair,
)
from fluxio.governance.audit.signing import public_key_path

__all__ = ["app"]

ENV_KEY = "FLUXIO_AUDIT_KEY"

app = typer.Typer(
    help="Inspect, export and verify the tamper-evident audit chain.", no_args_is_help=True
)

KeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key", envvar=ENV_KEY, help="Ed25519 private key (PEM); default audit_key.pem by the db."
    ),
]
_RESULT_STYLE = {"success": "green", "failure": "red", "denied": "magenta", "pending": "yellow"}


@app.command("list")
@fails_cleanly
def list_entries(
    ctx: typer.Context,
    actor: Annotated[str | None, typer.Option(help="Only this actor id.")] = None,
    action: Annotated[str | None, typer.Option(help="Action, or a prefix like 'tool.*'.")] = None,
    target: Annotated[str | None, typer.Option(help="Only this target.")] = None,
    result: Annotated[str | None, typer.Option(help="success|failure|denied|pending.")] = None,
    run: Annotated[str | None, typer.Option("--run", help="Only entries of this run.")] = None,
    since: Annotated[str | None, typer.Option(help="ISO time or age (30m, 2h, 7d).")] = None,
    until: Annotated[str | None, typer.Option(help="ISO time or age (30m, 2h, 7d).")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON entry per line.")] = False,
) -> None:
    """List audit entries, newest first."""
    settings = settings_of(ctx)
    query = AuditQuery(
        actor_id=actor, action=action, target=target, result=_result(result), run_id=run,
        since=_when(since, "--since"), until=_when(until, "--until"), limit=limit,
        newest_first=True,
    )  # fmt: skip
    if not settings.db_path.exists():
        out().print(f"no audit entries yet (no database at {escape(str(settings.db_path))})")
        return
    entries = run_async(_entries(settings, query))
    if as_json:
        for entry in entries:
            out().print(json.dumps(entry.to_dict(), ensure_ascii=False), soft_wrap=True)
    elif not entries:
        out().print("no audit entries match")
    else:
        out().print(_table(entries))


async def _entries(settings: Settings, query: AuditQuery) -> list[AuditEntry]:
    async with _log(settings) as log:
        return await log.entries(settings.tenant, query)


@app.command("export")
@fails_cleanly
def export(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The bundle to write (JSONL).")],
    key: KeyOption = None,
    sign: Annotated[
        bool, typer.Option("--sign/--no-sign", help="Sign a checkpoint at the head first.")
    ] = True,
) -> None:
    """Export the tenant's chain and checkpoints to one file that verifies offline."""
    settings = settings_of(ctx)
    signer = _signing_key(settings, key, required=False) if sign else None
    bundle = run_async(_export(settings, signer))
    write_bundle(bundle, file)
    signed = bundle.checkpoints[-1].seq if bundle.checkpoints else 0
    out().print(
        f"wrote {len(bundle.entries)} entries and {len(bundle.checkpoints)} checkpoints of "
        f"tenant {escape(settings.tenant)} to {escape(str(file))} (signed through seq {signed})"
    )


async def _export(settings: Settings, signer: Ed25519PrivateKey | None) -> AuditBundle:
    _require_db(settings)
    async with _log(settings, signer) as log:
        if signer is not None and (await log.head(settings.tenant)).seq:
            await log.checkpoint(settings.tenant)
        public = signer.public_key() if signer else None
        return await export_bundle(log, settings.tenant, public_key=public)


@app.command("verify")
@fails_cleanly
def verify(
    ctx: typer.Context,
    bundle: Annotated[
        Path | None, typer.Option("--bundle", help="Verify this exported bundle, offline.")
    ] = None,
    public_key: Annotated[
        Path | None, typer.Option("--public-key", help="The signer's public key (PEM).")
    ] = None,
) -> None:
    """Verify the chain (the database's, or a bundle's) and its signed checkpoints."""
    settings = settings_of(ctx)
    if bundle is not None:
        report = _verify_bundle(bundle, public_key)
    else:
        key = load_public_key(public_key) if public_key else _default_public_key(settings)
        _require_db(settings)
        report = run_async(_verify_db(settings, key))
        if key is None:
            out().print(
                "[yellow]checkpoints not checked:[/] no public key (pass --public-key FILE)"
            )
    _print_report(report)
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


def _verify_bundle(path: Path, public_key: Path | None) -> VerifyReport:
    if public_key is None:
        raise UsageError(
            "verifying a bundle offline needs the signer's public key: add --public-key FILE "
            "(the .pub.pem written by `fluxio audit keygen`)"
        )
    if not path.is_file():
        raise UsageError(f"no bundle at {path}; export one with `fluxio audit export FILE`")
    key = load_public_key(public_key)
    try:
        return verify_bundle(read_bundle(path), key)
    except BundleError as exc:
        out().print(f"[bold red]FAILED[/] the bundle is damaged: {escape(str(exc))}")
        raise typer.Exit(EXIT_FAILED) from None


async def _verify_db(settings: Settings, key: Ed25519PublicKey | None) -> VerifyReport:
    async with _log(settings) as log:
        return await verify_log(log, settings.tenant, key)


def _print_report(report: VerifyReport) -> None:
    console = out()
    if not report.ok:
        console.print(
            f"[bold red]FAILED[/] tenant {escape(report.tenant_id)}: first bad seq "
            f"{report.first_bad_seq} ({report.kind}): {escape(report.problem or '')}",
            soft_wrap=True,
        )
        return
    console.print(
        f"[bold green]OK[/] tenant {escape(report.tenant_id)}: {report.entries} entries, "
        f"hash chain intact, signed through seq {report.signed_through}"
    )
    if report.erased:
        console.print(f"payload erased (allowed): seq {', '.join(map(str, report.erased))}")
    if report.signed_through < report.entries:
        first, last = report.signed_through + 1, report.entries
        which = f"entry {last} is" if first == last else f"entries {first}..{last} are"
        console.print(
            f"[yellow]{which} not covered by a signed checkpoint yet[/] (fluxio audit checkpoint)"
        )


@app.command("checkpoint")
@fails_cleanly
def checkpoint(ctx: typer.Context, key: KeyOption = None) -> None:
    """Sign the tenant's current head with the audit key and store the checkpoint."""
    settings = settings_of(ctx)
    signer = _signing_key(settings, key, required=True)
    _require_db(settings)

    async def sign() -> Checkpoint:
        async with _log(settings, signer) as log:
            return await log.checkpoint(settings.tenant)

    cp = run_async(sign())
    out().print(f"signed seq {cp.seq} of tenant {escape(settings.tenant)} ({cp.key_fingerprint})")


@app.command("keygen")
@fails_cleanly
def keygen(
    ctx: typer.Context,
    key: KeyOption = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing key.")] = False,
) -> None:
    """Create an Ed25519 key pair for signing checkpoints (private key mode 0600)."""
    path = key or _default_key_path(settings_of(ctx))
    signer = generate_signing_key()
    public = write_key_pair(signer, path, overwrite=force)
    out().print(f"private key  {escape(str(path))}  (keep it with the process that appends)")
    out().print(f"public key   {escape(str(public))}  (give it to verifiers)")
    out().print(f"fingerprint  {fingerprint(signer)}")


@app.command("erase")
@fails_cleanly
def erase(
    ctx: typer.Context,
    seq: Annotated[int, typer.Argument(help="The entry whose payload to erase.")],
    reason: Annotated[str, typer.Option(help="Why (recorded in the chain).")],
    by: Annotated[str, typer.Option(help="Who erases it (a user id).")] = "cli",
) -> None:
    """Erase one entry's payload (e.g. a GDPR request); the chain still verifies."""
    settings = settings_of(ctx)
    _require_db(settings)

    async def body() -> AuditEntry:
        async with _log(settings) as log:
            return await log.erase_payload(
                settings.tenant, seq, actor=Actor(by, "user"), reason=reason
            )

    record = run_async(body())
    out().print(f"erased the payload of entry {seq}; recorded as entry {record.seq}")


# -- shared ----------------------------------------------------------------------------------


@asynccontextmanager
async def _log(
    settings: Settings, signer: Ed25519PrivateKey | None = None
) -> AsyncIterator[SQLiteAuditLog]:
    log = SQLiteAuditLog(settings.db_path, signing_key=signer)
    try:
        yield log
    finally:
        await log.close()


def _require_db(settings: Settings) -> None:
    if not settings.db_path.exists():
        raise UsageError(
            f"no database at {settings.db_path}; pass --db or set FLUXIO_DATABASE_URL to the "
            "database whose audit chain you mean"
        )


def _default_key_path(settings: Settings) -> Path:
    named = os.environ.get(ENV_KEY)
    return Path(named) if named else settings.db_path.parent / "audit_key.pem"


def _signing_key(
    settings: Settings, key: Path | None, *, required: bool
) -> Ed25519PrivateKey | None:
    path = key or _default_key_path(settings)
    if key is None and not path.exists():
        if required:
            raise UsageError(
                f"no audit signing key at {path}; create one with `fluxio audit keygen` or "
                "pass --key FILE"
            )
        return None
    return load_signing_key(path)


def _default_public_key(settings: Settings) -> Ed25519PublicKey | None:
    private = _default_key_path(settings)
    for candidate in (public_key_path(private), private):
        if candidate.exists():
            return load_public_key(candidate)
    return None


def _result(value: str | None) -> str | None:
    allowed = ("success", "failure", "denied", "pending")
    if value is not None and value not in allowed:
        raise UsageError(f"--result {value!r} is not one of {', '.join(allowed)}")
    return value


_AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _when(value: str | None, option: str) -> float | None:
    if value is None:
        return None
    if match := _AGE.match(value.strip()):
        age = float(match.group(1)) * _UNIT[match.group(2)]
        return dt.datetime.now(dt.UTC).timestamp() - age
    try:
        return dt.datetime.fromisoformat(value.strip()).timestamp()
    except ValueError:
        raise UsageError(
            f"{option} {value!r} is neither an ISO time (2024-06-01T12:00:00+00:00) nor an age "
            "(30m, 2h, 7d)"
        ) from None


def _table(entries: list[AuditEntry]) -> Table:
    table = Table("seq", "time", "actor", "action", "target", "result", "ms", "request", "hash")
    for e in entries:
        style = _RESULT_STYLE.get(e.result, "white")
        request = "/".join(x for x in (e.run_id, e.step_key) if x)
        table.add_row(
            str(e.seq),
            dt.datetime.fromtimestamp(e.timestamp).strftime("%m-%d %H:%M:%S"),
            escape(f"{e.actor.type}:{e.actor.id}"),
            escape(e.action),
            escape(e.target),
            f"[{style}]{e.result}[/]",
            "" if e.duration_ms is None else f"{e.duration_ms:.0f}",
            escape(request),
            e.hash[:12],
        )
    return table
