"""File tools confined to a workspace: read, write, append, delete, move, copy and list files.

Every path goes through ``Workspace.locate`` (``..`` and symbolic links resolved, anything
outside the root refused). Blocking file I/O runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from fluxio.errors import UsageError
from fluxio.tools import Tool, tool
from fluxio.tools.builtin.workspace import Workspace, WorkspaceFileError

__all__ = [
    "CopyFileResult",
    "DeleteFileResult",
    "FileEntry",
    "FileList",
    "FileText",
    "MoveFileResult",
    "WriteFileResult",
    "file_tools",
]


class FileText(BaseModel):
    """What ``read_file`` returns: the content and its metadata."""

    path: str
    content: str
    encoding: str
    size: int
    modified: str


class WriteFileResult(BaseModel):
    """What ``write_file`` and ``append_file`` return."""

    success: bool
    path: str
    bytes_written: int
    created: bool


class DeleteFileResult(BaseModel):
    """What ``delete_file`` returns; ``deleted`` is false when the file was already gone."""

    success: bool
    path: str
    deleted: bool


class MoveFileResult(BaseModel):
    """What ``move_file`` returns."""

    success: bool
    new_path: str


class CopyFileResult(BaseModel):
    """What ``copy_file`` returns; ``copied`` is false when an identical copy already existed."""

    success: bool
    new_path: str
    copied: bool


class FileEntry(BaseModel):
    """One entry of ``list_files``."""

    path: str
    type: Literal["file", "directory", "symlink", "other"]
    size: int
    modified: str


class FileList(BaseModel):
    """What ``list_files`` returns; ``truncated`` means ``max_entries`` cut the list short."""

    entries: list[FileEntry]
    truncated: bool


def file_tools(workspace: Workspace) -> list[Tool]:
    """The file tools bound to ``workspace``."""
    fs = _Files(workspace)

    @tool(category="files", tags=("files", "read"), capabilities=("read_file",), timeout=30.0)
    async def read_file(
        path: str, encoding: str = "utf-8", max_bytes: int | None = None
    ) -> FileText:
        """Read a file of the workspace.

        Args:
            path: the file, relative to the workspace root.
            encoding: a text encoding such as ``utf-8``, or ``base64`` for binary files.
            max_bytes: refuse files larger than this; the workspace's read limit always applies.
        """
        return await asyncio.to_thread(fs.read, path, encoding, max_bytes)

    @tool(
        category="files", tags=("files", "write"), capabilities=("write_file",),
        side_effects=True, idempotent=True, timeout=30.0,
    )  # fmt: skip
    async def write_file(path: str, content: str, encoding: str = "utf-8") -> WriteFileResult:
        """Write a file of the workspace, replacing it whole; parent folders are created.

        Args:
            path: the file, relative to the workspace root.
            content: the new content.
            encoding: a text encoding such as ``utf-8``, or ``base64`` to write decoded bytes.
        """
        return await asyncio.to_thread(fs.write, path, content, encoding, False)

    @tool(
        category="files", tags=("files", "write"), capabilities=("append_file",),
        side_effects=True, idempotent=False, timeout=30.0,
    )  # fmt: skip
    async def append_file(path: str, content: str, encoding: str = "utf-8") -> WriteFileResult:
        """Append to a file of the workspace, creating it if needed.

        Args:
            path: the file, relative to the workspace root.
            content: the text to add at the end.
            encoding: a text encoding such as ``utf-8``, or ``base64`` to append decoded bytes.
        """
        return await asyncio.to_thread(fs.write, path, content, encoding, True)

    @tool(
        category="files", tags=("files", "delete"), capabilities=("delete_file",),
        side_effects=True, idempotent=True, timeout=30.0,
    )  # fmt: skip
    async def delete_file(path: str, missing_ok: bool = True) -> DeleteFileResult:
        """Delete a file (or a symbolic link) of the workspace; folders are not deleted.

        Args:
            path: the file, relative to the workspace root.
            missing_ok: succeed with ``deleted: false`` when the file does not exist.
        """
        return await asyncio.to_thread(fs.delete, path, missing_ok)

    @tool(
        category="files", tags=("files", "move"), capabilities=("move_file",),
        side_effects=True, idempotent=False, timeout=30.0,
    )  # fmt: skip
    async def move_file(
        source_path: str, destination_path: str, overwrite: bool = False
    ) -> MoveFileResult:
        """Move or rename a file inside the workspace.

        Args:
            source_path: the file to move.
            destination_path: its new path; parent folders are created.
            overwrite: replace an existing destination file.
        """
        return await asyncio.to_thread(fs.move, source_path, destination_path, overwrite)

    @tool(
        category="files", tags=("files", "copy"), capabilities=("copy_file",),
        side_effects=True, idempotent=True, timeout=30.0,
    )  # fmt: skip
    async def copy_file(
        source_path: str, destination_path: str, overwrite: bool = False
    ) -> CopyFileResult:
        """Copy a file inside the workspace; an identical existing copy counts as done.

        Args:
            source_path: the file to copy.
            destination_path: where the copy goes; parent folders are created.
            overwrite: replace an existing, different destination file.
        """
        return await asyncio.to_thread(fs.copy, source_path, destination_path, overwrite)

    @tool(category="files", tags=("files", "list"), capabilities=("list_files",), timeout=30.0)
    async def list_files(
        path: str = ".", pattern: str = "*", recursive: bool = False, max_entries: int = 1000
    ) -> FileList:
        """List the entries of a workspace folder that match a glob pattern, sorted by path.

        Args:
            path: the folder, relative to the workspace root.
            pattern: a glob such as ``*.md``; ``**`` patterns or ``recursive`` search subfolders.
            recursive: match ``pattern`` in every subfolder too.
            max_entries: stop after this many entries (``truncated`` is then true).
        """
        return await asyncio.to_thread(fs.list, path, pattern, recursive, max_entries)

    return [read_file, write_file, append_file, delete_file, move_file, copy_file, list_files]


class _Files:
    """The blocking implementations behind the file tools."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace

    def read(self, path: str, encoding: str, max_bytes: int | None) -> FileText:
        file = self._existing_file(path)
        ceiling = self.ws.max_read_bytes
        limit = ceiling if max_bytes is None else min(max_bytes, ceiling)
        size = file.stat().st_size
        if size > limit:
            raise WorkspaceFileError(
                f"{path!r} is {size} bytes, over the {limit}-byte read limit; pass a larger "
                "max_bytes or split the file"
            )
        data = file.read_bytes()
        return FileText(
            path=self.ws.relative(file),
            content=_decode(data, encoding, path),
            encoding=encoding,
            size=size,
            modified=_mtime(file),
        )

    def write(self, path: str, content: str, encoding: str, append: bool) -> WriteFileResult:
        file = self.ws.target(path)
        data = _encode(content, encoding)
        if len(data) > self.ws.max_write_bytes:
            raise WorkspaceFileError(
                f"content for {path!r} is {len(data)} bytes, over the workspace's "
                f"{self.ws.max_write_bytes}-byte write limit"
            )
        if file.is_dir():
            raise WorkspaceFileError(f"{path!r} is a folder; give a file path")
        created = not file.exists()
        file.parent.mkdir(parents=True, exist_ok=True)
        if append:
            with file.open("ab") as handle:
                handle.write(data)
        else:
            _replace_atomically(file, data)
        return WriteFileResult(
            success=True, path=self.ws.relative(file), bytes_written=len(data), created=created
        )

    def delete(self, path: str, missing_ok: bool) -> DeleteFileResult:
        entry = self.ws.locate(path)
        if not entry.is_symlink() and not entry.exists():
            if not missing_ok:
                raise WorkspaceFileError(f"cannot delete {path!r}: no such file in the workspace")
            return DeleteFileResult(success=True, path=self.ws.relative(entry), deleted=False)
        if entry.is_dir() and not entry.is_symlink():
            raise WorkspaceFileError(f"{path!r} is a folder; delete_file removes files only")
        entry.unlink()
        return DeleteFileResult(success=True, path=self.ws.relative(entry), deleted=True)

    def move(self, source: str, destination: str, overwrite: bool) -> MoveFileResult:
        entry = self.ws.locate(source)
        if not entry.is_symlink() and not entry.is_file():
            raise WorkspaceFileError(f"cannot move {source!r}: no such file in the workspace")
        target = self._destination(destination, overwrite)
        os.replace(entry, target)
        return MoveFileResult(success=True, new_path=self.ws.relative(target))

    def copy(self, source: str, destination: str, overwrite: bool) -> CopyFileResult:
        file = self._existing_file(source)
        target = self.ws.target(destination)
        if target.is_file() and target.read_bytes() == file.read_bytes():
            return CopyFileResult(success=True, new_path=self.ws.relative(target), copied=False)
        target = self._destination(destination, overwrite)
        shutil.copyfile(file, target)
        return CopyFileResult(success=True, new_path=self.ws.relative(target), copied=True)

    def list(self, path: str, pattern: str, recursive: bool, max_entries: int) -> FileList:
        folder = self.ws.target(path)
        if not folder.is_dir():
            raise WorkspaceFileError(f"cannot list {path!r}: not a folder in the workspace")
        if not pattern or Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            raise UsageError(
                f"invalid pattern {pattern!r}: give a relative glob such as '*.md' or '**/*.txt'"
            )
        found = folder.rglob(pattern) if recursive else folder.glob(pattern)
        inside = sorted(p for p in found if self.ws.contains(p.parent) and self.ws.contains(p))
        entries = [self._entry(p) for p in inside[:max_entries]]
        return FileList(entries=entries, truncated=len(inside) > max_entries)

    def _existing_file(self, path: str) -> Path:
        file = self.ws.target(path)
        if not file.is_file():
            kind = "a folder" if file.is_dir() else "no such file"
            raise WorkspaceFileError(f"cannot read {path!r}: {kind} in the workspace")
        return file

    def _destination(self, destination: str, overwrite: bool) -> Path:
        target = self.ws.locate(destination)
        if target.is_dir() and not target.is_symlink():
            raise WorkspaceFileError(f"destination {destination!r} is a folder; give a file path")
        if (target.exists() or target.is_symlink()) and not overwrite:
            raise WorkspaceFileError(
                f"destination {destination!r} already exists; pass overwrite=true to replace it"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def _entry(self, path: Path) -> FileEntry:
        kind: Literal["file", "directory", "symlink", "other"]
        if path.is_symlink():
            kind = "symlink"
        elif path.is_dir():
            kind = "directory"
        else:
            kind = "file" if path.is_file() else "other"
        info = path.lstat()
        size = info.st_size if kind == "file" else 0
        return FileEntry(path=self.ws.relative(path), type=kind, size=size, modified=_mtime(path))


def _decode(data: bytes, encoding: str, path: str) -> str:
    if encoding == "base64":
        return base64.b64encode(data).decode("ascii")
    try:
        return data.decode(encoding)
    except LookupError as exc:
        raise UsageError(
            f"unknown encoding {encoding!r}; use e.g. utf-8, latin-1 or base64"
        ) from exc
    except UnicodeDecodeError as exc:
        raise WorkspaceFileError(
            f"{path!r} is not valid {encoding} text (byte {exc.start}); read it with "
            "encoding='base64' or the file's real encoding"
        ) from exc


def _encode(content: str, encoding: str) -> bytes:
    if encoding == "base64":
        try:
            return base64.b64decode(content, validate=True)
        except ValueError as exc:
            raise UsageError(f"content is not valid base64: {exc}") from exc
    try:
        return content.encode(encoding)
    except LookupError as exc:
        raise UsageError(
            f"unknown encoding {encoding!r}; use e.g. utf-8, latin-1 or base64"
        ) from exc
    except UnicodeEncodeError as exc:
        raise UsageError(f"content cannot be encoded as {encoding}: {exc.reason}") from exc


def _replace_atomically(file: Path, data: bytes) -> None:
    """Write to a temporary file beside ``file`` and rename it over: never a half-written file."""
    fd, temp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, file.stat().st_mode & 0o7777 if file.exists() else 0o644)
        os.replace(temp, file)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _mtime(path: Path) -> str:
    stamp = path.lstat().st_mtime
    return dt.datetime.fromtimestamp(stamp, dt.UTC).isoformat(timespec="seconds")
