"""Model providers. Each one imports its SDK only when constructed (they are optional
extras), so importing this package never needs ``openai``, ``anthropic`` or ``llama_cpp``.
"""

from fluxio.models.providers.anthropic import AnthropicModel
from fluxio.models.providers.llamacpp import LlamaCppModel
from fluxio.models.providers.openai import OpenAIModel

__all__ = ["AnthropicModel", "LlamaCppModel", "OpenAIModel"]
