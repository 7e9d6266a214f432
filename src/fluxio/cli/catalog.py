"""``catalog.json`` next to the database: which files define each workflow that was run.

The embedded CLI has no server that knows every definition. ``fluxio run`` records, for each
workflow it loads, the absolute paths of its definition file and tool files, so that a later
``fluxio approve`` (or ``signal``, ``resolve``, ``worker``) can load the same definitions and
continue the run in-process.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from fluxio.cli.loader import Definitions
from fluxio.errors import UsageError

__all__ = ["Catalog", "CatalogEntry"]


@dataclass(frozen=True)
class CatalogEntry:
    """Where one workflow is defined: its file and the Python files its tools come from."""

    file: Path
    tools: tuple[Path, ...] = ()


class Catalog:
    """Workflow name -> definition files, stored as JSON in one small file.

    Args:
        path: the catalog file (``.fluxio/catalog.json`` beside the default database).
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self) -> dict[str, CatalogEntry]:
        """Every recorded workflow."""
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {
                name: CatalogEntry(Path(e["file"]), tuple(Path(t) for t in e.get("tools", ())))
                for name, e in data["workflows"].items()
            }
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(
                f"the workflow catalog {self.path} is unreadable ({exc}); delete it and "
                "`fluxio run` your workflow files again to rebuild it"
            ) from exc

    def get(self, name: str) -> CatalogEntry | None:
        """Where ``name`` is defined, if it was ever run from this database's directory."""
        return self.entries().get(name)

    def record(self, defs: Definitions) -> None:
        """Remember where every workflow in ``defs`` is defined (replacing older entries)."""
        entries = self.entries()
        tools = tuple(defs.tool_files)
        for name, origin in defs.origins.items():
            entries[name] = CatalogEntry(origin, tuple(t for t in tools if t != origin))
        data = {
            "version": 1,
            "workflows": {
                name: {"file": str(e.file), "tools": [str(t) for t in e.tools]}
                for name, e in sorted(entries.items())
            },
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)
