"""Imported OpenAPI tools inside durable runs: each call is a journaled step."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_service import Service

from fluxio import Engine, RunContext, RunFailed
from fluxio.store.base import Store
from fluxio.store.records import EntryKind
from fluxio.tools import call_tool
from fluxio.tools.openapi import import_openapi

pytestmark = pytest.mark.anyio


async def test_imported_tools_run_as_journaled_steps(service: Service, store: Store) -> None:
    tools = {t.name: t for t in await import_openapi(service.spec_url, client=service.client)}

    async def adopt(ctx: RunContext, name: str) -> Any:
        pet = await call_tool(ctx, tools["create_pet"], {"name": name})
        return await call_tool(ctx, tools["get_pet"], {"pet_id": pet["id"]})

    engine = Engine(store, workflows={"adopt": adopt})
    assert await engine.run("adopt", "Kit") == {"id": 2, "name": "Kit", "tag": None}
    run = (await engine.list_runs())[0]
    outcomes = [e for e in await engine.journal(run.run_id) if e.kind is EntryKind.OUTCOME]
    assert [e.name for e in outcomes] == ["tool:create_pet", "tool:get_pet"]


async def test_a_404_fails_the_run_after_a_single_attempt(service: Service, store: Store) -> None:
    tools = {t.name: t for t in await import_openapi(service.spec_url, client=service.client)}

    async def lookup(ctx: RunContext, pet_id: int) -> Any:
        return await call_tool(ctx, tools["get_pet"], {"pet_id": pet_id})

    engine = Engine(store, workflows={"lookup": lookup})
    with pytest.raises(RunFailed, match="pet 42 not found"):
        await engine.run("lookup", 42)
    run = (await engine.list_runs())[0]
    (outcome,) = [e for e in await engine.journal(run.run_id) if e.kind is EntryKind.OUTCOME]
    assert (outcome.ok, outcome.attempts) == (False, 1)
