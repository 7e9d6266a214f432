"""How schemas, parameters, bodies, names and auth are converted (no network)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from fluxio.errors import UsageError
from fluxio.tools import Tool
from fluxio.tools.openapi import AuthConfig, http_call_of, import_openapi

pytestmark = pytest.mark.anyio


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


async def tools_of(tmp_path: Path, body: str, version: str = "3.0.3") -> dict[str, Tool]:
    text = f'openapi: "{version}"\ninfo: {{title: t, version: "1.0"}}\n' + textwrap.dedent(body)
    found = await import_openapi(write(tmp_path, text), base_url="https://api.example.com")
    return {t.name: t for t in found}


def inputs(item: Tool) -> dict[str, Any]:
    return item.contract.input_schema


async def test_nullable_and_boolean_exclusive_bounds_become_json_schema(tmp_path: Path) -> None:
    tools = await tools_of(
        tmp_path,
        """
        paths:
          /a:
            get:
              operationId: a
              parameters:
                - {name: n, in: query, schema: {type: integer, minimum: 0, exclusiveMinimum: true}}
                - {name: s, in: query, schema: {type: string, nullable: true, enum: [x, y]}}
                - {name: o, in: query, schema: {nullable: true, allOf: [{type: string}]}}
              responses: {"200": {description: ok}}
        """,
    )
    props = inputs(tools["a"])["properties"]
    assert props["n"] == {"type": "integer", "exclusiveMinimum": 0}
    assert props["s"] == {"type": ["string", "null"], "enum": ["x", "y", None]}
    assert props["o"] == {"anyOf": [{"allOf": [{"type": "string"}]}, {"type": "null"}]}


async def test_recursive_schemas_are_cut_where_they_recur(tmp_path: Path) -> None:
    tools = await tools_of(
        tmp_path,
        """
        paths:
          /tree:
            get:
              operationId: tree
              responses:
                "200":
                  description: ok
                  content:
                    application/json: {schema: {$ref: "#/components/schemas/Node"}}
        components:
          schemas:
            Node:
              type: object
              properties:
                name: {type: string}
                children: {type: array, items: {$ref: "#/components/schemas/Node"}}
        """,
    )
    output = tools["tree"].contract.output_schema
    assert output is not None
    inner = output["properties"]["children"]["items"]
    assert inner == {
        "description": "recursive reference to #/components/schemas/Node, not expanded further"
    }


async def test_deep_reference_chains_stop_at_the_depth_cap(tmp_path: Path) -> None:
    link = "{{type: object, properties: {{next: {{$ref: '#/components/schemas/L{}'}}}}}}"
    levels = "\n".join(f"    L{i}: " + link.format(i + 1) for i in range(30))
    text = (
        "paths:\n  /deep:\n    get:\n      operationId: deep\n      responses:\n"
        '        "200":\n          description: ok\n          content:\n'
        "            application/json: {schema: {$ref: '#/components/schemas/L0'}}\n"
        f"components:\n  schemas:\n{levels}\n    L30: {{type: string}}\n"
    )
    tools = await tools_of(tmp_path, text)
    node = tools["deep"].contract.output_schema
    depth = 0
    while node is not None and "properties" in node:
        node, depth = node["properties"]["next"], depth + 1
    assert depth == 16
    assert node is not None
    assert "nested over 16 references deep" in node["description"]


async def test_relative_file_refs_resolve_against_the_referring_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        "Pet: {type: object, properties: {owner: {$ref: 'people.yaml#/Person'}}}\n",
        "models/pets.yaml",
    )
    write(
        tmp_path,
        "Person: {type: object, properties: {name: {type: string}}}\n",
        "models/people.yaml",
    )
    tools = await tools_of(
        tmp_path,
        """
        paths:
          /pets:
            post:
              operationId: addPet
              requestBody:
                content:
                  application/json: {schema: {$ref: "models/pets.yaml#/Pet"}}
              responses: {"201": {description: created}}
        """,
    )
    owner = inputs(tools["addPet"])["properties"]["owner"]
    assert owner == {"type": "object", "properties": {"name": {"type": "string"}}}


async def test_unquoted_status_codes_and_dates_are_read_as_text(tmp_path: Path) -> None:
    tools = await tools_of(
        tmp_path,
        """
        paths:
          /d:
            get:
              operationId: d
              parameters:
                - {name: since, in: query, schema: {type: string, default: 2024-01-01}}
              responses:
                200:
                  description: ok
                  content: {application/json: {schema: {type: integer}}}
                404: {description: missing}
        """,
    )
    assert tools["d"].contract.output_schema == {"type": "integer"}
    assert inputs(tools["d"])["properties"]["since"]["default"] == "2024-01-01"
    assert [(e.code, e.recoverable) for e in tools["d"].contract.errors] == [("http_404", False)]


async def test_openapi_31_schemas_pass_through(tmp_path: Path) -> None:
    tools = await tools_of(
        tmp_path,
        """
        paths:
          /a:
            get:
              operationId: a
              parameters:
                - {name: q, in: query, schema: {type: [string, "null"], examples: [x]}}
              responses: {"200": {description: ok}}
        """,
        version="3.1.0",
    )
    assert inputs(tools["a"])["properties"]["q"] == {"type": ["string", "null"]}


async def test_body_clashing_with_a_parameter_goes_whole_under_body(tmp_path: Path) -> None:
    tools = await tools_of(
        tmp_path,
        """
        paths:
          /pets/{id}:
            put:
              operationId: replace
              parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      required: [id]
                      properties: {id: {type: integer}, name: {type: string}}
              responses: {"200": {description: ok}}
        """,
    )
    schema = inputs(tools["replace"])
    assert schema["required"] == ["id", "body"]
    assert schema["properties"]["body"]["required"] == ["id"]
    binding = http_call_of(tools["replace"])
    assert binding is not None
    request = binding.build({"id": 3, "body": {"id": 3, "name": "Rex"}})
    assert (request.url, request.content) == (
        "https://api.example.com/pets/3",
        b'{"id":3,"name":"Rex"}',
    )


async def test_array_bodies_and_open_objects_stay_whole(tmp_path: Path) -> None:
    tools = await tools_of(
        tmp_path,
        """
        paths:
          /bulk:
            post:
              operationId: bulk
              requestBody:
                content: {application/json: {schema: {type: array, items: {type: string}}}}
              responses: {"200": {description: ok}}
          /meta:
            post:
              operationId: meta
              requestBody:
                content:
                  application/json:
                    schema:
                      type: object
                      properties: {a: {type: string}}
                      additionalProperties: true
              responses: {"200": {description: ok}}
        """,
    )
    assert list(inputs(tools["bulk"])["properties"]) == ["body"]
    assert list(inputs(tools["meta"])["properties"]) == ["body"]


async def test_same_name_in_two_places_is_renamed_and_reserved_headers_skipped(
    tmp_path: Path,
) -> None:
    tools = await tools_of(
        tmp_path,
        """
        paths:
          /items/{id}:
            get:
              operationId: item
              parameters:
                - {name: id, in: path, required: true, schema: {type: string}}
                - {name: id, in: header, schema: {type: string}}
                - {name: Accept, in: header, schema: {type: string}}
                - {name: session, in: cookie, schema: {type: string}}
              responses: {"200": {description: ok}}
        """,
    )
    assert list(inputs(tools["item"])["properties"]) == ["id", "header_id", "session"]
    binding = http_call_of(tools["item"])
    assert binding is not None
    request = binding.build({"id": "a", "header_id": "b", "session": "x y"})
    assert request.headers == {"id": "b", "Cookie": "session=x%20y"}


async def test_operation_parameters_override_path_level_ones(tmp_path: Path) -> None:
    tools = await tools_of(
        tmp_path,
        """
        paths:
          /a:
            parameters:
              - {name: q, in: query, description: shared, schema: {type: string}}
            get:
              operationId: a
              parameters:
                - {name: q, in: query, description: own, schema: {type: integer}}
              responses: {"200": {description: ok}}
            post:
              operationId: b
              responses: {"200": {description: ok}}
        """,
    )
    assert inputs(tools["a"])["properties"]["q"] == {"type": "integer", "description": "own"}
    assert inputs(tools["b"])["properties"]["q"] == {"type": "string", "description": "shared"}


async def test_names_are_generated_sanitized_and_unique(tmp_path: Path) -> None:
    tools = await tools_of(
        tmp_path,
        """
        paths:
          /a-b:
            get: {responses: {"200": {description: ok}}}
          /a_b:
            get: {responses: {"200": {description: ok}}}
          /:
            get: {operationId: "2fast", responses: {"200": {description: ok}}}
        """,
    )
    assert list(tools) == ["get_a-b", "get_a_b", "op_2fast"]


async def test_multipart_and_text_bodies_are_encoded(tmp_path: Path) -> None:
    tools = await tools_of(
        tmp_path,
        """
        paths:
          /upload:
            post:
              operationId: upload
              requestBody:
                content:
                  multipart/form-data:
                    schema: {type: object, properties: {title: {type: string}, n: {type: integer}}}
              responses: {"200": {description: ok}}
          /note:
            post:
              operationId: note
              requestBody: {content: {text/plain: {schema: {type: string}}}}
              responses: {"200": {description: ok}}
        """,
    )
    upload = http_call_of(tools["upload"])
    note = http_call_of(tools["note"])
    assert upload is not None
    assert note is not None
    request = upload.build({"title": "hi", "n": 2})
    boundary = request.headers["Content-Type"].split("boundary=")[1]
    assert request.content is not None
    assert (
        f'--{boundary}\r\nContent-Disposition: form-data; name="n"\r\n\r\n2\r\n'
        in request.content.decode()
    )
    assert note.build({"body": "plain words"}).content == b"plain words"


async def test_deprecated_operations_become_deprecated_tools(tmp_path: Path) -> None:
    tools = await tools_of(
        tmp_path,
        "paths:\n  /old:\n    get: {operationId: old, deprecated: true, responses: {}}\n",
    )
    assert tools["old"].contract.status == "deprecated"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bearer:TOKEN", AuthConfig("bearer", "TOKEN")),
        ("apikey:header:X-Key:KEY", AuthConfig("apikey", "KEY", name="X-Key")),
        ("apikey:query:key:KEY", AuthConfig("apikey", "KEY", name="key", location="query")),
        ("basic:U:P", AuthConfig("basic", "U", password_env="P")),
    ],
)
def test_auth_forms_parse(text: str, expected: AuthConfig) -> None:
    assert AuthConfig.parse(text) == expected


@pytest.mark.parametrize("text", ["bearer", "bearer:", "apikey:cookie:a:B", "basic:U", "token:X"])
def test_bad_auth_forms_are_refused_with_the_accepted_ones(text: str) -> None:
    with pytest.raises(UsageError, match=r"--auth .* is not understood; use bearer:ENV_VAR"):
        AuthConfig.parse(text)
