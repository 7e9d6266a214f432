"""``fluxio tools import-openapi``: import, list, save; bad input gives one clean error."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from fluxio.cli.main import app
from fluxio.errors import DefinitionError
from fluxio.tools.openapi import load_saved_imports

SPECS = Path(__file__).parent / "specs"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def fluxio(*args: str) -> Result:
    return CliRunner().invoke(app, ["tools", "import-openapi", *args], env={"COLUMNS": "200"})


def assert_clean_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output


def test_import_lists_every_operation_of_a_spec_file() -> None:
    result = fluxio(str(SPECS / "petstore-expanded.yaml"), "--prefix", "store_")
    assert result.exit_code == 0, result.output
    assert "imported 4 tools" in result.output
    for name in ("store_findPets", "store_addPet", "store_find_pet_by_id", "store_deletePet"):
        assert name in result.output
    assert "DELETE" in result.output
    assert "yes, idempotent" in result.output


def test_import_from_a_live_service_url_with_an_allowed_host(threaded_service: str) -> None:
    result = fluxio(f"{threaded_service}/openapi.json", "--allow-host", "127.0.0.1")
    assert result.exit_code == 0, result.output
    assert "imported 11 tools" in result.output
    assert "/pets/{pet_id}" in result.output


def test_loopback_urls_are_refused_without_allow_host(threaded_service: str) -> None:
    result = fluxio(f"{threaded_service}/openapi.json")
    assert_clean_error(result, "loopback", "allow_hosts")


def test_save_writes_an_import_that_loads_again(tmp_path: Path) -> None:
    result = fluxio(
        str(SPECS / "petstore.yaml"), "--prefix", "p_", "--auth", "bearer:PET_TOKEN",
        "--save", ".fluxio/openapi",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    saved = tmp_path / ".fluxio" / "openapi" / "p_petstore.openapi.yaml"
    record = yaml.safe_load(saved.read_text())["openapi_import"]
    assert record["auth"] == "bearer:PET_TOKEN"
    assert record["tools"] == ["p_listPets", "p_createPets", "p_showPetById"]
    tools = asyncio.run(load_saved_imports(saved.parent))
    assert [t.name for t in tools] == record["tools"]


def test_a_spec_with_no_servers_says_to_give_a_base_url() -> None:
    result = fluxio(str(SPECS / "link-example.yaml"))
    assert result.exit_code == 0, result.output
    assert "give --base-url" in result.output
    assert (
        "give --base-url"
        not in fluxio(str(SPECS / "link-example.yaml"), "--base-url", "https://x.example").output
    )


def test_a_broken_ref_is_one_clean_error(tmp_path: Path) -> None:
    spec = tmp_path / "broken.yaml"
    spec.write_text(
        textwrap.dedent(
            """
            openapi: 3.0.0
            info: {title: t, version: "1"}
            paths:
              /a:
                get:
                  operationId: getA
                  responses:
                    "200": {$ref: "#/components/responses/Missing"}
            """
        )
    )
    assert_clean_error(fluxio(str(spec)), "broken $ref '#/components/responses/Missing'", "getA")


def test_swagger_2_is_one_clean_error(tmp_path: Path) -> None:
    spec = tmp_path / "old.json"
    spec.write_text('{"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {}}')
    assert_clean_error(fluxio(str(spec)), "Swagger 2.0 document", "swagger2openapi")


def test_an_unknown_auth_form_is_one_clean_error() -> None:
    result = fluxio(str(SPECS / "petstore.yaml"), "--auth", "token:X")
    assert_clean_error(result, "--auth 'token:X' is not understood")


def test_a_malformed_saved_import_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / "x.openapi.yaml").write_text("openapi_import: {prefix: a}\n")
    with pytest.raises(DefinitionError, match=r"x\.openapi\.yaml: not a saved OpenAPI import"):
        asyncio.run(load_saved_imports(folder))
