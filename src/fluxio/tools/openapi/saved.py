"""Remembering an OpenAPI import in the workspace, so that later commands load the same tools.

``fluxio tools import-openapi SPEC --save DIR`` writes ``DIR/<name>.openapi.yaml``: where the
spec is, and the options of the import (prefix, base URL, the *names* of the auth environment
variables, allowed hosts), plus the tool names it produced for reference. It never holds a
secret. ``load_saved_imports(DIR)`` imports every such file again.

```yaml
openapi_import:
  spec: /srv/specs/petstore.yaml
  prefix: pets_
  base_url: null
  auth: bearer:PETSTORE_TOKEN
  allow_hosts: []
  tools: [pets_listPets, pets_createPets, pets_showPetById]
```
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from fluxio.errors import DefinitionError
from fluxio.tools.openapi.auth import AuthConfig
from fluxio.tools.openapi.document import is_url
from fluxio.tools.openapi.importer import http_call_of, import_openapi
from fluxio.tools.outbound import OutboundClient
from fluxio.tools.runtime import Tool

__all__ = ["SUFFIX", "SavedImport", "load_saved_imports"]

SUFFIX = ".openapi.yaml"
_KEYS = frozenset({"spec", "prefix", "base_url", "auth", "allow_hosts", "tools"})


@dataclass(frozen=True)
class SavedImport:
    """An OpenAPI import to repeat: the spec and the options it was imported with.

    Args:
        spec: the spec's absolute file path or URL.
        prefix: the tool name prefix.
        base_url: the server override, if any.
        auth: the auth in CLI form (``bearer:ENV_VAR``); names variables, never secrets.
        allow_hosts: hosts the calls may reach although they are not public.
    """

    spec: str
    prefix: str = ""
    base_url: str | None = None
    auth: str | None = None
    allow_hosts: tuple[str, ...] = ()

    @classmethod
    def of(cls, spec: str | Path, **options: Any) -> SavedImport:
        """A record for ``spec`` (a relative file path is made absolute)."""
        where = str(spec) if is_url(spec) else str(Path(spec).expanduser().resolve())
        return cls(where, **options)

    def save(self, folder: Path, tools: Sequence[Tool]) -> Path:
        """Write ``<folder>/<name>.openapi.yaml`` and return its path."""
        folder.mkdir(parents=True, exist_ok=True)
        stem = Path(self.spec.rstrip("/")).name.split(".")[0] or "openapi"
        name = re.sub(r"[^A-Za-z0-9_-]+", "_", f"{self.prefix}{stem}").strip("_") or "openapi"
        path = folder / f"{name}{SUFFIX}"
        record = {
            "spec": self.spec,
            "prefix": self.prefix,
            "base_url": self.base_url,
            "auth": self.auth,
            "allow_hosts": list(self.allow_hosts),
            "tools": [t.name for t in tools],
        }
        path.write_text(yaml.safe_dump({"openapi_import": record}, sort_keys=False))
        return path

    @classmethod
    def read(cls, path: Path) -> SavedImport:
        """Read a saved import; raises ``DefinitionError`` naming the file if it is malformed."""
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            message = f"cannot read the saved OpenAPI import: {exc}"
            raise DefinitionError(message, file=str(path)) from None
        record = data.get("openapi_import") if isinstance(data, dict) else None
        if not isinstance(record, dict) or not isinstance(record.get("spec"), str):
            raise DefinitionError(
                "not a saved OpenAPI import: expected `openapi_import:` with a `spec:`",
                file=str(path),
                suggestion="Write it again with `fluxio tools import-openapi SPEC --save DIR`.",
            )
        unknown = sorted(set(record) - _KEYS)
        if unknown:
            raise DefinitionError(f"unknown keys {unknown} in openapi_import", file=str(path))
        return cls(
            spec=record["spec"],
            prefix=str(record.get("prefix") or ""),
            base_url=record.get("base_url"),
            auth=record.get("auth"),
            allow_hosts=tuple(str(h) for h in record.get("allow_hosts") or ()),
        )

    async def load(self, client: OutboundClient | None = None) -> list[Tool]:
        """Import the spec again with the saved options.

        Without ``client``, a client allowing the saved ``allow_hosts`` fetches the spec, and
        each call opens its own.
        """
        auth = AuthConfig.parse(self.auth) if self.auth else None
        if client is not None:
            return await self._import(auth, client)
        async with OutboundClient(allow_hosts=self.allow_hosts) as own:
            tools = await self._import(auth, own)
        return [_detached(t, self.allow_hosts) for t in tools]

    async def _import(self, auth: AuthConfig | None, client: OutboundClient | None) -> list[Tool]:
        return await import_openapi(
            self.spec, prefix=self.prefix, auth=auth, base_url=self.base_url, client=client
        )


async def load_saved_imports(folder: Path, client: OutboundClient | None = None) -> list[Tool]:
    """The tools of every ``*.openapi.yaml`` in ``folder`` (sorted by file name).

    Args:
        folder: where ``--save`` wrote the imports (e.g. ``.fluxio/openapi``).
        client: the outbound client for fetching specs and for the calls; without one, each
            call opens a client allowing the saved ``allow_hosts``.
    """
    tools: list[Tool] = []
    for saved in _saved_in(folder):
        tools.extend(await saved.load(client))
    return tools


def _saved_in(folder: Path) -> list[SavedImport]:
    return [SavedImport.read(path) for path in sorted(folder.glob(f"*{SUFFIX}"))]


def _detached(item: Tool, allow_hosts: tuple[str, ...]) -> Tool:
    """The tool calling through its own short-lived client that allows ``allow_hosts``."""
    call = http_call_of(item)
    if call is None:
        return item
    return Tool(contract=item.contract, fn=replace(call, client=None, allow_hosts=allow_hosts).send)
