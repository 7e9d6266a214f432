"""Real public specs (the OpenAPI Initiative's examples) import completely and correctly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fluxio.errors import StepFailed
from fluxio.tools import ToolContract
from fluxio.tools.openapi import http_call_of, import_openapi, register_openapi
from fluxio.tools.registry import ToolRegistry

pytestmark = pytest.mark.anyio

SPECS = Path(__file__).parent / "specs"

EXPECTED = {
    "petstore.yaml": ["listPets", "createPets", "showPetById"],
    "petstore-expanded.yaml": ["findPets", "addPet", "find_pet_by_id", "deletePet"],
    "uspto.yaml": ["list-data-sets", "list-searchable-fields", "perform-search"],
    "link-example.yaml": [
        "getUserByName",
        "getRepositoriesByOwner",
        "getRepository",
        "getPullRequestsByRepository",
        "getPullRequestsById",
        "mergePullRequest",
    ],
    "api-with-examples.yaml": ["listVersionsv2", "getVersionDetailsv2"],
    "callback-example.yaml": ["post_streams"],
}


@pytest.mark.parametrize("spec", sorted(EXPECTED))
async def test_every_operation_of_a_public_spec_imports(spec: str) -> None:
    tools = await import_openapi(SPECS / spec)
    assert [t.name for t in tools] == EXPECTED[spec]
    for item in tools:
        assert item.contract.type == "atomic"
        assert item.contract.input_schema["type"] == "object"
        assert ToolContract.model_validate(item.contract.model_dump()) == item.contract
        json.dumps(item.definition())  # what a model receives is plain JSON


async def test_all_stored_specs_give_nineteen_tools() -> None:
    total = sum([len(await import_openapi(SPECS / spec)) for spec in EXPECTED])
    assert total == 19


async def test_petstore_contract_follows_the_spec() -> None:
    tools = {t.name: t for t in await import_openapi(SPECS / "petstore.yaml", prefix="pets_")}
    listing, create, show = (
        tools["pets_listPets"],
        tools["pets_createPets"],
        tools["pets_showPetById"],
    )
    assert listing.description == "List all pets"
    assert listing.contract.category == "pets"
    assert listing.contract.tags == ("pets", "openapi")
    assert listing.contract.input_schema["properties"]["limit"]["maximum"] == 100
    assert listing.contract.output_schema is not None
    assert listing.contract.output_schema["items"]["required"] == ["id", "name"]
    assert create.contract.input_schema["required"] == ["id", "name"]  # flattened Pet body
    assert (create.contract.side_effects, create.contract.idempotent) == (True, False)
    assert show.contract.input_schema["required"] == ["petId"]
    assert [e.code for e in show.contract.errors] == ["http_default"]
    binding = http_call_of(show)
    assert binding is not None
    assert binding.base_url == "http://petstore.swagger.io/v1"


async def test_allof_body_stays_whole_and_delete_is_idempotent() -> None:
    tools = {t.name: t for t in await import_openapi(SPECS / "petstore-expanded.yaml")}
    found = tools["find_pet_by_id"].contract.output_schema
    assert found is not None
    assert len(found["allOf"]) == 2
    delete = tools["deletePet"].contract
    assert (delete.side_effects, delete.idempotent, delete.output_schema) == (True, True, None)


async def test_server_variables_take_their_defaults_and_form_bodies_flatten() -> None:
    tools = {t.name: t for t in await import_openapi(SPECS / "uspto.yaml")}
    search = http_call_of(tools["perform-search"])
    assert search is not None
    assert search.base_url == "https://developer.uspto.gov/ds-api"
    request = search.build(
        {"dataset": "oa_citations", "version": "v1", "criteria": "*:*", "rows": 5}
    )
    assert request.url == "https://developer.uspto.gov/ds-api/oa_citations/v1/records"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.content == b"criteria=%2A%3A%2A&rows=5"
    assert tools["perform-search"].contract.category == "search"


async def test_array_query_parameters_explode_and_path_values_are_encoded() -> None:
    tools = {t.name: t for t in await import_openapi(SPECS / "petstore-expanded.yaml")}
    find = http_call_of(tools["findPets"])
    by_id = http_call_of(tools["find_pet_by_id"])
    assert find is not None
    assert by_id is not None
    assert find.build({"tags": ["a", "b"], "limit": 3}).params == {"tags": ["a", "b"], "limit": "3"}
    assert by_id.build({"id": 7}).url == "https://petstore.swagger.io/v2/pets/7"


async def test_specs_without_servers_need_a_base_url() -> None:
    plain = {t.name: t for t in await import_openapi(SPECS / "link-example.yaml")}
    binding = http_call_of(plain["getRepository"])
    assert binding is not None
    assert binding.base_url is None
    with pytest.raises(StepFailed, match=r"no server URL.*base_url") as caught:
        await plain["getRepository"].invoke({"username": "ada", "slug": "engine"})
    assert caught.value.retryable is False
    based = await import_openapi(SPECS / "link-example.yaml", base_url="https://api.example.com")
    bound = http_call_of(based[2])
    assert bound is not None
    request = bound.build({"username": "a b", "slug": "x/y"})
    assert request.url == "https://api.example.com/2.0/repositories/a%20b/x%2Fy"


async def test_register_openapi_makes_the_tools_discoverable() -> None:
    registry = ToolRegistry()
    await register_openapi(registry, SPECS / "uspto.yaml", prefix="uspto_")
    assert registry.names() == sorted(f"uspto_{n}" for n in EXPECTED["uspto.yaml"])
    found = registry.search(category="metadata")
    assert sorted(t.name for t in found) == ["uspto_list-data-sets", "uspto_list-searchable-fields"]


async def test_json_specs_import_like_yaml(tmp_path: Path) -> None:
    data = yaml.safe_load((SPECS / "petstore.yaml").read_text())
    path = tmp_path / "petstore.json"
    path.write_text(json.dumps(data, indent=2))
    assert [t.name for t in await import_openapi(path)] == EXPECTED["petstore.yaml"]
