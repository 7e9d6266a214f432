"""The demo workflow: triage a folder of support tickets, pause for approval, send replies.

Written as plain run code on the kernel: every tool call is a durable step, tickets are triaged
in parallel branches (each enriching its ticket in a nested parallel block), and the run waits
for the approval signal ``approval:send_replies`` before the non-idempotent send step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fluxio.demo import tools
from fluxio.engine import RetryPolicy, RunContext, StepOptions

__all__ = ["APPROVAL", "DEMO_WORKFLOW", "ticket_triage"]

DEMO_WORKFLOW = "ticket-triage"
APPROVAL = "send_replies"
_SEND = StepOptions(side_effects=True, idempotent=False, retry=RetryPolicy(max_attempts=1))

Branch = Callable[[RunContext], Awaitable[Any]]


async def ticket_triage(ctx: RunContext, input: dict[str, Any]) -> dict[str, Any]:
    """Triage every ticket in ``input["dir"]``, wait for approval, send, and summarize.

    Input: ``{"dir": "/abs/path", "delay": 0.15}`` (``delay`` seconds per tool call).
    """
    directory, delay = str(input["dir"]), float(input.get("delay", 0.15))
    files = await ctx.step(tools.list_tickets, directory, delay)
    drafts: list[dict[str, Any]] = await ctx.parallel(
        [_triage_one(directory, name, delay) for name in files],
        concurrency=3,
        name="triage_tickets",
    )
    decision = await ctx.wait_for("approval:" + APPROVAL, reason="approval")
    decision = decision if isinstance(decision, dict) else {}
    edits = decision.get("payload")
    edits = edits if isinstance(edits, dict) else {}
    final = [{**d, "body": str(edits.get(d["ticket"], d["body"]))} for d in drafts]
    sent: list[str] = []
    if decision.get("decision") == "approve":
        sent = await ctx.step(tools.send_replies, directory, final, delay, options=_SEND)
    return await ctx.step(tools.summarize, final, sent, decision)


def _triage_one(directory: str, filename: str, delay: float) -> Branch:
    async def branch(ctx: RunContext) -> dict[str, Any]:
        ticket = await ctx.step(tools.parse_ticket, directory, filename, delay)
        labels = await ctx.step(tools.classify, ticket, delay)
        customer, sentiment = await ctx.parallel(
            [
                lambda c: c.step(tools.lookup_customer, directory, ticket["email"], delay),
                lambda c: c.step(tools.score_sentiment, ticket["body"], delay),
            ],
            name="enrich",
        )
        draft: dict[str, Any] = await ctx.step(
            tools.draft_reply, ticket, labels, customer, sentiment, delay
        )
        return draft

    return branch
