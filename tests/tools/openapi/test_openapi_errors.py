"""Invalid specs and broken references give one clear error naming what and where."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from fluxio.errors import DefinitionError, UsageError
from fluxio.tools.openapi import import_openapi

pytestmark = pytest.mark.anyio

PETSTORE = Path(__file__).parent / "specs" / "petstore.yaml"


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def spec_with(paths: str, components: str = "") -> str:
    head = 'openapi: "3.0.3"\ninfo: {title: t, version: "1.0"}\npaths:\n'
    return head + textwrap.indent(textwrap.dedent(paths), "  ") + textwrap.dedent(components)


async def test_text_that_is_not_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "openapi: 3.0.0\ninfo: [unclosed\npaths: {}\n")
    with pytest.raises(DefinitionError, match=r"spec\.yaml:\d+: not valid YAML or JSON"):
        await import_openapi(path)


async def test_broken_json_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '{\n  "openapi": "3.0.0",\n  "paths": {,}\n}\n', "spec.json")
    with pytest.raises(DefinitionError, match=r"spec\.json:3: not valid JSON"):
        await import_openapi(path)


async def test_a_document_without_openapi_field_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "info: {title: t}\npaths: {}\n")
    with pytest.raises(DefinitionError, match=r"not an OpenAPI 3\.x document: no 'openapi' field"):
        await import_openapi(path)


async def test_a_list_at_the_top_level_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "- openapi\n- 3.0.0\n")
    with pytest.raises(DefinitionError, match="the top level is list, expected a mapping"):
        await import_openapi(path)


async def test_swagger_2_is_refused_with_a_conversion_hint(tmp_path: Path) -> None:
    path = write(tmp_path, 'swagger: "2.0"\ninfo: {title: t, version: "1"}\npaths: {}\n')
    with pytest.raises(DefinitionError, match=r"Swagger 2\.0 document.*swagger2openapi"):
        await import_openapi(path)


@pytest.mark.parametrize("version", ["2.5", "4.0.0", "3"])
async def test_other_openapi_versions_are_refused(tmp_path: Path, version: str) -> None:
    path = write(tmp_path, f'openapi: "{version}"\ninfo: {{title: t, version: "1"}}\npaths: {{}}\n')
    with pytest.raises(DefinitionError, match=f"OpenAPI version '{version}' is not supported"):
        await import_openapi(path)


async def test_a_missing_file_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"no such OpenAPI file: missing\.yaml"):
        await import_openapi("missing.yaml")


async def test_broken_ref_names_the_pointer_the_operation_and_the_place(tmp_path: Path) -> None:
    paths = """
    /pets/{id}:
      get:
        operationId: getPet
        parameters:
          - {name: id, in: path, required: true, schema: {type: string}}
        responses:
          "200":
            description: ok
            content:
              application/json:
                schema: {$ref: "#/components/schemas/Pett"}
    """
    components = """
    components:
      schemas:
        Pet: {type: object}
    """
    path = write(tmp_path, spec_with(paths, components))
    with pytest.raises(DefinitionError) as caught:
        await import_openapi(path)
    message = str(caught.value)
    assert "broken $ref '#/components/schemas/Pett'" in message
    assert "in operation getPet (GET /pets/{id})" in message
    assert "paths./pets/{id}.get.responses.200.content.application/json.schema" in message
    assert "components/schemas has no 'Pett'" in message


async def test_broken_ref_to_a_missing_file_names_the_file(tmp_path: Path) -> None:
    paths = """
    /pets:
      post:
        operationId: addPet
        requestBody:
          content:
            application/json:
              schema: {$ref: "models/pet.yaml#/Pet"}
        responses: {"201": {description: created}}
    """
    path = write(tmp_path, spec_with(paths))
    with pytest.raises(
        DefinitionError,
        match=r"broken \$ref 'models/pet.yaml#/Pet' in operation addPet.*no such OpenAPI file",
    ):
        await import_openapi(path)


async def test_broken_ref_in_a_shared_parameter_is_reported(tmp_path: Path) -> None:
    paths = """
    /pets:
      parameters:
        - $ref: "#/components/parameters/Limit"
      get:
        operationId: listPets
        responses: {"200": {description: ok}}
    """
    path = write(tmp_path, spec_with(paths, "\ncomponents: {parameters: {}}\n"))
    with pytest.raises(
        DefinitionError,
        match=r"'#/components/parameters/Limit' in operation listPets .* "
        r"at paths\./pets\.parameters\.0",
    ):
        await import_openapi(path)


async def test_a_reference_loop_is_an_error_not_a_hang(tmp_path: Path) -> None:
    paths = """
    /a:
      get:
        operationId: loop
        parameters: [{$ref: "#/components/parameters/A"}]
        responses: {"200": {description: ok}}
    """
    components = """
    components:
      parameters:
        A: {$ref: "#/components/parameters/B"}
        B: {$ref: "#/components/parameters/A"}
    """
    path = write(tmp_path, spec_with(paths, components))
    with pytest.raises(DefinitionError, match="points back to itself"):
        await import_openapi(path)


async def test_duplicate_operation_ids_are_refused(tmp_path: Path) -> None:
    paths = """
    /a:
      get: {operationId: fetch, responses: {"200": {description: ok}}}
    /b:
      get: {operationId: fetch, responses: {"200": {description: ok}}}
    """
    path = write(tmp_path, spec_with(paths))
    with pytest.raises(
        DefinitionError, match=r"operationId 'fetch' is used by both GET /a and GET /b.*unique"
    ):
        await import_openapi(path)


async def test_operation_ids_that_sanitize_to_one_name_are_refused(tmp_path: Path) -> None:
    paths = """
    /a:
      get: {operationId: "pets.list", responses: {"200": {description: ok}}}
    /b:
      get: {operationId: "pets list", responses: {"200": {description: ok}}}
    """
    path = write(tmp_path, spec_with(paths))
    with pytest.raises(DefinitionError, match="both become the tool name 'pets_list'"):
        await import_openapi(path)


async def test_a_spec_whose_schema_is_not_json_schema_names_the_operation(tmp_path: Path) -> None:
    paths = """
    /a:
      get:
        operationId: weird
        parameters:
          - {name: n, in: query, schema: {type: integer, minimum: "low"}}
        responses: {"200": {description: ok}}
    """
    path = write(tmp_path, spec_with(paths))
    with pytest.raises(DefinitionError, match=r"operation weird \(GET /a\) cannot become a tool"):
        await import_openapi(path)


async def test_json_spec_file_with_yaml_content_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}}))
    assert await import_openapi(path) == []


async def test_the_stored_petstore_is_not_modified_by_a_failed_import(tmp_path: Path) -> None:
    before = PETSTORE.read_bytes()
    with pytest.raises(DefinitionError):
        await import_openapi(write(tmp_path, "openapi: '9'\n"))
    assert PETSTORE.read_bytes() == before
