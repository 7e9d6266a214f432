"""Import a live service's own OpenAPI document over HTTP and call its operations."""

from __future__ import annotations

import socket

import pytest
from openapi_service import Service

from fluxio.errors import StepFailed, ToolInputInvalid, UsageError
from fluxio.tools import Tool
from fluxio.tools.openapi import AuthConfig, http_call_of, import_openapi
from fluxio.tools.outbound import OutboundRefused

pytestmark = pytest.mark.anyio


async def _tools(service: Service, **options: object) -> dict[str, Tool]:
    tools = await import_openapi(service.spec_url, client=service.client, **options)  # type: ignore[arg-type]
    return {t.name: t for t in tools}


async def test_every_operation_of_the_served_spec_becomes_a_tool(service: Service) -> None:
    tools = await _tools(service)
    assert sorted(tools) == [
        "create_pet", "delete_pet", "get_pet", "greeting", "limited", "list_pets",
        "maintenance", "moved", "read_file", "search", "whoami",
    ]  # fmt: skip
    binding = http_call_of(tools["get_pet"])
    assert binding is not None
    assert binding.base_url == f"{service.url}/"  # no 'servers': the spec's own origin
    assert tools["get_pet"].version == "2.1.0"
    assert tools["list_pets"].contract.category == "pets"


async def test_get_operation_returns_the_json_result(service: Service) -> None:
    tools = await _tools(service)
    assert await tools["list_pets"].invoke({"limit": 5}) == [{"id": 1, "name": "Rex", "tag": "dog"}]
    assert await tools["list_pets"].invoke({"tag": "cat"}) == []


async def test_post_operation_sends_the_flattened_json_body(service: Service) -> None:
    tools = await _tools(service)
    created = await tools["create_pet"].invoke({"name": "Tom", "tag": "cat"})
    assert created == {"id": 2, "name": "Tom", "tag": "cat"}
    assert await tools["get_pet"].invoke({"pet_id": 2}) == created


async def test_delete_returns_none_for_an_empty_answer(service: Service) -> None:
    tools = await _tools(service)
    assert await tools["delete_pet"].invoke({"pet_id": 1}) is None
    assert await tools["list_pets"].invoke({}) == []


async def test_http_semantics_decide_side_effects_and_idempotence(service: Service) -> None:
    tools = await _tools(service)
    get, post, delete = (tools[n].contract for n in ("get_pet", "create_pet", "delete_pet"))
    assert (get.side_effects, get.idempotent) == (False, True)
    assert (post.side_effects, post.idempotent) == (True, False)
    assert (delete.side_effects, delete.idempotent) == (True, True)
    assert tools["create_pet"].step_options().needs_intent


async def test_404_fails_without_retry_and_carries_the_server_message(service: Service) -> None:
    tools = await _tools(service)
    with pytest.raises(StepFailed) as caught:
        await tools["get_pet"].invoke({"pet_id": 99})
    assert caught.value.retryable is False
    assert caught.value.error_type == "http_404"
    assert "answered 404 Not Found: pet 99 not found" in caught.value.message


async def test_503_is_retryable_and_honours_retry_after(service: Service) -> None:
    tools = await _tools(service)
    with pytest.raises(StepFailed) as caught:
        await tools["maintenance"].invoke({})
    assert caught.value.retryable is True
    assert caught.value.retry_after == 7.0
    assert "down for maintenance" in caught.value.message


async def test_429_is_retryable(service: Service) -> None:
    tools = await _tools(service)
    with pytest.raises(StepFailed) as caught:
        await tools["limited"].invoke({})
    assert (caught.value.retryable, caught.value.error_type) == (True, "http_429")
    assert "slow down" in caught.value.message


async def test_path_values_are_url_encoded(service: Service) -> None:
    tools = await _tools(service)
    assert await tools["read_file"].invoke({"name": "a b/c?d#e"}) == {"name": "a b/c?d#e"}


async def test_array_query_parameters_repeat_the_key(service: Service) -> None:
    tools = await _tools(service)
    assert await tools["search"].invoke({"tags": ["x", "y z"]}) == {"tags": ["x", "y z"]}


async def test_text_answers_come_back_as_text(service: Service) -> None:
    tools = await _tools(service)
    assert await tools["greeting"].invoke({}) == "hello there"


