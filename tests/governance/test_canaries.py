"""Canaries: with the redaction policy on, seeded secrets never reach a model, a log or the audit.

An e-mail address, a Luhn-valid card number and a fake API key are seeded into a run's input
and into a tool's result. The agent's model calls, every log record, and the raw rows of the
audit tables (a real SQLite file) are searched for them in clear.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from fluxio import Engine, RunContext
from fluxio.governance import (
    Actor,
    Approvals,
    Checkpoints,
    Governance,
    PolicyEngine,
    SQLiteApprovalStore,
    SQLiteAuditLog,
    entity_redactors,
    parse_policies,
    redact_value,
)
from fluxio.governance.redaction import Redactor
from fluxio.models import Message, ModelRequest, ModelResponse, ToolCall, call_model
from fluxio.store.sqlite import SQLiteStore
from fluxio.testing import FakeModel
from fluxio.tools import call_tool, tool

pytestmark = pytest.mark.anyio

EMAIL = "canary.person@example.com"
CARD = "4539 1488 0343 6467"  # Luhn-valid
KEY = "sk_live_CANARYx9Q2w8E7r6T5y4U3i2"
CANARIES = (EMAIL, CARD, CARD.replace(" ", ""), KEY)

REDACTION = """
- id: no-pii-leaves
  description: personal data and secrets never reach a model
  scope: {applies_to: {kinds: [model]}}
  rules:
    - id: scrub
      type: transform
      transform: {redact_entities: [EMAIL, CARD, SECRET]}
"""


@tool(side_effects=False, category="crm")
async def crm_lookup(customer_id: str) -> dict[str, Any]:
    """Look a customer up."""
    return {
        "id": customer_id,
        "contact": {"email": EMAIL, "notes": [f"paid with {CARD}"]},
        "integration": f"STRIPE_KEY={KEY} region=eu",
    }


@tool(side_effects=True, idempotent=False, category="tickets", tags=("update",))
async def update_ticket(ticket: str, text: str) -> str:
    """Write to a support ticket."""
    return "updated"


def assert_clean(text: str, where: str) -> None:
    leaked = [canary for canary in CANARIES if canary in text]
    assert not leaked, f"{where} holds {leaked} in clear"


async def test_seeded_canaries_reach_no_model_log_or_audit_row(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "fluxio.db"
    store = SQLiteStore(path, durability="normal")
    audit = SQLiteAuditLog(path)
    approvals = Approvals(SQLiteApprovalStore(path))
    governance = Governance(
        policies=PolicyEngine(parse_policies(REDACTION), redactor_for=entity_redactors()),
        checkpoints=Checkpoints(data_mutation=True),
        approvals=approvals,
        audit=audit,
        store=store,
        redact=redact_value(Redactor()),
    )
    model = FakeModel([
        ModelResponse(content=None, model="fake",
                      tool_calls=(ToolCall(id="1", name="crm_lookup",
                                           arguments={"customer_id": "c-1"}),)),
        "The customer is active.",
    ])  # fmt: skip

    async def support(ctx: RunContext, question: str) -> str | None:
        messages = [Message(role="user", content=question)]
        first = await call_model(ctx, model, ModelRequest(messages=tuple(messages)))
        found = await call_tool(ctx, crm_lookup, first.tool_calls[0].arguments)
        messages += [Message(role="assistant", tool_calls=first.tool_calls),
                     Message(role="tool", content=json.dumps(found), tool_call_id="1")]  # fmt: skip
        answer = await call_model(ctx, model, ModelRequest(messages=tuple(messages)))
        note = f"{question} -> {answer.content} ({found['contact']['email']})"
        await call_tool(ctx, update_ticket, {"ticket": "T-1", "text": note})
        return answer.content

    engine = Engine(store, workflows={"support": support}, interceptors=[governance])
    approvals.bind(engine)
    run = await engine.start("support", f"Is {EMAIL} (card {CARD}, key {KEY}) still active?")
    await engine.drive()
    [held] = await approvals.requests("default")
    await approvals.approve("default", held.approval_id, by=Actor("sam", "user"))
    assert await engine.result(run.run_id) == "The customer is active."
    await governance.flush()

    assert model.calls == 2
    for number, request in enumerate(model.requests, 1):
        assert_clean(request.model_dump_json(), f"model request {number}")
    assert "[EMAIL_1]" in model.requests[1].model_dump_json()
    assert_clean(caplog.text, "the logs")
    rows = _rows(path, "audit_entries")
    assert_clean(rows, "the audit_entries table")
    assert "[EMAIL_1]" in rows  # the held call's arguments were audited, redacted
    assert "approval.requested" in rows
    await audit.close()
    await store.close()


def _rows(path: Path, table: str) -> str:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return "\n".join(repr(row) for row in conn.execute(f"SELECT * FROM {table}"))
