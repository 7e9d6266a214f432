"""How ``transform`` rules rewrite an action's arguments: defaults, JSON paths, entity types.

Arguments are never changed in place: the first transform copies them, later ones edit the
copy. Entity-type redaction is delegated to a ``Redactor`` (``fluxio.governance.redaction``
provides one) made for the rule's entity types by the engine's ``redactor_for`` factory.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from fluxio.errors import UsageError
from fluxio.governance.policies.model import Transform

__all__ = ["Redactor", "RedactorFactory", "apply_transform", "parse_path"]

_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+|\*)\]")
Segment = str | int


@runtime_checkable
class Redactor(Protocol):
    """Replaces sensitive values (e-mails, card numbers...) anywhere inside a JSON value."""

    def redact(self, value: Any) -> Any:
        """``value`` with every recognised entity replaced; ``value`` itself is not modified."""
        ...


RedactorFactory = Callable[[tuple[str, ...]], Redactor]
"""Makes the ``Redactor`` for a rule's ``redact_entities`` (upper-case entity type names)."""


def parse_path(path: str) -> tuple[Segment, ...]:
    """``$.items[*].card`` as ``("items", "*", "card")``; ``[2]`` becomes the int 2."""
    text = path[1:] if path.startswith("$") else path
    segments: list[Segment] = []
    for name, index in _SEGMENT.findall(text):
        if name:
            segments.append(name)
        else:
            segments.append("*" if index == "*" else int(index))
    return tuple(segments)


def apply_transform(
    arguments: dict[str, Any],
    transform: Transform,
    redactor: Redactor | None,
) -> tuple[dict[str, Any], list[str]]:
    """The rewritten arguments and a list of what changed (for the explanation).

    Raises:
        UsageError: the rule names entity types but no redactor was configured.
    """
    result = copy.deepcopy(arguments)
    changes = [f"set default {key}" for key in transform.defaults if key not in result]
    for key, value in transform.defaults.items():
        result.setdefault(key, copy.deepcopy(value))
    for path in transform.redact_paths:
        hits = _redact_path(result, parse_path(path), transform.mask)
        if hits:
            changes.append(f"redacted {path} ({hits} value{'s' if hits > 1 else ''})")
    if transform.redact_entities:
        result = _redact_entities(result, transform.redact_entities, redactor)
        changes.append(f"redacted entities {', '.join(transform.redact_entities)}")
    return result, changes


def _redact_entities(
    arguments: dict[str, Any], entities: tuple[str, ...], redactor: Redactor | None
) -> dict[str, Any]:
    if redactor is None:
        raise UsageError(
            f"the rule redacts entity types {', '.join(entities)} but no redactor is "
            "configured; pass redactor_for= to PolicyEngine (see fluxio.governance.redaction)"
        )
    redacted = redactor.redact(arguments)
    if not isinstance(redacted, dict):
        raise UsageError(
            f"the redactor returned {type(redacted).__name__}, not the arguments mapping"
        )
    return redacted


def _redact_path(node: Any, path: tuple[Segment, ...], mask: str) -> int:
    """Replace every value at ``path`` below ``node`` with ``mask``; returns how many."""
    if not path:
        return 0
    head, rest = path[0], path[1:]
    children = _children(node, head)
    if not rest:
        for container, key in children:
            container[key] = mask
        return len(children)
    return sum(_redact_path(container[key], rest, mask) for container, key in children)


def _children(node: Any, head: Segment) -> list[tuple[Any, Any]]:
    if head == "*":
        if isinstance(node, list):
            return [(node, i) for i in range(len(node))]
        if isinstance(node, Mapping):
            return [(node, k) for k in node]
        return []
    if isinstance(head, int):
        return [(node, head)] if isinstance(node, list) and -len(node) <= head < len(node) else []
    return [(node, head)] if isinstance(node, dict) and head in node else []
