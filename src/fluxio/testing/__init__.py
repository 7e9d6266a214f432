"""Test helpers shipped with fluxio: a controllable clock and the store conformance suite.

- ``FakeClock``: time that moves only when the test says so (timers, leases, backoff).
- ``StoreConformance`` / ``run_conformance``: the promises every ``Store`` must keep; run them
  against your own store (see ``fluxio.testing.conformance``).
"""

from fluxio.testing.clock import FakeClock
from fluxio.testing.conformance import (
    CHECKS,
    Check,
    ConformanceError,
    StoreConformance,
    run_conformance,
)
from fluxio.testing.fake_model import FakeModel
from fluxio.testing.replay import Cassette, RecordingModel, ReplayModel, cassette_model

__all__ = [
    "CHECKS",
    "Cassette",
    "Check",
    "ConformanceError",
    "FakeClock",
    "FakeModel",
    "RecordingModel",
    "ReplayModel",
    "StoreConformance",
    "cassette_model",
    "run_conformance",
]
