"""Every store fluxio ships passes the conformance suite it ships to users."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from fluxio.store.base import Store
from fluxio.store.memory import MemoryStore
from fluxio.store.postgres import PostgresStore
from fluxio.store.records import Commit, RunStatus, Transition
from fluxio.store.sqlite import SQLiteStore
from fluxio.testing import CHECKS, ConformanceError, StoreConformance, run_conformance
from fluxio.testing.postgres import PostgresSandbox
from fluxio.testing.store_checks._support import started


class TestMemoryStore(StoreConformance):
    async def make_store(self, tmp_path: Path) -> Store:
        return MemoryStore()


class TestSQLiteStore(StoreConformance):
    async def make_store(self, tmp_path: Path) -> Store:
        return SQLiteStore(tmp_path / "conformance.db", durability="normal")


class TestSQLiteStoreFullDurability(StoreConformance):
    async def make_store(self, tmp_path: Path) -> Store:
        return SQLiteStore(tmp_path / "conformance.db", durability="full")


class TestPostgresStore(StoreConformance):
    """Against a real PostgreSQL, as an ordinary role (so row-level security is in force)."""

    @pytest.fixture(autouse=True)
    def _sandbox(self, postgres: PostgresSandbox) -> Iterator[None]:
        self.sandbox = postgres
        self.schemas: list[str] = []
        yield
        for schema in self.schemas:
            postgres.drop_schema(schema)

    async def make_store(self, tmp_path: Path) -> Store:
        schema = self.sandbox.new_schema()
        self.schemas.append(schema)
        return await PostgresStore.connect(self.sandbox.app_url, schema=schema, pool_size=2)


def test_every_check_becomes_a_test() -> None:
    tests = {name for name in dir(StoreConformance) if name.startswith("test_")}
    assert len(tests) == len(CHECKS) >= 40
    assert "test_stale_lease_commit_is_refused_and_writes_nothing" in tests


def test_a_subclass_must_say_how_to_make_its_store(tmp_path: Path) -> None:
    with pytest.raises(NotImplementedError, match="must override"):
        StoreConformance().test_create_is_idempotent_by_run_id(tmp_path)  # type: ignore[attr-defined]


def test_run_conformance_passes_a_correct_store(tmp_path: Path) -> None:
    asyncio.run(run_conformance(MemoryStore))


class ForgetfulStore(MemoryStore):
    """A broken store: commits ignore the lease epoch (no fencing)."""

    async def commit(self, commit: Commit) -> None:
        run = self._runs[(commit.lease.tenant_id, commit.lease.run_id)]
        lease = commit.lease.__class__(
            run.run_id, run.tenant_id, run.lease_owner or "", run.epoch, 0.0
        )
        await super().commit(Commit(lease, *_rest(commit)))


def _rest(commit: Commit) -> tuple[object, ...]:
    return (
        commit.entries,
        commit.consumed,
        commit.transition,
        commit.children,
        commit.signals,
        commit.now,
    )


def test_run_conformance_names_the_broken_promise() -> None:
    with pytest.raises(ConformanceError) as caught:
        asyncio.run(run_conformance(ForgetfulStore))
    names = [name for name, _ in caught.value.failures]
    assert "stale_lease_commit_is_refused_and_writes_nothing" in names
    assert "create_is_idempotent_by_run_id" not in names
    assert "expected LeaseLost, but the call succeeded" in str(caught.value)


def test_checks_detect_a_store_that_keeps_a_lease_after_waiting() -> None:
    class StickyStore(MemoryStore):
        async def commit(self, commit: Commit) -> None:
            await super().commit(commit)
            key = (commit.lease.tenant_id, commit.lease.run_id)
            run = self._runs[key]
            if run.status is RunStatus.WAITING:
                self._runs[key] = run.__class__(
                    **{**_fields(run), "lease_owner": commit.lease.worker_id}
                )

    async def main() -> None:
        store = StickyStore()
        claim = await started(store, "r1")
        await store.commit(Commit(claim.lease, transition=Transition(RunStatus.WAITING)))
        run = await store.get_run("acme", "r1")
        assert run is not None
        assert run.lease_owner == "w1"

    asyncio.run(main())
    with pytest.raises(ConformanceError, match="waiting releases the lease"):
        asyncio.run(run_conformance(StickyStore))


def _fields(run: object) -> dict[str, object]:
    return {name: getattr(run, name) for name in run.__slots__}  # type: ignore[attr-defined]
