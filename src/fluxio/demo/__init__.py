"""The offline demo: ticket triage with parallel enrichment and an approval before sending.

``fluxio demo`` runs it on the embedded SQLite database; see docs/cli.md.
"""

from __future__ import annotations

from typing import Any

from fluxio.demo.triage import APPROVAL, DEMO_WORKFLOW, ticket_triage

__all__ = ["APPROVAL", "DEMO_WORKFLOW", "builtin_workflows", "ticket_triage"]


def builtin_workflows() -> dict[str, Any]:
    """The workflows every CLI command knows without a catalog entry."""
    return {DEMO_WORKFLOW: ticket_triage}
