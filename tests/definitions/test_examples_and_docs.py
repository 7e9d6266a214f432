"""The shipped examples and the docs/yaml.md example run, offline, on the real engine."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from fluxio import Engine, RunStatus
from fluxio.definitions import ToolRegistry, load_workflow
from fluxio.store.memory import MemoryStore

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.anyio


async def test_hello_example(example_tools: ToolRegistry, engine: Engine) -> None:
    workflow = load_workflow(ROOT / "examples/hello.yaml", tools=example_tools)
    engine.register(workflow)
    result = await engine.run("hello", {"name": "Ada"})
    assert result == {"message": "Hello, Ada!\nBonjour, Ada !"}


ORDER = {"order_id": 7, "customer": "ada", "items": [{"sku": "gizmo", "quantity": 2}]}


async def test_order_approval_example_approve_and_reject(
    example_tools: ToolRegistry, engine: Engine
) -> None:
    workflow = load_workflow(str(ROOT / "examples/order_approval.yaml"), tools=example_tools)
    engine.register(workflow)
    small = await engine.run("order_approval", {**ORDER, "items": [{"sku": "widget"}]})
    assert small["total"] == 25.0
    assert small["charge_id"].startswith("ch_")
    assert small["rejected"] is False

    approved = await engine.start("order_approval", ORDER)
    rejected = await engine.start("order_approval", ORDER)
    await engine.drive()
    for run in (approved, rejected):
        assert (await engine.get(run.run_id)).status is RunStatus.WAITING
    await engine.signal(approved.run_id, "approval:manager_approval", {"decision": "approve"})
    await engine.signal(
        rejected.run_id, "approval:manager_approval", {"decision": "reject", "note": "no"}
    )
    result = await engine.result(approved.run_id)
    assert result["total"] == 1800.0
    assert result["receipt"].startswith("Dear ada")
    result = await engine.result(rejected.run_id)
    assert result["charge_id"] is None
    assert result["rejected"] is True
    assert "charge: tool: charge_card; after reserve_stock" in workflow.describe()
    assert "manager_approval -. on error .-> notify_rejection" in workflow.to_mermaid()


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


async def test_docs_yaml_example_is_the_embedded_yaml_and_runs() -> None:
    text = (ROOT / "docs/yaml.md").read_text()
    yaml_blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
    blocks = _python_blocks(text)
    assert len(yaml_blocks) == 1
    assert len(blocks) == 1
    assert yaml_blocks[0].strip() in blocks[0], "the python block must embed the yaml block"
    code = compile(blocks[0], "docs/yaml.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    namespace: dict[str, object] = {}
    result = eval(code, namespace)
    if result is not None:
        await result
    assert isinstance(namespace["engine"], Engine)
    assert isinstance(namespace["engine"].store, MemoryStore)
