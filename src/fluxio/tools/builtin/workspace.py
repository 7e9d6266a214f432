"""The workspace root that confines every built-in file tool.

A path given to a file tool is relative to the root (an absolute path must lie inside it).
``..`` segments and symbolic links are resolved first, and anything that ends up outside the
root is refused with ``PathOutsideWorkspace``. The check guards against paths chosen by a
model or a workflow file; it is not a sandbox against a hostile local user racing the tool.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fluxio.errors import UsageError

__all__ = ["PathOutsideWorkspace", "Workspace", "WorkspaceFileError"]


class PathOutsideWorkspace(UsageError):
    """A path resolves (through ``..`` or a symbolic link) to a place outside the workspace."""


class WorkspaceFileError(UsageError):
    """A file operation cannot be done as asked: missing file, wrong kind, too large, exists."""


@dataclass(frozen=True)
class Workspace:
    """A directory the file tools may read and write, and nothing outside it.

    Args:
        root: the directory; it is resolved (symbolic links followed) once, here.
        max_read_bytes: the largest file a tool reads in one call unless it asks for less.
        max_write_bytes: the largest content a tool writes in one call.
    """

    root: Path
    max_read_bytes: int = 1024 * 1024
    max_write_bytes: int = 10 * 1024 * 1024

    @classmethod
    def at(cls, root: Path | str, **limits: int) -> Workspace:
        """A workspace at ``root``, which must be an existing directory."""
        resolved = Path(root).expanduser().resolve()
        if not resolved.is_dir():
            raise UsageError(
                f"workspace root {str(root)!r} is not a directory; create it or configure "
                "another workspace"
            )
        return cls(resolved, **limits)

    def locate(self, path: str) -> Path:
        """The entry ``path`` names inside the workspace (a final symlink is not followed).

        Raises:
            PathOutsideWorkspace: the path, or what a symbolic link in it points to, is outside.
            UsageError: the path is empty or contains a NUL byte.
        """
        if not path or "\x00" in path:
            raise UsageError(f"invalid path {path!r}: give a file path relative to the workspace")
        given = Path(path).expanduser()
        full = given if given.is_absolute() else self.root / given
        entry = full.resolve() if full.name in ("", "..") else full.parent.resolve() / full.name
        self._confine(path, entry)
        self._confine(path, entry.resolve())
        return entry

    def target(self, path: str) -> Path:
        """The file ``path`` finally refers to, symbolic links followed, inside the workspace."""
        return self.locate(path).resolve()

    def relative(self, path: Path) -> str:
        """``path`` as the workspace-relative POSIX path tools report (``"."`` for the root)."""
        return path.relative_to(self.root).as_posix() or "."

    def contains(self, path: Path) -> bool:
        """Whether ``path`` (symbolic links followed) lies inside the workspace."""
        return path.resolve().is_relative_to(self.root)

    def _confine(self, given: str, resolved: Path) -> None:
        if not resolved.is_relative_to(self.root):
            raise PathOutsideWorkspace(
                f"path {given!r} resolves to {resolved}, outside the workspace {self.root}; "
                "file tools only reach files inside the workspace (give a relative path "
                "without '..' and no links that point out of it)"
            )
