"""Checkpoint triggers (seed ``001``): risky operations pause for a person's approval.

Each trigger reads the tool contract: its name, ``category``, ``tags``, ``capabilities``,
``type`` and ``side_effects``. Words are matched whole (``send_email`` has the words ``send``
and ``email``), so say what a tool does in its tags and the triggers find it.

- ``side_effects``: any tool whose contract says it has side effects;
- ``external_calls``: tools that reach outside (words http, api, web, webhook, external,
  network; or an MCP tool);
- ``messages``: side-effecting tools that send (send, email, message, sms, chat, notify,
  slack, post, reply);
- ``data_mutation``: side-effecting tools that change data (write, delete, update, create,
  insert, remove, drop, upload, modify, put, patch, truncate);
- ``cost_above``: any step whose estimated cost (contract or model price) exceeds this many
  USD.

``skip`` names tools (globs) that no trigger holds: the routine ones.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Checkpoints"]

_WORD = re.compile(r"[a-z0-9]+")
_EXTERNAL = frozenset({"http", "https", "api", "web", "webhook", "external", "network", "internet"})
_MESSAGES = frozenset(
    {"send", "email", "mail", "message", "messages", "sms", "chat", "notify", "notification",
     "slack", "post", "reply"}
)  # fmt: skip
_MUTATION = frozenset(
    {"write", "delete", "update", "create", "insert", "remove", "drop", "upload", "mutation",
     "modify", "put", "patch", "truncate"}
)  # fmt: skip


class Checkpoints(BaseModel):
    """Which risky operations pause for approval (all off by default; ``risky()`` turns on all).

    Attributes:
        side_effects: every tool with side effects.
        external_calls: tools that call out of the system.
        messages: tools that send messages.
        data_mutation: tools that change data.
        cost_above: any step whose estimated cost exceeds this many USD.
        skip: tool names or globs never held by these triggers.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    side_effects: bool = False
    external_calls: bool = False
    messages: bool = False
    data_mutation: bool = False
    cost_above: float | None = Field(default=None, ge=0.0)
    skip: tuple[str, ...] = ()

    @classmethod
    def risky(cls, *, cost_above: float = 1.0) -> Checkpoints:
        """Every trigger of seed 001 on: external calls, messages, mutations, cost."""
        return cls(external_calls=True, messages=True, data_mutation=True, cost_above=cost_above)

    def triggered(
        self, kind: str, name: str, tool: Mapping[str, Any], cost_usd: float
    ) -> list[str]:
        """The triggers an action trips, as ``checkpoint:<trigger>`` names."""
        hit: list[str] = []
        if self.cost_above is not None and cost_usd > self.cost_above:
            hit.append("cost_above")
        if kind != "tool" or any(fnmatch.fnmatchcase(name, p) for p in self.skip):
            return [f"checkpoint:{h}" for h in hit]
        words = _words(name, tool)
        effects = bool(tool.get("side_effects", False))
        checks = (
            ("side_effects", self.side_effects and effects),
            ("external_calls", self.external_calls and _external(words, tool)),
            ("messages", self.messages and effects and bool(words & _MESSAGES)),
            ("data_mutation", self.data_mutation and effects and bool(words & _MUTATION)),
        )
        hit = [trigger for trigger, tripped in checks if tripped] + hit
        return [f"checkpoint:{h}" for h in hit]

    @property
    def active(self) -> bool:
        """Whether any trigger is on."""
        return any((self.side_effects, self.external_calls, self.messages, self.data_mutation)) or (
            self.cost_above is not None
        )


def _words(name: str, tool: Mapping[str, Any]) -> set[str]:
    parts = [name, str(tool.get("category", ""))]
    for field in ("tags", "capabilities"):
        parts.extend(str(v) for v in tool.get(field) or ())
    return set(_WORD.findall(" ".join(parts).lower().replace("_", " ")))


def _external(words: set[str], tool: Mapping[str, Any]) -> bool:
    return tool.get("type") == "mcp" or bool(words & _EXTERNAL)
