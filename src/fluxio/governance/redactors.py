"""Plug ``fluxio.governance.redaction`` into policies and the audit trail.

- ``entity_redactors()`` is the ``PolicyEngine(redactor_for=...)`` factory: a ``transform``
  rule's ``redact_entities: [EMAIL, CARD, SECRET]`` then redacts those entity types in the
  arguments before a tool or a model sees them.
- ``redact_value(redactor)`` is the ``Governance(redact=...)`` function: every audit payload
  and approval detail passes through it before it is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fluxio.governance.policies import RedactorFactory
from fluxio.governance.redaction import RedactionConfig, Redactor, Vault

__all__ = ["EntityRedactor", "entity_redactors", "redact_value"]


class EntityRedactor:
    """A ``Redactor`` seen through the policy engine's one-method protocol."""

    def __init__(self, redactor: Redactor, *, tenant_id: str = "default") -> None:
        self.redactor = redactor
        self.tenant_id = tenant_id

    def redact(self, value: Any) -> Any:
        """``value`` with every recognised entity replaced (``value`` is not changed)."""
        return self.redactor.redact(value, tenant_id=self.tenant_id).value


def entity_redactors(
    config: RedactionConfig | None = None, *, vault: Vault | None = None
) -> RedactorFactory:
    """A ``PolicyEngine(redactor_for=...)`` factory: one redactor per rule's entity types.

    Args:
        config: the base configuration (mode, per-entity modes, sensitive keys); each rule's
            ``redact_entities`` replaces its ``entities``.
        vault: needed when a mode is ``tokenize``.
    """
    base = config or RedactionConfig()

    def make(entities: tuple[str, ...]) -> EntityRedactor:
        chosen = base.model_copy(update={"entities": tuple(e.upper() for e in entities)})
        return EntityRedactor(Redactor(chosen, vault=vault))

    return make


def redact_value(redactor: Redactor | None = None) -> Callable[[Any], Any]:
    """A ``Governance(redact=...)`` function: the redacted form of any JSON-like value."""
    chosen = redactor or Redactor()

    def redact(value: Any) -> Any:
        return chosen.redact(value).value

    return redact
