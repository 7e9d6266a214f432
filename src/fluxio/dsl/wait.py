"""``Wait``: pause the run durably for a signal, an event or a duration."""

from __future__ import annotations

from typing import Any

from fluxio.dsl.base import Step
from fluxio.dsl.context import Context
from fluxio.errors import DefinitionError

__all__ = ["EVENT_PREFIX", "Wait"]

EVENT_PREFIX = "event:"
"""Events are delivered to a waiting run as signals named ``event:<name>``."""


class Wait(Step[Any, Any]):
    """Wait durably; the run is evicted from memory until it is woken.

    Give exactly one of ``signal``, ``event`` and ``duration``. A signal or event wait returns
    the payload it was sent with (``engine.signal(run_id, name, payload)``) and raises
    ``StepTimeout`` if ``timeout`` seconds pass first; a duration wait returns its input
    unchanged.

    Args:
        signal: the signal name to wait for.
        event: the event name to wait for (the signal ``event:<name>``).
        duration: seconds to sleep (a durable timer).
        timeout: seconds before a signal or event wait gives up.
        name: the step's name in diagrams and messages.
    """

    def __init__(
        self,
        *,
        signal: str | None = None,
        event: str | None = None,
        duration: float | None = None,
        timeout: float | None = None,
        name: str | None = None,
    ) -> None:
        given = [x for x in (signal, event, duration) if x is not None]
        if len(given) != 1:
            raise DefinitionError(
                "Wait needs exactly one of signal=, event= and duration=.",
                suggestion="e.g. Wait(signal='payment_received', timeout=3600)",
            )
        if duration is not None and duration < 0:
            raise DefinitionError(f"Wait duration must not be negative, got {duration!r}.")
        if timeout is not None and (duration is not None or timeout <= 0):
            raise DefinitionError("Wait timeout= is a positive number, for signal and event waits.")
        self.signal = signal if event is None else EVENT_PREFIX + event
        self.reason = "event" if event is not None else "signal"
        self.duration = duration
        self.timeout = timeout
        self.name = name or self.describe()

    def describe(self) -> str:
        """What is waited for, in words."""
        if self.duration is not None:
            return f"sleep {self.duration:g}s"
        limit = f" (timeout {self.timeout:g}s)" if self.timeout is not None else ""
        return f"wait for {self.reason} {self.signal}{limit}"

    async def run(self, ctx: Context, input: Any) -> Any:
        """Sleep (returning the input) or wait for the signal (returning its payload)."""
        if self.duration is not None:
            await ctx.sleep(self.duration)
            return input
        assert self.signal is not None
        return await ctx.wait_for(self.signal, timeout=self.timeout, reason=self.reason)
