"""In-process llama.cpp for a local GGUF file, through ``llama-cpp-python``.

Needs the ``llamacpp`` extra (``pip install 'fluxio[llamacpp]'``; it builds llama.cpp from
source, which takes minutes). ``create_chat_completion`` speaks the OpenAI wire format, so
this provider shares the OpenAI-compatible parsing. Calls run in a worker thread, one at a
time (a ``Llama`` object is not thread-safe).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from fluxio.errors import ModelError, UsageError
from fluxio.models.messages import ModelRequest, ModelResponse
from fluxio.models.pricing import PriceTable
from fluxio.models.providers import openai_wire as wire
from fluxio.models.providers.extras import require

__all__ = ["LlamaCppModel"]


class LlamaCppModel:
    """A local GGUF model run in this process.

    Args:
        model_path: the ``.gguf`` file.
        name: the model's name in the journal (default: the file's stem).
        n_ctx: the context window in tokens.
        n_threads: CPU threads (default: llama.cpp's choice).
        chat_format: llama-cpp-python's chat format name (default: from the GGUF metadata).

    Raises:
        UsageError: ``llama-cpp-python`` is not installed, or the file does not exist.
    """

    def __init__(
        self,
        model_path: str | Path,
        *,
        name: str | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        chat_format: str | None = None,
    ) -> None:
        llama_cpp = require("llama_cpp", extra="llamacpp", provider="local llama.cpp")
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise UsageError(f"no GGUF model file at {path}; give the path of a .gguf file")
        self.path = path
        self._name = name or path.stem
        self._lock = asyncio.Lock()
        self._llama: Any = llama_cpp.Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            chat_format=chat_format,
            verbose=False,
        )

    @property
    def name(self) -> str:
        """The model's name in the journal."""
        return self._name

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Generate an answer locally (in a worker thread)."""
        body = wire.request_body(request, json_schema=False)
        started = time.perf_counter()
        async with self._lock:
            try:
                data = await asyncio.to_thread(self._llama.create_chat_completion, **body)
            except (RuntimeError, ValueError) as exc:
                raise ModelError(
                    f"llama.cpp failed on {self.path.name}: {exc}", retryable=False
                ) from exc
        return wire.response_from(
            data,
            where=f"local model {self.path.name}",
            model=self._name,
            prices=PriceTable(),
            latency_ms=(time.perf_counter() - started) * 1000,
        )
