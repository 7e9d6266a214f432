"""``fluxio demo agent``: the ticket triage again, with a model making the decisions.

The workflow demo (``fluxio demo``) triages tickets with fixed rules. Here the same tickets and
customers are handed to an agent that has only atomic tools (list, read, look up, save a
draft): the model reads every ticket, decides category and priority, and writes each reply.
Every model call and tool call is a journaled step, so the run resumes after a crash without
asking the model again. It needs a configured model (see ``CONFIGURE_A_MODEL``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from fluxio.agents import AgentDefinition, AgentRegistry, AgentRuntime
from fluxio.demo import tools as triage
from fluxio.engine import Engine
from fluxio.errors import ToolInputInvalid
from fluxio.models import Model
from fluxio.store.records import Run
from fluxio.tools import Tool, ToolRegistry, tool

__all__ = ["DEMO_AGENT", "agent_runtime", "demo_tools", "start_agent_demo"]

Category = Literal["billing", "bug", "account", "other"]
Priority = Literal["urgent", "high", "normal", "low"]

DEMO_AGENT = AgentDefinition(
    name="ticket-triager",
    description="Triages customer support tickets and drafts a reply to each.",
    role="Customer support triage",
    system_prompt=(
        "You triage customer support tickets. Call list_tickets, then for every ticket: "
        "read_ticket, lookup_customer with the sender's email, decide the category (billing, "
        "bug, account or other) and the priority (urgent, high, normal or low; enterprise "
        "customers and angry customers get a higher one), and save_draft a short, friendly "
        "reply that names the next step. When every ticket has a draft, give the final answer."
    ),
    required_tools=("list_tickets", "read_ticket", "lookup_customer", "save_draft"),
    output_schema={
        "type": "object",
        "properties": {
            "tickets": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "ticket": {"type": "string"},
                        "category": {"type": "string"},
                        "priority": {"type": "string"},
                    },
                    "required": ["ticket", "category", "priority"],
                },
            }
        },
        "required": ["tickets"],
    },
    temperature=0.0,
    max_iterations=60,
    max_tool_calls=80,
    timeout=1800.0,
)
"""The demo's agent: four atomic tools, the judgment left to the model."""


def demo_tools(directory: Path) -> ToolRegistry:
    """The agent's tools, working on the demo folder ``directory``."""
    root = str(directory)

    @tool(category="support")
    def list_tickets() -> list[str]:
        """The ids of the tickets waiting to be triaged."""
        return [Path(name).stem for name in triage.list_tickets(root)]

    @tool(category="support")
    def read_ticket(ticket_id: str) -> dict[str, Any]:
        """One ticket: sender name and email, subject, date and body.

        Args:
            ticket_id: a ticket id from list_tickets, e.g. T-1001.
        """
        if ticket_id not in list_tickets():
            raise ToolInputInvalid(f"no ticket {ticket_id!r}; call list_tickets for the ids")
        return triage.parse_ticket(root, f"{ticket_id}.txt")

    @tool(category="support")
    def lookup_customer(email: str) -> dict[str, str]:
        """The customer's company and support tier (free, starter, pro or enterprise).

        Args:
            email: the sender's email address.
        """
        return triage.lookup_customer(root, email)

    @tool(category="support", side_effects=True, idempotent=True)
    def save_draft(ticket_id: str, category: Category, priority: Priority, reply: str) -> str:
        """Save the reply drafted for a ticket (saving again replaces the draft).

        Args:
            ticket_id: the ticket the reply answers.
            category: billing, bug, account or other.
            priority: urgent, high, normal or low.
            reply: the reply's text, addressed to the customer.
        """
        drafts = directory / "drafts"
        drafts.mkdir(exist_ok=True)
        path = drafts / f"{ticket_id}.txt"
        path.write_text(f"Category: {category}\nPriority: {priority}\n\n{reply}\n", "utf-8")
        return f"saved {path.name}"

    items: list[Tool] = [list_tickets, read_ticket, lookup_customer, save_draft]
    return ToolRegistry(items)


def agent_runtime(engine: Engine, directory: Path, model: Model) -> AgentRuntime:
    """A runtime on ``engine`` that knows the demo agent, its tools and ``model``."""
    tools = demo_tools(directory)
    return AgentRuntime(engine, AgentRegistry(tools=tools), tools=tools, model=model)


async def start_agent_demo(
    engine: Engine,
    directory: Path,
    model: Model,
    *,
    idempotency_key: str | None = None,
    tenant_id: str = "default",
) -> tuple[AgentRuntime, Run]:
    """Deploy the demo agent on ``engine`` and start its task on the prepared ``directory``.

    Returns the runtime (``runtime.result(run_id)`` drives the task to its end) and the run.
    """
    runtime = agent_runtime(engine, directory, model)
    await runtime.deploy(DEMO_AGENT)
    run = await runtime.start(
        DEMO_AGENT.name,
        "Triage every ticket in the queue and draft a reply to each.",
        idempotency_key=idempotency_key,
        tenant_id=tenant_id,
    )
    return runtime, run
