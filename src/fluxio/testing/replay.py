"""Recorded-response replay: record a real model's answers once, replay them in tests.

A ``Cassette`` is a JSON file of interactions, each keyed by a hash of the request (its
canonical JSON), so a replay answers the same request with the same response, offline:

    recorder = RecordingModel(real_model, "tests/cassettes/triage.json")   # once, online
    model = ReplayModel("tests/cassettes/triage.json")                     # every test run

The same request asked several times replays its recordings in order (the last one
repeats). Errors (``ModelError``) are recorded and replayed too.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from fluxio.errors import ModelError, UsageError
from fluxio.models import Model, ModelRequest, ModelResponse

__all__ = ["Cassette", "RecordingModel", "ReplayModel", "cassette_model", "request_key"]

FORMAT_VERSION = 1


def request_key(request: ModelRequest) -> str:
    """A stable hash of ``request``: equal requests, equal keys, on any machine."""
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


class Cassette:
    """Recorded request/response pairs in one JSON file.

    Args:
        path: the file; it is read now if it exists and rewritten (atomically) on each record.

    Raises:
        UsageError: the file exists but is not a cassette.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.interactions: list[dict[str, Any]] = self._load() if self.path.exists() else []
        self._cursor: dict[str, int] = {}

    def record(
        self, model: str, request: ModelRequest, outcome: ModelResponse | ModelError
    ) -> None:
        """Append one interaction and save the file."""
        entry: dict[str, Any] = {
            "key": request_key(request),
            "model": model,
            "request": request.model_dump(mode="json"),
        }
        if isinstance(outcome, ModelError):
            entry["error"] = {
                "message": outcome.message,
                "retryable": outcome.retryable,
                "retry_after": outcome.retry_after,
            }
        else:
            entry["response"] = outcome.model_dump(mode="json")
        self.interactions.append(entry)
        self._save()

    def replay(self, request: ModelRequest) -> ModelResponse:
        """The recorded answer to ``request`` (raised if it was an error).

        Raises:
            UsageError: nothing was recorded for this request.
        """
        key = request_key(request)
        found = [i for i in self.interactions if i.get("key") == key]
        if not found:
            raise UsageError(
                f"cassette {self.path} has no recording for this request (key {key}); the "
                "request changed since it was recorded. Record it again with RecordingModel "
                "(or delete the file and use cassette_model with a real model)."
            )
        position = self._cursor.get(key, 0)
        self._cursor[key] = position + 1
        entry = found[min(position, len(found) - 1)]
        if "error" in entry:
            error = entry["error"]
            raise ModelError(
                str(error["message"]),
                retryable=bool(error.get("retryable", True)),
                retry_after=error.get("retry_after"),
            )
        return ModelResponse.model_validate(entry["response"])

    def _load(self) -> list[dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read cassette {self.path}: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
            raise UsageError(
                f"{self.path} is not a fluxio cassette (expected an object with 'interactions')"
            )
        return list(data["interactions"])

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(
            {"version": FORMAT_VERSION, "interactions": self.interactions}, indent=2, sort_keys=True
        )
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text + "\n")
        os.replace(temp, self.path)


class RecordingModel:
    """Calls ``model`` and records every answer (and ``ModelError``) in a cassette.

    Args:
        model: the real model.
        cassette: a ``Cassette`` or the path of its file.
    """

    def __init__(self, model: Model, cassette: Cassette | str | Path) -> None:
        self.model = model
        self.cassette = cassette if isinstance(cassette, Cassette) else Cassette(cassette)

    @property
    def name(self) -> str:
        """The recorded model's name."""
        return self.model.name

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Ask the real model and record the outcome."""
        try:
            response = await self.model.request(request)
        except ModelError as error:
            self.cassette.record(self.name, request, error)
            raise
        self.cassette.record(self.name, request, response)
        return response


class ReplayModel:
    """Answers from a cassette, never from a real model.

    Args:
        cassette: a ``Cassette`` or the path of its file (which must exist).
        name: the model's name (default: the name recorded in the cassette).
    """

    def __init__(self, cassette: Cassette | str | Path, *, name: str | None = None) -> None:
        self.cassette = cassette if isinstance(cassette, Cassette) else Cassette(cassette)
        if not self.cassette.path.exists():
            raise UsageError(
                f"no cassette at {self.cassette.path}; record one first with RecordingModel"
            )
        recorded = (
            self.cassette.interactions[0].get("model") if self.cassette.interactions else None
        )
        self._name = name or str(recorded or "replay")

    @property
    def name(self) -> str:
        """The model's name."""
        return self._name

    async def request(self, request: ModelRequest) -> ModelResponse:
        """The recorded answer to ``request``."""
        return self.cassette.replay(request)


def cassette_model(path: str | Path, model: Model | None = None) -> Model:
    """Replay ``path`` if it exists; otherwise record ``model``'s answers into it.

    Raises:
        UsageError: the cassette does not exist and no model was given to record.
    """
    if Path(path).exists():
        return ReplayModel(path)
    if model is None:
        raise UsageError(
            f"no cassette at {path} and no model to record one; pass the real model once"
        )
    return RecordingModel(model, path)
