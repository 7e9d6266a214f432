"""The store conformance suite: the contract every ``fluxio.store.base.Store`` must keep.

fluxio's own stores (memory, SQLite, PostgreSQL) pass it, and so must yours. Each check gets a
fresh, empty store, exercises one promise of the Store protocol (idempotent creation, tenant
scoping, claim order, lease fencing, one outcome per step, exactly-once signals, ...) and
fails with a message saying which promise broke.

With pytest, subclass ``StoreConformance`` in a class whose name starts with ``Test`` and say
how to make your store; every check becomes its own test. No plugin is needed: each test
runs its check with ``asyncio.run``.

```python
from pathlib import Path

from fluxio.store.sqlite import SQLiteStore
from fluxio.testing import StoreConformance


class TestMyStore(StoreConformance):
    async def make_store(self, tmp_path: Path) -> SQLiteStore:
        return SQLiteStore(tmp_path / "conformance.db", durability="normal")
```

Anywhere else (a script, another test runner), ``await run_conformance(make_store)`` runs
every check and raises ``ConformanceError`` listing those that failed.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from fluxio.store.base import Store
from fluxio.testing.store_checks import (
    JOURNAL_CHECKS,
    LEASE_CHECKS,
    LIMIT_CHECKS,
    RUN_CHECKS,
    SIGNAL_CHECKS,
)

__all__ = ["CHECKS", "Check", "ConformanceError", "StoreConformance", "run_conformance"]

Check = Callable[[Store], Awaitable[None]]
"""One check: an async function that takes a fresh store and raises if a promise is broken."""

CHECKS: tuple[Check, ...] = (
    *RUN_CHECKS,
    *LEASE_CHECKS,
    *LIMIT_CHECKS,
    *JOURNAL_CHECKS,
    *SIGNAL_CHECKS,
)
"""Every check of the suite, in the order ``run_conformance`` runs them."""

StoreFactory = Callable[[], Store | Awaitable[Store]]


class ConformanceError(AssertionError):
    """A store broke one or more promises of the Store protocol; the message lists them."""

    def __init__(self, failures: Sequence[tuple[str, BaseException]]) -> None:
        self.failures = list(failures)
        lines = [f"- {name}: {type(exc).__name__}: {exc}" for name, exc in self.failures]
        super().__init__(
            f"the store failed {len(lines)} of {len(CHECKS)} conformance checks:\n"
            + "\n".join(lines)
        )


def check_name(check: Check) -> str:
    """The check's name without its ``check_`` prefix, e.g. ``create_is_idempotent_by_run_id``."""
    return check.__name__.removeprefix("check_")


async def run_check(check: Check, store: Store) -> None:
    """Run one check on ``store`` and close the store afterwards, whatever happened."""
    __tracebackhide__ = True
    try:
        await check(store)
    finally:
        await store.close()


async def run_conformance(make_store: StoreFactory, *, checks: Sequence[Check] = CHECKS) -> None:
    """Run every check, each on a fresh store from ``make_store``; raise if any fails.

    Args:
        make_store: returns a new, empty store (may be async); called once per check.
        checks: the checks to run; all of them by default.

    Raises:
        ConformanceError: listing every failed check with its message.
    """
    failures: list[tuple[str, BaseException]] = []
    for check in checks:
        made = make_store()
        store = await made if inspect.isawaitable(made) else made
        try:
            await run_check(check, store)
        except Exception as exc:  # noqa: BLE001 - a report of every broken promise, not the first
            failures.append((check_name(check), exc))
    if failures:
        raise ConformanceError(failures)


class StoreConformance:
    """Base class for a pytest class that runs every conformance check against your store.

    Override ``make_store``; pytest passes it a fresh ``tmp_path`` for each check. Tests are
    named ``test_<check>`` (for example ``test_stale_lease_commit_is_refused_and_writes_nothing``)
    so ``pytest -k`` selects them, and a failure names the broken promise.
    """

    async def make_store(self, tmp_path: Path) -> Store:
        """Return a new, empty store for one check. Override this."""
        raise NotImplementedError(
            f"{type(self).__name__} must override `async def make_store(self, tmp_path)` "
            "to return a new, empty store"
        )

    def run_check(self, check: Check, tmp_path: Path) -> None:
        """Run ``check`` on a fresh store in a new event loop."""
        __tracebackhide__ = True

        async def main() -> None:
            await run_check(check, await self.make_store(tmp_path))

        asyncio.run(main())


def _as_test(check: Check) -> Callable[[StoreConformance, Path], None]:
    def test(self: StoreConformance, tmp_path: Path) -> None:
        self.run_check(check, tmp_path)

    test.__name__ = f"test_{check_name(check)}"
    test.__qualname__ = f"StoreConformance.{test.__name__}"
    test.__doc__ = check.__doc__
    return test


for _check in CHECKS:
    setattr(StoreConformance, f"test_{check_name(_check)}", _as_test(_check))
