"""``AgentRuntime``: agents on an engine: deploy, start tasks, pause, resume, terminate.

The runtime joins an ``Engine``, an ``AgentRegistry``, the tools agents may call and the models
they run on. Each agent's tasks are runs of the workflow ``agent:<name>`` in the queue
``agent:<name>``, where the agent's ``concurrency_limit`` is set as a store limit (so it holds
across every worker). Pausing sets that queue's limit to 0 (queued tasks wait, nothing new
starts) and refuses new tasks; terminating cancels the agent's in-flight runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fluxio.agents.assembly import validate_task
from fluxio.agents.definition import AgentDefinition, workflow_name
from fluxio.agents.delegation import agent_as_tool
from fluxio.agents.loop import AgentLoop
from fluxio.agents.records import AgentResult, AgentTask, Constraints
from fluxio.agents.registry import AgentRecord, AgentRegistry, Lifecycle
from fluxio.engine import Clock, Engine
from fluxio.errors import RunFailed, ToolUnavailable, UsageError
from fluxio.models import Model, ModelSettings, ToolDefinition, model_from_config, model_from_env
from fluxio.store.records import TERMINAL, ConcurrencyLimit, Run, RunQuery
from fluxio.tools import Tool, ToolRegistry

__all__ = ["AgentRuntime", "Binding"]

logger = logging.getLogger("fluxio.agents")


@dataclass(frozen=True)
class Binding:
    """What one agent version runs with: its model, its tools by name, their definitions."""

    model: Model
    tools: Mapping[str, Tool]
    definitions: tuple[ToolDefinition, ...]
    settings: ModelSettings


class AgentRuntime:
    """Runs an ``AgentRegistry``'s agents as durable runs on ``engine``.

    Args:
        engine: the engine (and so the store) tasks run on.
        registry: the agents; every one gets its ``agent:<name>`` workflow on the engine.
        tools: the tools agents may call.
        model: the model for every agent not found in ``models`` (e.g. a ``FakeModel``).
        models: models by name, for agents whose ``model`` names one.

    An agent's model is ``models[agent.model]``, else ``model``, else built from the agent's
    own ``model`` spec or mapping (``model_from_config``), else from the environment
    (``model_from_env``, which says how to configure one when nothing is).
    """

    def __init__(
        self,
        engine: Engine,
        registry: AgentRegistry | None = None,
        *,
        tools: ToolRegistry | None = None,
        model: Model | None = None,
        models: Mapping[str, Model] | None = None,
    ) -> None:
        self.engine = engine
        if tools is None:
            tools = registry.tools if registry is not None else None
        self.tools = tools if tools is not None else ToolRegistry()
        self.registry = registry if registry is not None else AgentRegistry(tools=self.tools)
        self.model = model
        self.models = dict(models or {})
        self._bindings: dict[tuple[str, str], Binding] = {}
        self._built: dict[str, Model] = {}
        for name in self.registry.names():
            self._register_workflow(name)

    @property
    def clock(self) -> Clock:
        """The engine's clock (start times and deadlines come from it)."""
        return self.engine.clock

    # -- lifecycle ---------------------------------------------------------------------

    def register(self, agent: AgentDefinition) -> AgentDefinition:
        """Add an agent version to the registry and its workflow to the engine."""
        self.registry.register(agent)
        self._register_workflow(agent.name)
        return agent

    async def deploy(self, agent: str | AgentDefinition, version: str | None = None) -> AgentRecord:
        """Deploy an agent (registering a definition first if needed); set its queue's limit."""
        if isinstance(agent, AgentDefinition):
            if self.registry.get(agent.name, agent.version) is None:
                self.register(agent)
            version, agent = agent.version, agent.name
        record = self.registry.deploy(agent, version)
        self._register_workflow(agent)
        if record.state is not Lifecycle.PAUSED:
            await self._limit(record.current, record.current.concurrency_limit)
        return record

    async def pause(self, name: str) -> AgentRecord:
        """Stop accepting tasks; queued tasks wait (the queue's limit becomes 0)."""
        record = self.registry.pause(name)
        await self._limit(record.current, 0)
        return record

    async def resume(self, name: str) -> AgentRecord:
        """Accept tasks again and restore the concurrency limit."""
        record = self.registry.resume(name)
        await self._limit(record.current, record.current.concurrency_limit)
        return record

    async def terminate(self, name: str, *, tenant_id: str = "default") -> list[Run]:
        """Refuse new tasks for good and cancel the agent's in-flight runs; return those runs.

        A run a worker is executing stops at its next step boundary.
        """
        record = self.registry.terminate(name)
        await self._limit(record.current, record.current.concurrency_limit)
        return await self.cancel_runs(name, tenant_id=tenant_id, reason=f"agent {name} terminated")

    async def cancel_runs(self, name: str, *, tenant_id: str = "default", reason: str) -> list[Run]:
        """Cancel every unfinished run of agent ``name`` in ``tenant_id``."""
        query = RunQuery(tenant_id, workflow=self.registry.require(name).workflow, limit=10_000)
        cancelled = []
        for run in await self.engine.list_runs(query):
            if run.status not in TERMINAL:
                cancelled.append(
                    await self.engine.cancel(run.run_id, tenant_id=tenant_id, reason=reason)
                )
        return cancelled

    # -- tasks -------------------------------------------------------------------------

    async def start(
        self,
        name: str,
        task: str | dict[str, Any] | list[Any],
        *,
        context: Mapping[str, Any] | None = None,
        constraints: Constraints | Mapping[str, Any] | None = None,
        run_id: str | None = None,
        idempotency_key: str | None = None,
        tenant_id: str = "default",
        priority: int = 0,
    ) -> Run:
        """Start a task of agent ``name`` as a run in the agent's queue; it runs when driven.

        Raises:
            UsageError: the agent accepts no tasks now (paused, terminated, not deployed), the
                task is invalid for it, or no model is configured for it.
        """
        record = self.registry.check_accepting(name)
        agent = record.current
        parsed = AgentTask(
            task=task,
            context=dict(context or {}),
            constraints=Constraints.model_validate(constraints or {}),
            version=agent.version,
        )
        validate_task(agent, parsed)
        self.bind(agent)
        if record.state is Lifecycle.DEPLOYED:
            self.registry.activate(name)
        return await self.engine.start(
            agent.workflow,
            parsed.model_dump(mode="json"),
            run_id=run_id,
            idempotency_key=idempotency_key,
            tenant_id=tenant_id,
            priority=priority,
            queue=agent.queue,
        )

    async def run(
        self, name: str, task: str | dict[str, Any] | list[Any], **start: Any
    ) -> AgentResult:
        """Start a task, drive it to its end in this process, and return its ``AgentResult``.

        A task that stopped without a final answer returns its record too (``ok`` is false).

        Raises:
            RunFailed: the run failed otherwise (invalid task, cancelled, refused).
        """
        run = await self.start(name, task, **start)
        return await self.result(run.run_id, tenant_id=run.tenant_id)

    async def result(self, run_id: str, *, tenant_id: str = "default") -> AgentResult:
        """Drive a task's run until it ends and return its ``AgentResult`` (see ``run``)."""
        try:
            return AgentResult.model_validate(await self.engine.result(run_id, tenant_id=tenant_id))
        except RunFailed as failed:
            stopped = (failed.error.get("details") or {}).get("result")
            if failed.error.get("type") == "AgentStopped" and stopped:
                return AgentResult.model_validate(stopped)
            raise

    # -- binding -----------------------------------------------------------------------

    def bind(self, agent: AgentDefinition) -> Binding:
        """The model and tools ``agent`` runs with (cached per name and version).

        Raises:
            UsageError: a required tool or delegate is missing, or no model is configured.
        """
        key = (agent.name, agent.version)
        found = self._bindings.get(key)
        if found is None:
            found = self._bind(agent)
            self._bindings[key] = found
        return found

    def _bind(self, agent: AgentDefinition) -> Binding:
        if agent.type != "llm":
            raise UsageError(
                f"agent {agent.name!r} is of type {agent.type}; fluxio runs llm agents today "
                "(http, fsm, human_task and custom agents run with the planners, coming next)"
            )
        tools: dict[str, Tool] = {}
        for name in agent.required_tools:
            try:
                tools[name] = self.tools.require(name)
            except ToolUnavailable as exc:
                raise UsageError(f"agent {agent.name!r}: {exc.message}") from None
        for name in agent.optional_tools:
            if (found := self.tools.get(name)) is not None:
                tools[name] = found
        for name in agent.delegates:
            tools[name] = agent_as_tool(self.registry.require(name))
        definitions = tuple(ToolDefinition.model_validate(t.definition()) for t in tools.values())
        settings = ModelSettings(temperature=agent.temperature, max_tokens=agent.max_tokens)
        return Binding(self._model(agent), tools, definitions, settings)

    def _model(self, agent: AgentDefinition) -> Model:
        name = agent.model_name
        if name is not None and name in self.models:
            return self.models[name]
        if self.model is not None:
            return self.model
        if agent.model is None:
            return model_from_env()
        label = name or agent.name
        if label not in self._built:
            self._built[label] = model_from_config(agent.model)
        return self._built[label]

    def _register_workflow(self, name: str) -> None:
        self.engine.register(AgentLoop(self, name), name=workflow_name(name))

    async def _limit(self, agent: AgentDefinition, limit: int | None) -> None:
        await self.engine.store.set_limit(ConcurrencyLimit("*", agent.queue, limit))
