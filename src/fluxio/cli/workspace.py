"""One command's world: the opened store, the catalog, and engines that know the workflows."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from fluxio.cli.catalog import Catalog
from fluxio.cli.driver import RunDriver
from fluxio.cli.loader import load_definitions
from fluxio.cli.progress import ConsoleReporter, report_outcome
from fluxio.cli.settings import Settings
from fluxio.demo import builtin_workflows
from fluxio.engine import Engine
from fluxio.errors import UsageError
from fluxio.store.base import Store
from fluxio.store.records import Run, RunQuery, RunStatus
from fluxio.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from fluxio.governance import Governance

__all__ = ["LEASE_SECONDS", "Workspace", "open_store", "open_workspace"]

LEASE_SECONDS = 5.0
"""Short leases: a CLI process killed mid-run is taken over by the next one within seconds."""


class Workspace:
    """The store, catalog and settings one command works with (and its governance)."""

    def __init__(
        self, settings: Settings, store: Store, governance: Governance | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self.governance = governance
        self.catalog = Catalog(settings.catalog_path)

    @property
    def tenant(self) -> str:
        """The tenant this command acts in."""
        return self.settings.tenant

    def engine(self, workflows: Mapping[str, Any] | None = None) -> Engine:
        """An engine over this store knowing the built-in workflows, the deployed agents
        (``agents.json``) and ``workflows``."""
        engine = Engine(
            self.store,
            workflows={**builtin_workflows(), **(workflows or {})},
            lease_seconds=LEASE_SECONDS,
            interceptors=[self.governance] if self.governance is not None else [],
        )
        self._attach_agents(engine)
        return engine

    def _attach_agents(self, engine: Engine) -> None:
        """Register every deployed agent's ``agent:<name>`` workflow on ``engine``."""
        from fluxio.cli.commands.agents import AgentsFile

        agents = AgentsFile(self.settings)
        if not agents.path.exists():
            return
        from fluxio.agents import AgentRuntime
        from fluxio.cli.commands.tools import cli_registry

        AgentRuntime(engine, agents.load(), tools=cli_registry(self.settings))

    def definitions_for(self, workflow: str) -> dict[str, Any]:
        """Load the workflows needed to continue a run of ``workflow`` (built-in or catalogued).

        Raises:
            UsageError: the workflow is neither built in nor in the catalog.
        """
        if workflow in builtin_workflows() or workflow.startswith("agent:"):
            return {}  # built in, or a deployed agent's (registered by ``engine()``)
        entry = self.catalog.get(workflow)
        if entry is None:
            raise UsageError(
                f"workflow {workflow!r} is not in the catalog {self.catalog.path}, so this "
                "process cannot continue its run; run its file once with `fluxio run FILE` "
                "from this directory, or start `fluxio worker FILE`, or pass --no-wait to "
                "only deliver the message"
            )
        return load_definitions([entry.file], entry.tools).workflows

    async def engine_for_tree(self, run: Run) -> tuple[Engine, Run]:
        """An engine knowing every workflow of ``run``'s tree, and the tree's root run.

        Commands that continue a run drive its root, so that a finished child run wakes its
        parent in this process too.
        """
        root = run
        while root.parent_run_id is not None:
            root = await self.get_run(root.parent_run_id)
        names, frontier = {root.workflow}, [root.run_id]
        while frontier:
            query = RunQuery(self.tenant, parent_run_id=frontier.pop(), limit=10_000)
            for child in await self.store.list_runs(query):
                names.add(child.workflow)
                frontier.append(child.run_id)
        workflows: dict[str, Any] = {}
        for name in sorted(names):
            workflows.update(self.definitions_for(name))
        return self.engine(workflows), root

    async def get_run(self, run_id: str) -> Run:
        """The run, or a ``NotFound`` naming the database."""
        return await self.engine().get(run_id, tenant_id=self.tenant)

    async def drive(
        self, engine: Engine, run_id: str, console: Console, *, report: bool = True
    ) -> tuple[Run, int]:
        """Drive the run with live progress; report how it stands; return it and the exit code."""
        driver = RunDriver(engine, tenant_id=self.tenant, reporter=ConsoleReporter(console, run_id))
        with console.status(f"running {run_id}…", spinner="dots"):
            run = await driver.drive(run_id)
        return run, await self.report(engine, run, console) if report else 0

    async def report(self, engine: Engine, run: Run, console: Console) -> int:
        """Say how ``run`` stands and what to do next; return the matching exit code."""
        leaf = await waiting_leaf(engine, run)
        return report_outcome(console, run, self.settings, leaf)


async def waiting_leaf(engine: Engine, run: Run) -> Run:
    """The run that actually waits: follows waits on child runs down to the deepest one."""
    seen = {run.run_id}
    while run.status is RunStatus.WAITING and run.wait is not None and run.wait.reason == "child":
        child = await engine.store.get_run(run.tenant_id, run.wait.detail)
        if child is None or child.run_id in seen:
            break
        seen.add(child.run_id)
        run = child
    return run


@contextlib.asynccontextmanager
async def open_workspace(settings: Settings, *, create: bool = True) -> AsyncIterator[Workspace]:
    """Open the database (creating it unless ``create`` is false) for one command, with the
    governance file's guard when there is one."""
    governance_path = settings.governance_path
    if governance_path is None:
        store = await open_store(settings, create=create)
        try:
            yield Workspace(settings, store)
        finally:
            await store.close()
        return
    from fluxio.governance.config import load_governance, open_governance  # only when used

    file = load_governance(governance_path)
    store = await open_store(settings, create=create)
    try:
        async with open_governance(file, store, tenant=settings.tenant) as governance:
            yield Workspace(settings, store, governance)
            await governance.flush()
    finally:
        await store.close()


async def open_store(settings: Settings, *, create: bool = True) -> Store:
    """The store the settings name: PostgreSQL for a postgresql:// URL, else a SQLite file."""
    url = settings.postgres_url
    if url is not None:
        from fluxio.store.postgres import PostgresStore

        return await PostgresStore.connect(url)
    path: Path = settings.db_path
    if not create:
        _require(path)
    return SQLiteStore(path)


def _require(path: Path) -> None:
    if not path.exists():
        raise UsageError(
            f"there is no fluxio database at {path} yet; start a run with `fluxio run FILE` or "
            "`fluxio demo`, or point --db (or FLUXIO_DATABASE_URL) at your database"
        )