async def test_arguments_are_checked_against_the_input_schema(service: Service) -> None:
    tools = await _tools(service)
    with pytest.raises(ToolInputInvalid, match="pet_id"):
        await tools["get_pet"].invoke({})
    with pytest.raises(ToolInputInvalid, match="limit"):
        await tools["list_pets"].invoke({"limit": "many"})


async def test_header_parameters_are_sent(service: Service) -> None:
    tools = await _tools(service)
    seen = await tools["whoami"].invoke({"x-trace": "abc"})
    assert seen["trace"] == "abc"


async def test_bearer_token_is_read_from_the_environment(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PETS_TOKEN", "s3cret")
    tools = await _tools(service, auth=AuthConfig.bearer("PETS_TOKEN"))
    assert (await tools["whoami"].invoke({}))["authorization"] == "Bearer s3cret"
    assert "s3cret" not in tools["whoami"].contract.model_dump_json()


async def test_api_key_goes_in_the_named_header_or_query(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PETS_KEY", "k-123")
    in_header = await _tools(service, auth=AuthConfig.parse("apikey:header:X-API-Key:PETS_KEY"))
    assert (await in_header["whoami"].invoke({}))["api_key"] == "k-123"
    in_query = await _tools(service, auth=AuthConfig.parse("apikey:query:key:PETS_KEY"))
    assert (await in_query["whoami"].invoke({}))["api_key"] == "k-123"


async def test_basic_auth_combines_two_variables(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PETS_USER", "ada")
    monkeypatch.setenv("PETS_PASS", "pw")
    tools = await _tools(service, auth=AuthConfig.parse("basic:PETS_USER:PETS_PASS"))
    assert (await tools["whoami"].invoke({}))["basic_user"] == "ada"


async def test_missing_secret_fails_the_call_naming_the_variable(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PETS_TOKEN", raising=False)
    tools = await _tools(service, auth=AuthConfig.bearer("PETS_TOKEN"))
    with pytest.raises(StepFailed, match=r"\$PETS_TOKEN is not set") as caught:
        await tools["whoami"].invoke({})
    assert caught.value.retryable is False


async def test_base_url_option_overrides_the_spec(service: Service) -> None:
    tools = await _tools(service, base_url=f"{service.url}/nowhere")
    with pytest.raises(StepFailed, match="404"):
        await tools["list_pets"].invoke({})


async def test_default_client_refuses_loopback_specs() -> None:
    with pytest.raises(OutboundRefused, match="loopback"):
        await import_openapi("http://127.0.0.1:9/openapi.json")


async def test_missing_spec_url_is_a_clear_error(service: Service) -> None:
    with pytest.raises(UsageError, match="answered 404; check the URL"):
        await import_openapi(f"{service.url}/nope.json", client=service.client)


async def test_tools_without_a_client_refuse_loopback_calls(service: Service) -> None:
    tools = {t.name: t for t in await import_openapi(service.spec_url, client=service.client)}
    binding = http_call_of(tools["list_pets"])
    assert binding is not None
    unguarded = Tool(
        contract=tools["list_pets"].contract,
        fn=type(binding)(binding.operation, binding.base_url).send,
    )
    with pytest.raises(OutboundRefused):
        await unguarded.invoke({})


async def test_redirects_are_followed_without_an_api_key(service: Service) -> None:
    tools = await _tools(service)
    assert await tools["moved"].invoke({}) == [{"id": 1, "name": "Rex", "tag": "dog"}]


async def test_redirects_are_not_followed_with_an_api_key_header(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PETS_KEY", "k-123")
    tools = await _tools(service, auth=AuthConfig.api_key("X-API-Key", "PETS_KEY"))
    with pytest.raises(StepFailed, match="answered 307") as caught:
        await tools["moved"].invoke({})
    assert caught.value.retryable is False


async def test_an_api_key_in_the_query_never_appears_in_errors(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PETS_KEY", "k-secret-123")
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    auth = AuthConfig.api_key("key", "PETS_KEY", "query")
    tools = await _tools(service, auth=auth, base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(StepFailed, match="could not connect") as caught:
        await tools["list_pets"].invoke({})
    assert caught.value.retryable is True
    assert "k-secret-123" not in str(caught.value)
    assert "key=***" in str(caught.value)
