"""``FakeClock``: time that moves only when a test says so, for timers, leases and backoff."""

from __future__ import annotations

import asyncio

from fluxio.errors import UsageError

__all__ = ["FakeClock"]

DEFAULT_START = 1_700_000_000.0
"""A fixed, realistic epoch time (November 2023), so timestamps look like real ones."""


class FakeClock:
    """A ``fluxio.engine.clock.Clock`` under the test's control.

    ``sleep`` does not wait: it moves this clock forward by the requested seconds and yields to
    the event loop once, so retry backoff and timers cost no wall time. ``advance`` moves time
    without sleeping, e.g. past a durable timer or a worker's lease.

    Example:
        ```python
        from fluxio.testing import FakeClock

        clock = FakeClock()
        start = clock.now()
        await clock.sleep(30)  # returns at once
        clock.advance(5)
        assert clock.now() == start + 35
        ```

    Args:
        start: the time ``now()`` returns until the clock moves, in seconds since the epoch.
    """

    def __init__(self, start: float = DEFAULT_START) -> None:
        self._now = float(start)

    def now(self) -> float:
        """The clock's current time, in seconds since the epoch."""
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Move time forward by ``seconds`` at once, then let other tasks run."""
        self.advance(max(seconds, 0.0))
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` and return the new time.

        Raises:
            UsageError: ``seconds`` is negative; a clock that goes back breaks leases and timers.
        """
        if seconds < 0:
            raise UsageError(
                f"FakeClock.advance({seconds:g}): time cannot go backwards; pass seconds >= 0"
            )
        self._now += seconds
        return self._now

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now:.3f})"
