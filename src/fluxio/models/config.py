"""Building a model from settings: a mapping (YAML/JSON config), a spec string, or env vars.

Spec strings: ``openai:gpt-4o-mini``, ``anthropic:claude-3-5-haiku-latest``,
``ollama:llama3.2`` (an OpenAI-compatible Ollama on localhost:11434), ``llamacpp:/m.gguf``
(in-process), or a URL ``http://127.0.0.1:8080/v1`` (any OpenAI-compatible server). A bare
model id means ``openai:<id>``.

Environment: ``FLUXIO_MODEL`` (a spec), ``FLUXIO_MODEL_BASE_URL`` (overrides the URL),
``FLUXIO_MODEL_API_KEY``, else ``OPENAI_API_KEY`` / ``ANTHROPIC_API_KEY``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from fluxio.errors import UsageError
from fluxio.models.port import Model
from fluxio.models.pricing import DEFAULT_PRICES, PriceTable
from fluxio.models.providers import AnthropicModel, LlamaCppModel, OpenAIModel

__all__ = ["CONFIGURE_A_MODEL", "ModelConfig", "model_from_config", "model_from_env", "parse_spec"]

Provider = Literal["openai", "anthropic", "ollama", "llamacpp"]
OLLAMA_URL = "http://localhost:11434/v1"
_KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}

CONFIGURE_A_MODEL = """\
No model is configured. Set one of these, then try again:
  FLUXIO_MODEL=openai:gpt-4o-mini          with OPENAI_API_KEY=sk-...
  FLUXIO_MODEL=anthropic:claude-3-5-haiku-latest   with ANTHROPIC_API_KEY=...
  FLUXIO_MODEL=ollama:llama3.2             (Ollama running on localhost:11434)
  FLUXIO_MODEL_BASE_URL=http://127.0.0.1:8080/v1   (any OpenAI-compatible server: llama.cpp, vLLM)
  FLUXIO_MODEL=llamacpp:/path/to/model.gguf        (in-process; pip install 'fluxio[llamacpp]')"""
"""What to tell a user who has no model configured."""


class ModelConfig(BaseModel):
    """A model's settings, as written in a config file.

    Args:
        provider: ``openai`` (any OpenAI-compatible URL), ``anthropic``, ``ollama``,
            ``llamacpp`` (in-process GGUF).
        model: the model id; for ``llamacpp`` the ``.gguf`` path.
        base_url: the server URL (OpenAI-compatible ``/v1`` or Anthropic's).
        api_key: the key itself (prefer ``api_key_env``).
        api_key_env: the environment variable holding the key.
        name: the model's name in the journal.
        timeout: seconds per request.
        max_tokens: default answer limit (Anthropic needs one).
        prices: model id → ``{input, output}`` USD per million tokens, or a YAML file path;
            merged over the default table.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: Provider = "openai"
    model: str = "default"
    base_url: str | None = None
    api_key: str | None = None
    api_key_env: str | None = None
    name: str | None = None
    timeout: float = 60.0
    max_tokens: int | None = None
    prices: dict[str, dict[str, float]] | str | None = None


def parse_spec(spec: str) -> ModelConfig:
    """A ``ModelConfig`` from a spec string (see the module docstring)."""
    spec = spec.strip()
    if not spec:
        raise UsageError("an empty model spec; write e.g. openai:gpt-4o-mini\n" + CONFIGURE_A_MODEL)
    if spec.startswith(("http://", "https://")):
        return ModelConfig(provider="openai", base_url=spec)
    provider, sep, model = spec.partition(":")
    if not sep:
        return ModelConfig(provider="openai", model=spec)
    if provider not in ("openai", "anthropic", "ollama", "llamacpp"):
        raise UsageError(
            f"unknown model provider {provider!r} in {spec!r}; use openai, anthropic, ollama or "
            "llamacpp (e.g. openai:gpt-4o-mini), or an http(s) URL"
        )
    return ModelConfig(provider=provider, model=model or "default")  # type: ignore[arg-type]


def model_from_config(
    config: ModelConfig | Mapping[str, Any] | str, *, env: Mapping[str, str] | None = None
) -> Model:
    """Build the model ``config`` describes.

    Args:
        config: a ``ModelConfig``, its mapping form (from YAML), or a spec string.
        env: where ``api_key_env`` and the default key variables are read (``os.environ``).

    Raises:
        UsageError: the config is invalid, a named key variable is unset, or the provider's
            package is missing (with the pip command).
    """
    cfg = _validated(config)
    env = os.environ if env is None else env
    prices = _prices(cfg.prices)
    if cfg.provider == "llamacpp":
        return LlamaCppModel(cfg.model, name=cfg.name)
    key = _api_key(cfg, env)
    if cfg.provider == "anthropic":
        return AnthropicModel(
            cfg.model,
            base_url=cfg.base_url,
            api_key=key,
            name=cfg.name,
            prices=prices,
            timeout=cfg.timeout,
            max_tokens=cfg.max_tokens or 1024,
        )
    base_url = cfg.base_url or (OLLAMA_URL if cfg.provider == "ollama" else None)
    if key is None and base_url is None:
        raise UsageError(
            "no API key for OpenAI: set OPENAI_API_KEY (or api_key_env in the model config), "
            "or give base_url of an OpenAI-compatible server.\n" + CONFIGURE_A_MODEL
        )
    return OpenAIModel(
        cfg.model,
        base_url=base_url,
        api_key=key or "unused",  # a local server: never send the process's OpenAI key there
        name=cfg.name,
        prices=prices,
        timeout=cfg.timeout,
    )


def model_from_env(env: Mapping[str, str] | None = None) -> Model:
    """Build the model the environment describes (``FLUXIO_MODEL`` and friends).

    Raises:
        UsageError: nothing is configured (the message says how), or the config is invalid.
    """
    env = os.environ if env is None else env
    spec = env.get("FLUXIO_MODEL", "").strip()
    base_url = env.get("FLUXIO_MODEL_BASE_URL", "").strip()
    if not spec and not base_url:
        raise UsageError(CONFIGURE_A_MODEL)
    cfg = parse_spec(spec) if spec else ModelConfig(provider="openai")
    updates: dict[str, Any] = {}
    if base_url:
        updates["base_url"] = base_url
    if env.get("FLUXIO_MODEL_API_KEY"):
        updates["api_key_env"] = "FLUXIO_MODEL_API_KEY"
    return model_from_config(cfg.model_copy(update=updates), env=env)


def _validated(config: ModelConfig | Mapping[str, Any] | str) -> ModelConfig:
    if isinstance(config, ModelConfig):
        return config
    if isinstance(config, str):
        return parse_spec(config)
    try:
        return ModelConfig.model_validate(dict(config))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors()
        )
        raise UsageError(f"invalid model config: {problems}") from None


def _api_key(cfg: ModelConfig, env: Mapping[str, str]) -> str | None:
    if cfg.api_key:
        return cfg.api_key
    if cfg.api_key_env:
        value = env.get(cfg.api_key_env)
        if not value:
            raise UsageError(
                f"the model config names api_key_env {cfg.api_key_env!r}, but that environment "
                "variable is not set"
            )
        return value
    default = _KEY_ENV.get(cfg.provider)
    key = env.get(default) if default else None
    if key is None and cfg.provider == "ollama":
        return "ollama"
    return key


def _prices(spec: dict[str, dict[str, float]] | str | None) -> PriceTable:
    if spec is None:
        return DEFAULT_PRICES
    if isinstance(spec, str):
        return PriceTable.from_yaml(spec)
    return DEFAULT_PRICES.with_prices(spec)
