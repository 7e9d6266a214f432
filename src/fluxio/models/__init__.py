"""Models: one small port for LLMs, providers as optional extras, and the journaled call.

```
Model (port)            name + async request(ModelRequest) -> ModelResponse   [+ optional stream()]
├── OpenAIModel         any OpenAI-compatible URL (OpenAI, Ollama, vLLM, llama.cpp server)
├── AnthropicModel      Anthropic Messages API
├── LlamaCppModel       a local GGUF file, in process
├── Router              by ModelRequest.task
├── FallbackModel       the next model on retryable errors
└── RetryingModel       transient-error retries outside a run
call_model(ctx, model, request)   the journaled step (replay never calls the model again)
request_structured(...)           a pydantic model as the answer's type, with repair
```

Importing this package imports no provider SDK; constructing a provider without its package
raises ``UsageError`` with the ``pip install 'fluxio[...]'`` command. ``FakeModel`` and
recorded-response replay for tests live in ``fluxio.testing``.
"""

from fluxio.models.config import (
    CONFIGURE_A_MODEL,
    ModelConfig,
    model_from_config,
    model_from_env,
    parse_spec,
)
from fluxio.models.messages import (
    Message,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ToolCall,
    ToolDefinition,
    Usage,
)
from fluxio.models.port import (
    Model,
    StreamEnd,
    StreamEvent,
    StreamingModel,
    TextDelta,
    ToolCallDelta,
)
from fluxio.models.pricing import DEFAULT_PRICES, Price, PriceTable
from fluxio.models.providers import AnthropicModel, LlamaCppModel, OpenAIModel
from fluxio.models.repair import repair_json
from fluxio.models.resilience import RetryingModel
from fluxio.models.routing import FallbackModel, Router
from fluxio.models.step import MODEL_RETRY, call_model, model_step_options, stream_model
from fluxio.models.stream import StreamAccumulator, collect, stream_of
from fluxio.models.structured import StructuredResult, parse_output, request_structured

__all__ = [
    "CONFIGURE_A_MODEL",
    "DEFAULT_PRICES",
    "MODEL_RETRY",
    "AnthropicModel",
    "FallbackModel",
    "LlamaCppModel",
    "Message",
    "Model",
    "ModelConfig",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "OpenAIModel",
    "Price",
    "PriceTable",
    "RetryingModel",
    "Router",
    "StreamAccumulator",
    "StreamEnd",
    "StreamEvent",
    "StreamingModel",
    "StructuredResult",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "ToolDefinition",
    "Usage",
    "call_model",
    "collect",
    "model_from_config",
    "model_from_env",
    "model_step_options",
    "parse_output",
    "parse_spec",
    "repair_json",
    "request_structured",
    "stream_model",
    "stream_of",
]
