"""Following ``$ref``\\ s inside an OpenAPI document and the files it references.

Resolution is pure: the documents were read beforehand (see ``document.py``). A broken reference
raises a ``DefinitionError`` that names the reference, the operation that needed it and where in
the document it sits, so the author can fix the spec. Cycles (a ``Node`` whose ``children`` are
``Node``\\ s) are cut where they recur; see ``schemas.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

from fluxio.errors import DefinitionError
from fluxio.tools.openapi.document import OpenAPIDocument

__all__ = ["MAX_REF_DEPTH", "RefContext"]

MAX_REF_DEPTH = 16
"""How many references deep a schema is expanded before the rest is left unconstrained."""


@dataclass(frozen=True)
class RefContext:
    """Where resolution stands: which document, which operation, which location, which refs.

    Args:
        document: the OpenAPI document with every referenced file.
        base: URI that relative references resolve against (the current document).
        operation: the operation being converted, e.g. ``getPet (GET /pets/{petId})``.
        where: the JSON path of the current node, for error messages.
        stack: the references being expanded right now, outermost first (to spot cycles).
    """

    document: OpenAPIDocument
    base: str
    operation: str = ""
    where: tuple[str, ...] = ()
    stack: tuple[str, ...] = ()

    def at(self, *keys: str | int) -> RefContext:
        """This context one or more steps deeper into the document."""
        return replace(self, where=(*self.where, *(str(k) for k in keys)))

    def location(self) -> str:
        """The current position as a readable path, e.g. ``paths./pets.get.responses.200``."""
        return ".".join(self.where) or "(document root)"

    def follow(self, node: Any) -> tuple[Any, RefContext]:
        """Resolve ``node`` while it is a ``{"$ref": ...}``; other keys override the target.

        Returns the target and the context to read it in (its document becomes the base).
        Raises ``DefinitionError`` for a broken reference or a reference loop.
        """
        context = self
        seen: list[str] = []
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            uri = urljoin(context.base, node["$ref"])
            if uri in seen:
                raise context.broken(node["$ref"], "the reference points back to itself")
            seen.append(uri)
            target = context.lookup(node["$ref"], uri)
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            if siblings and isinstance(target, dict):
                target = {**target, **siblings}
            node, context = target, replace(context, base=urldefrag(uri).url)
        return node, context

    def lookup(self, ref: str, uri: str) -> Any:
        """The node that absolute ``uri`` points to; ``ref`` is how the spec spelled it."""
        url, fragment = urldefrag(uri)
        documents = self.document.documents
        if url not in documents:
            reason = self.document.unreadable.get(url, f"{url} was not read")
            raise self.broken(ref, f"cannot read the referenced document: {reason}")
        if fragment and not unquote(fragment).startswith("/"):
            raise self.broken(ref, "only JSON pointer fragments like '#/components/...' resolve")
        node = documents[url]
        walked: list[str] = []
        for token in _pointer_tokens(fragment):
            node = _step(node, token)
            if node is _MISSING:
                where = "/".join(walked) or "the document root"
                raise self.broken(ref, f"{where} has no {token!r}")
            walked.append(token)
        return node

    def broken(self, ref: str, reason: str) -> DefinitionError:
        """The error for a reference that cannot be followed."""
        operation = f" in operation {self.operation}" if self.operation else ""
        return DefinitionError(
            f"broken $ref {ref!r}{operation} at {self.location()}: {reason}",
            file=self.document.source,
            suggestion="Fix the reference or add the definition it names.",
        )


_MISSING = object()


def _pointer_tokens(fragment: str) -> list[str]:
    """Split a JSON pointer fragment (``/components/schemas/Pet``) into unescaped tokens."""
    pointer = unquote(fragment)
    if not pointer:
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _step(node: Any, token: str) -> Any:
    if isinstance(node, dict):
        return node.get(token, _MISSING)
    if isinstance(node, list) and token.isdigit() and int(token) < len(node):
        return node[int(token)]
    return _MISSING
