"""The tool contract of an OpenAPI operation.

HTTP semantics decide the runtime behaviour: ``GET``, ``HEAD``, ``OPTIONS`` and ``TRACE`` read
(no side effects, idempotent, retried freely); ``PUT`` and ``DELETE`` change the world but may be
repeated; ``POST`` and ``PATCH`` change it and may not (the kernel writes an intent first and
does not retry them blindly). The operation's first tag is the category, its tags (plus
``openapi``) the tags, the documented error responses the typed errors (``http_404``,
``http_5XX``; 429 and 5xx recoverable).
"""

from __future__ import annotations

import re

from pydantic import ValidationError

from fluxio.errors import DefinitionError
from fluxio.tools.contract import ErrorSpec, ToolContract
from fluxio.tools.openapi.operations import Operation

__all__ = ["contract_of", "semver_of"]

_READS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_REPEATABLE = frozenset({"PUT", "DELETE"})
_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$")


def contract_of(operation: Operation, *, version: str = "1.0.0", source: str = "") -> ToolContract:
    """The ``ToolContract`` of ``operation``.

    Raises:
        DefinitionError: the operation's schemas are not valid JSON Schema.
    """
    side_effects = operation.method not in _READS
    try:
        return ToolContract(
            name=operation.name,
            description=_description(operation),
            version=version,
            type="atomic",
            category=operation.tags[0] if operation.tags else "openapi",
            tags=(*operation.tags, "openapi"),
            input_schema=operation.inputs.schema,
            output_schema=operation.output_schema,
            errors=tuple(
                ErrorSpec(
                    code=f"http_{e.code}", description=e.description, recoverable=e.recoverable
                )
                for e in operation.errors
            ),
            side_effects=side_effects,
            idempotent=not side_effects or operation.method in _REPEATABLE,
            status="deprecated" if operation.deprecated else "active",
        )
    except ValidationError as exc:
        problem = "; ".join(str(e["msg"]) for e in exc.errors())
        raise DefinitionError(
            f"operation {operation.label} cannot become a tool: {problem}",
            file=source or None,
            suggestion="Fix the operation's schema in the spec.",
        ) from None


def semver_of(api_version: str) -> str:
    """The API's ``info.version`` as a semantic version (``v2`` → ``2.0.0``), else ``1.0.0``."""
    text = api_version.strip()
    match = _VERSION.match(text)
    if match is not None:
        return ".".join(part or "0" for part in match.groups())
    try:
        ToolContract(name="probe", version=text)
    except ValidationError:
        return "1.0.0"
    return text


def _description(operation: Operation) -> str:
    parts = [p.strip() for p in (operation.summary, operation.description) if p.strip()]
    if len(parts) == 2 and parts[1].startswith(parts[0]):
        parts = parts[1:]
    text = "\n\n".join(parts) or f"{operation.method} {operation.path}"
    return text
