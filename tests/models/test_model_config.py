"""Building models from config and env vars; optional extras fail with an install hint."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fluxio.errors import UsageError
from fluxio.models import (
    AnthropicModel,
    LlamaCppModel,
    OpenAIModel,
    Price,
    model_from_config,
    model_from_env,
    parse_spec,
)

pytestmark = pytest.mark.anyio


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_importing_fluxio_models_imports_no_provider_sdk() -> None:
    done = run_python(
        """
        import sys
        import fluxio.models, fluxio.testing
        loaded = [m for m in ("openai", "anthropic", "llama_cpp") if m in sys.modules]
        assert not loaded, loaded
        """
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("module", "construct", "extra"),
    [
        ("openai", "OpenAIModel('gpt-4o-mini', api_key='k')", "openai"),
        ("anthropic", "AnthropicModel('claude-3-5-haiku-latest', api_key='k')", "anthropic"),
    ],
)
def test_a_provider_without_its_package_names_the_extra_to_install(
    module: str, construct: str, extra: str
) -> None:
    done = run_python(
        f"""
        import sys
        sys.modules[{module!r}] = None  # as if the package were not installed
        from fluxio.errors import UsageError
        from fluxio.models import AnthropicModel, OpenAIModel
        try:
            {construct}
        except UsageError as exc:
            print(exc)
        """
    )
    assert done.returncode == 0, done.stderr
    assert f"pip install 'fluxio[{extra}]'" in done.stdout


def test_local_llama_cpp_without_its_package_names_the_extra(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"pip install 'fluxio\[llamacpp\]'"):
        LlamaCppModel(tmp_path / "model.gguf")


@pytest.mark.parametrize(
    ("spec", "provider", "model", "base_url"),
    [
        ("openai:gpt-4o-mini", "openai", "gpt-4o-mini", None),
        ("gpt-4o-mini", "openai", "gpt-4o-mini", None),
        ("anthropic:claude-3-5-haiku-latest", "anthropic", "claude-3-5-haiku-latest", None),
        ("ollama:llama3.2", "ollama", "llama3.2", None),
        ("llamacpp:/models/smol.gguf", "llamacpp", "/models/smol.gguf", None),
        ("http://127.0.0.1:8080/v1", "openai", "default", "http://127.0.0.1:8080/v1"),
    ],
)
def test_spec_strings(spec: str, provider: str, model: str, base_url: str | None) -> None:
    config = parse_spec(spec)
    assert (config.provider, config.model, config.base_url) == (provider, model, base_url)


def test_an_unknown_provider_is_refused_with_the_choices() -> None:
    with pytest.raises(UsageError, match="use openai, anthropic, ollama or llamacpp"):
        parse_spec("cohere:command")


async def test_config_mapping_builds_an_openai_compatible_model_with_prices() -> None:
    model = model_from_config(
        {
            "provider": "openai",
            "model": "qwen2.5",
            "base_url": "http://127.0.0.1:8000/v1",
            "api_key_env": "VLLM_KEY",
            "prices": {"qwen2.5": {"input": 0.1, "output": 0.2}},
            "name": "local-qwen",
        },
        env={"VLLM_KEY": "secret"},
    )
    assert isinstance(model, OpenAIModel)
    assert (model.name, model.model, model.base_url) == (
        "local-qwen",
        "qwen2.5",
        "http://127.0.0.1:8000/v1",
    )
    assert model.prices.price_of("qwen2.5") == Price(0.1, 0.2)
    assert model._client.api_key == "secret"
    await model.aclose()


async def test_ollama_needs_no_key_and_defaults_to_localhost() -> None:
    model = model_from_config("ollama:llama3.2", env={})
    assert isinstance(model, OpenAIModel)
    assert model.base_url == "http://localhost:11434/v1"
    await model.aclose()


async def test_a_local_url_never_gets_the_processes_openai_key() -> None:
    model = model_from_config({"base_url": "http://127.0.0.1:8080/v1"}, env={})
    assert isinstance(model, OpenAIModel)
    assert model._client.api_key == "unused"
    await model.aclose()


def test_hosted_openai_without_a_key_says_how_to_configure() -> None:
    with pytest.raises(UsageError, match="set OPENAI_API_KEY"):
        model_from_config("openai:gpt-4o-mini", env={})


def test_a_named_key_variable_that_is_unset_is_refused() -> None:
    with pytest.raises(UsageError, match=r"api_key_env 'MY_KEY'.*not set"):
        model_from_config({"model": "m", "api_key_env": "MY_KEY"}, env={})


def test_unknown_config_fields_are_refused_by_name() -> None:
    with pytest.raises(UsageError, match="invalid model config: temprature: Extra inputs"):
        model_from_config({"model": "m", "temprature": 0.2}, env={})


async def test_env_vars_build_the_configured_model() -> None:
    env = {
        "FLUXIO_MODEL": "anthropic:claude-3-5-haiku-latest",
        "ANTHROPIC_API_KEY": "ak",
    }
    model = model_from_env(env)
    assert isinstance(model, AnthropicModel)
    assert model.model == "claude-3-5-haiku-latest"
    await model.aclose()
    local = model_from_env(
        {"FLUXIO_MODEL_BASE_URL": "http://127.0.0.1:8080/v1", "FLUXIO_MODEL": "smollm2"}
    )
    assert isinstance(local, OpenAIModel)
    assert (local.model, local.base_url) == ("smollm2", "http://127.0.0.1:8080/v1")
    await local.aclose()


async def test_fluxio_model_api_key_wins_over_the_providers_variable() -> None:
    env = {"FLUXIO_MODEL": "gpt-4o", "FLUXIO_MODEL_API_KEY": "a", "OPENAI_API_KEY": "b"}
    model = model_from_env(env)
    assert isinstance(model, OpenAIModel)
    assert model._client.api_key == "a"
    await model.aclose()


def test_no_model_configured_explains_every_option() -> None:
    with pytest.raises(UsageError) as caught:
        model_from_env({})
    message = str(caught.value)
    for option in ("OPENAI_API_KEY", "ollama:", "FLUXIO_MODEL_BASE_URL", "llamacpp:"):
        assert option in message
