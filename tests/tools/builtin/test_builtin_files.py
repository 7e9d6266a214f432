"""File tools on real files: confinement to the workspace, size limits, and each operation."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from fluxio.errors import ToolInputInvalid, UsageError
from fluxio.tools import Tool
from fluxio.tools.builtin import PathOutsideWorkspace, Workspace, WorkspaceFileError, builtin_tools

pytestmark = pytest.mark.anyio


async def test_write_then_read_round_trips_with_metadata(tools: dict[str, Tool]) -> None:
    written = await tools["write_file"].invoke({"path": "notes/a.txt", "content": "héllo"})
    read = await tools["read_file"].invoke({"path": "notes/a.txt"})
    assert written == {"success": True, "path": "notes/a.txt", "bytes_written": 6, "created": True}
    assert (read["content"], read["size"], read["path"]) == ("héllo", 6, "notes/a.txt")
    assert read["modified"].endswith("+00:00")


async def test_write_is_idempotent_for_the_same_content(
    tools: dict[str, Tool], workspace: Path
) -> None:
    args = {"path": "a.txt", "content": "same"}
    first = await tools["write_file"].invoke(args)
    second = await tools["write_file"].invoke(args)
    assert (first["created"], second["created"]) == (True, False)
    assert (workspace / "a.txt").read_text() == "same"
    assert [p.name for p in workspace.iterdir()] == ["a.txt"]  # no temporary files left


async def test_append_adds_to_the_end(tools: dict[str, Tool], workspace: Path) -> None:
    await tools["append_file"].invoke({"path": "log.txt", "content": "one\n"})
    await tools["append_file"].invoke({"path": "log.txt", "content": "two\n"})
    assert (workspace / "log.txt").read_text() == "one\ntwo\n"


async def test_binary_files_round_trip_as_base64(tools: dict[str, Tool], workspace: Path) -> None:
    data = bytes(range(256))
    encoded = base64.b64encode(data).decode()
    await tools["write_file"].invoke({"path": "b.bin", "content": encoded, "encoding": "base64"})
    read = await tools["read_file"].invoke({"path": "b.bin", "encoding": "base64"})
    assert (workspace / "b.bin").read_bytes() == data
    assert read["content"] == encoded


async def test_reading_binary_as_text_says_how_to_read_it(
    tools: dict[str, Tool], workspace: Path
) -> None:
    (workspace / "b.bin").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(WorkspaceFileError, match=r"not valid utf-8.*encoding='base64'"):
        await tools["read_file"].invoke({"path": "b.bin"})


async def test_read_refuses_files_over_max_bytes(tools: dict[str, Tool], workspace: Path) -> None:
    (workspace / "big.txt").write_text("x" * 101)
    with pytest.raises(WorkspaceFileError, match=r"101 bytes, over the 100-byte read limit"):
        await tools["read_file"].invoke({"path": "big.txt", "max_bytes": 100})


async def test_workspace_limits_bound_reads_and_writes(workspace: Path) -> None:
    small = Workspace.at(workspace, max_read_bytes=10, max_write_bytes=5)
    tools = {t.name: t for t in builtin_tools(small)}
    with pytest.raises(WorkspaceFileError, match=r"6 bytes, over the workspace's 5-byte"):
        await tools["write_file"].invoke({"path": "a.txt", "content": "123456"})
    (workspace / "b.txt").write_text("x" * 11)
    with pytest.raises(WorkspaceFileError, match=r"10-byte read limit"):
        await tools["read_file"].invoke({"path": "b.txt"})
    with pytest.raises(WorkspaceFileError, match=r"10-byte read limit"):
        await tools["read_file"].invoke({"path": "b.txt", "max_bytes": 10**9})


@pytest.mark.parametrize("path", ["../outside/secret.txt", "a/../../outside/secret.txt"])
async def test_dotdot_escapes_are_refused(tools: dict[str, Tool], path: str) -> None:
    with pytest.raises(PathOutsideWorkspace, match=r"outside the workspace"):
        await tools["read_file"].invoke({"path": path})


async def test_absolute_path_outside_is_refused_and_inside_is_allowed(
    tools: dict[str, Tool], workspace: Path
) -> None:
    secret = workspace.parent / "outside" / "secret.txt"
    with pytest.raises(PathOutsideWorkspace):
        await tools["read_file"].invoke({"path": str(secret)})
    (workspace / "in.txt").write_text("inside")
    read = await tools["read_file"].invoke({"path": str(workspace / "in.txt")})
    assert read["content"] == "inside"


async def test_symlink_pointing_outside_is_refused_for_every_operation(
    tools: dict[str, Tool], workspace: Path
) -> None:
    secret = workspace.parent / "outside" / "secret.txt"
    (workspace / "link.txt").symlink_to(secret)
    (workspace / "linkdir").symlink_to(secret.parent, target_is_directory=True)
    calls = [
        ("read_file", {"path": "link.txt"}),
        ("read_file", {"path": "linkdir/secret.txt"}),
        ("write_file", {"path": "link.txt", "content": "overwritten"}),
        ("write_file", {"path": "linkdir/new.txt", "content": "escaped"}),
        ("copy_file", {"source_path": "link.txt", "destination_path": "copy.txt"}),
        ("list_files", {"path": "linkdir"}),
        ("parse_document", {"path": "link.txt"}),
    ]
    for name, args in calls:
        with pytest.raises(PathOutsideWorkspace):
            await tools[name].invoke(args)
    assert secret.read_text() == "top secret"
    assert not (secret.parent / "new.txt").exists()


async def test_symlink_inside_the_workspace_is_followed(
    tools: dict[str, Tool], workspace: Path
) -> None:
    (workspace / "real.txt").write_text("real")
    (workspace / "alias.txt").symlink_to(workspace / "real.txt")
    read = await tools["read_file"].invoke({"path": "alias.txt"})
    assert read["content"] == "real"


async def test_delete_removes_the_link_not_its_target(
    tools: dict[str, Tool], workspace: Path
) -> None:
    (workspace / "real.txt").write_text("real")
    (workspace / "alias.txt").symlink_to(workspace / "real.txt")
    result = await tools["delete_file"].invoke({"path": "alias.txt"})
    assert result["deleted"]
    assert not (workspace / "alias.txt").is_symlink()
    assert (workspace / "real.txt").read_text() == "real"


async def test_delete_is_idempotent_and_reports_a_missing_file(
    tools: dict[str, Tool], workspace: Path
) -> None:
    (workspace / "a.txt").write_text("x")
    first = await tools["delete_file"].invoke({"path": "a.txt"})
    again = await tools["delete_file"].invoke({"path": "a.txt"})
    assert (first["deleted"], again["deleted"]) == (True, False)
    with pytest.raises(WorkspaceFileError, match=r"no such file"):
        await tools["delete_file"].invoke({"path": "a.txt", "missing_ok": False})


async def test_delete_refuses_folders(tools: dict[str, Tool], workspace: Path) -> None:
    (workspace / "dir").mkdir()
    with pytest.raises(WorkspaceFileError, match=r"is a folder"):
        await tools["delete_file"].invoke({"path": "dir"})
    assert (workspace / "dir").is_dir()


async def test_move_renames_and_refuses_to_overwrite_unless_asked(
    tools: dict[str, Tool], workspace: Path
) -> None:
    (workspace / "a.txt").write_text("a")
    (workspace / "b.txt").write_text("b")
    moved = await tools["move_file"].invoke({"source_path": "a.txt", "destination_path": "x/c.txt"})
    assert moved == {"success": True, "new_path": "x/c.txt"}
    assert not (workspace / "a.txt").exists()
    with pytest.raises(WorkspaceFileError, match=r"already exists; pass overwrite=true"):
        await tools["move_file"].invoke({"source_path": "b.txt", "destination_path": "x/c.txt"})
    args = {"source_path": "b.txt", "destination_path": "x/c.txt", "overwrite": True}
    await tools["move_file"].invoke(args)
    assert (workspace / "x" / "c.txt").read_text() == "b"


async def test_move_of_a_missing_file_is_a_clear_error(tools: dict[str, Tool]) -> None:
    with pytest.raises(WorkspaceFileError, match=r"cannot move 'nope.txt': no such file"):
        await tools["move_file"].invoke({"source_path": "nope.txt", "destination_path": "b.txt"})


async def test_move_out_of_the_workspace_is_refused(
    tools: dict[str, Tool], workspace: Path
) -> None:
    (workspace / "a.txt").write_text("a")
    args = {"source_path": "a.txt", "destination_path": "../outside/a.txt"}
    with pytest.raises(PathOutsideWorkspace):
        await tools["move_file"].invoke(args)
    assert (workspace / "a.txt").exists()


async def test_copy_is_idempotent_for_an_identical_destination(
    tools: dict[str, Tool], workspace: Path
) -> None:
    (workspace / "a.txt").write_text("a")
    args = {"source_path": "a.txt", "destination_path": "b.txt"}
    first = await tools["copy_file"].invoke(args)
    second = await tools["copy_file"].invoke(args)
    assert (first["copied"], second["copied"]) == (True, False)
    (workspace / "b.txt").write_text("changed")
    with pytest.raises(WorkspaceFileError, match=r"already exists"):
        await tools["copy_file"].invoke(args)


async def test_list_files_globs_sorted_and_recursive(
    tools: dict[str, Tool], workspace: Path
) -> None:
    for name in ["b.md", "a.md", "c.txt", "sub/d.md"]:
        (workspace / name).parent.mkdir(exist_ok=True)
        (workspace / name).write_text(name)
    flat = await tools["list_files"].invoke({"pattern": "*.md"})
    deep = await tools["list_files"].invoke({"pattern": "*.md", "recursive": True})
    assert [e["path"] for e in flat["entries"]] == ["a.md", "b.md"]
    assert [e["path"] for e in deep["entries"]] == ["a.md", "b.md", "sub/d.md"]
    assert deep["entries"][0] == {**deep["entries"][0], "type": "file", "size": 4}


async def test_list_files_truncates_at_max_entries(tools: dict[str, Tool], workspace: Path) -> None:
    for i in range(5):
        (workspace / f"{i}.txt").write_text("x")
    listed = await tools["list_files"].invoke({"max_entries": 2})
    assert ([e["path"] for e in listed["entries"]], listed["truncated"]) == (
        ["0.txt", "1.txt"],
        True,
    )


async def test_list_files_skips_entries_linking_outside(
    tools: dict[str, Tool], workspace: Path
) -> None:
    (workspace / "ok.txt").write_text("x")
    (workspace / "escape").symlink_to(workspace.parent / "outside", target_is_directory=True)
    listed = await tools["list_files"].invoke({"pattern": "**/*"})
    assert [e["path"] for e in listed["entries"]] == ["ok.txt"]


@pytest.mark.parametrize("pattern", ["../*", "/etc/*", ""])
async def test_list_files_refuses_patterns_that_leave_the_folder(
    tools: dict[str, Tool], pattern: str
) -> None:
    with pytest.raises(UsageError, match=r"invalid pattern"):
        await tools["list_files"].invoke({"pattern": pattern})


async def test_missing_required_argument_names_the_field(tools: dict[str, Tool]) -> None:
    with pytest.raises(ToolInputInvalid, match=r"'content'"):
        await tools["write_file"].invoke({"path": "a.txt"})


def test_workspace_root_must_be_an_existing_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"is not a directory"):
        builtin_tools(tmp_path / "missing")


def test_contract_flags_match_the_effect_of_each_file_tool(tools: dict[str, Tool]) -> None:
    flags = {
        name: (tools[name].contract.side_effects, tools[name].contract.idempotent)
        for name in [
            "read_file",
            "list_files",
            "write_file",
            "delete_file",
            "copy_file",
            "append_file",
            "move_file",
        ]
    }
    assert flags == {
        "read_file": (False, True),
        "list_files": (False, True),
        "write_file": (True, True),
        "delete_file": (True, True),
        "copy_file": (True, True),
        "append_file": (True, False),
        "move_file": (True, False),
    }
    assert tools["move_file"].step_options().retry is not None  # NO_RETRY, not the default
    assert all(tools[name].contract.category == "files" for name in flags)


async def test_new_files_are_readable_by_others(tools: dict[str, Tool], workspace: Path) -> None:
    await tools["write_file"].invoke({"path": "a.txt", "content": "x"})
    assert os.stat(workspace / "a.txt").st_mode & 0o777 == 0o644
