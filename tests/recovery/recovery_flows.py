"""Workflows and side-effecting tools for the recovery tests (shared by tests and worker_main).

Every tool appends one line per effect to a ledger file (``O_APPEND``, fsync'd), so a test can
count how often each (run, step key) really happened, whatever the worker processes went
through. Tools that must be caught mid-step block on a gate file the test creates.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from functools import partial
from pathlib import Path
from typing import Any

from fluxio import RunContext, StepFailed, StepOptions, current_step
from fluxio.engine.options import NO_RETRY, RetryPolicy

ONCE = StepOptions(side_effects=True, idempotent=False, retry=NO_RETRY)
"""A non-idempotent side effect: intent first, never re-run blindly after a crash."""

SAFE = StepOptions(side_effects=True, idempotent=True, retry=RetryPolicy(initial=0.01, jitter=0))
"""An idempotent side effect: may run again after a crash, recorded once."""

NON_IDEMPOTENT = frozenset({"charge", "notify", "email", "ship", "after_timer", "after_timeout"})
NON_IDEMPOTENT |= {"after_signal", "after_approval", "hold_once", "finish", "mark"}
"""Names of the steps the tests run with ``ONCE``: their effects must happen at most once."""


class Ledger:
    """The append-only record of effects: one JSON line each, fsync'd before the step returns."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, kind: str, step: str, value: Any = None) -> None:
        """Append ``kind`` (``effect`` or ``enter``) for the step being executed.

        ``at`` is ``time.monotonic()``: one clock for every process of the machine.
        """
        info = current_step()
        line = {
            "kind": kind,
            "step": step,
            "tenant": info.tenant_id,
            "run": info.run_id,
            "key": info.step_key,
            "idem": info.idempotency_key,
            "attempt": info.attempt,
            "pid": os.getpid(),
            "value": value,
            "at": time.monotonic(),
        }
        data = (json.dumps(line, sort_keys=True) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)


class Tools:
    """Step bodies. Each returns its ``value`` after recording the effect."""

    def __init__(self, ledger: Ledger, gates: Path) -> None:
        self.ledger = ledger
        self.gates = gates

    async def gate(self, name: str) -> None:
        """Block until the test creates the gate file ``name``."""
        while not (self.gates / name).exists():
            await asyncio.sleep(0.02)

    async def effect(self, step: str, value: Any = None, jitter: float = 0.0) -> Any:
        """An effect after an optional random delay (widens the windows kills can hit)."""
        if jitter:
            await asyncio.sleep(random.uniform(0, jitter))
        self.ledger.record("effect", step, value)
        return value

    async def charge(self, i: int, sticky: str | None) -> int:
        """The crash test's payment: ``sticky`` runs block mid-step until the gate opens."""
        if sticky == "after_effect":
            self.ledger.record("effect", "charge", i)
            await self.gate("unstick")
            return i
        if sticky == "before_effect":
            self.ledger.record("enter", "charge")
            await self.gate("unstick")
        return await self.effect("charge", i, jitter=0.02)  # type: ignore[no-any-return]

    async def timed(self, step: str, value: Any, hold: float) -> Any:
        """Record entry, take ``hold`` seconds, record the effect (start and end of the body)."""
        self.ledger.record("enter", step, value)
        await asyncio.sleep(hold)
        self.ledger.record("effect", step, value)
        return value

    async def hold(self, step: str, gate: str) -> int:
        """Record entry, block on ``gate``, then record the effect; returns this process id."""
        self.ledger.record("enter", step)
        await self.gate(gate)
        self.ledger.record("effect", step, os.getpid())
        return os.getpid()

    async def numbered(self, n: int, block_at: int, gate: str) -> int:
        """Step ``n`` of the fifty-step run; step ``block_at`` waits for ``gate``."""
        if n == block_at:
            self.ledger.record("enter", f"s{n}")
            await self.gate(gate)
        self.ledger.record("effect", f"s{n}", n)
        return n


class Flows:
    """The workflows the recovery tests run, bound to one ledger and gate directory."""

    def __init__(self, ledger_path: Path, gates: Path) -> None:
        self.tools = Tools(Ledger(ledger_path), gates)

    def registry(self) -> dict[str, Any]:
        """Name → workflow, for ``Engine(workflows=...)``."""
        return {
            "chaos": self.chaos,
            "zombie": self.zombie,
            "waiter": self.waiter,
            "fanout": self.fanout,
            "fifty": self.fifty,
            "latch": self.latch,
            "steady": self.steady,
            "capped": self.capped,
        }

    async def chaos(self, ctx: RunContext, inp: dict[str, Any]) -> dict[str, Any]:
        """Idempotent and non-idempotent effects, a parallel block, a loop, a timer, a signal."""
        t, i = self.tools, inp["i"]
        await ctx.step(t.effect, "prepare", i, 0.2, name="prepare", options=SAFE)
        charged = await ctx.step(t.charge, i, inp.get("sticky"), name="charge", options=ONCE)
        enriched = await ctx.parallel([partial(self._enrich, i=i, b=b) for b in range(3)])
        looped = []
        for j in range(3):
            scope = ctx.scoped(ctx.reserve_key())
            looped.append(
                await scope.step(t.effect, "iterate", i * 10 + j, 0.2, name="iterate", options=SAFE)
            )
            if j == 2:
                await scope.step(t.effect, "email", j, 0.02, name="email", options=ONCE)
        await ctx.sleep(1.0)
        go = await ctx.wait_for("go")
        shipped = await ctx.step(t.effect, "ship", go, 0.02, name="ship", options=ONCE)
        return {"charged": charged, "enriched": enriched, "looped": looped, "shipped": shipped}

    async def _enrich(self, ctx: RunContext, *, i: int, b: int) -> Any:
        t = self.tools
        value = await ctx.step(t.effect, "enrich", i * 100 + b, 0.2, name="enrich", options=SAFE)
        if b == 1:
            await ctx.step(t.effect, "notify", i, 0.02, name="notify", options=ONCE)
        return value

    async def zombie(self, ctx: RunContext, inp: dict[str, Any]) -> dict[str, Any]:
        """A step that blocks on a gate (idempotent or not), then one non-idempotent effect."""
        t = self.tools
        once = inp.get("once", False)
        name = "hold_once" if once else "hold"
        holder = await ctx.step(
            t.hold, name, inp["gate"], name=name, options=ONCE if once else SAFE
        )
        finisher = await ctx.step(t.effect, "finish", os.getpid(), name="finish", options=ONCE)
        return {"holder": holder, "finisher": finisher}

    async def waiter(self, ctx: RunContext, inp: dict[str, Any]) -> dict[str, Any]:
        """A durable timer, a signal wait that times out, a signal and an approval."""
        t = self.tools
        await ctx.step(t.effect, "before", None, name="before", options=SAFE)
        await ctx.sleep(inp["sleep"])
        await ctx.step(t.effect, "after_timer", None, name="after_timer", options=ONCE)
        try:
            await ctx.wait_for("never", timeout=inp["timeout"])
        except StepFailed as timeout:
            await ctx.step(
                t.effect, "after_timeout", timeout.error_type, name="after_timeout", options=ONCE
            )
        data = await ctx.wait_for("data")
        await ctx.step(t.effect, "after_signal", data, name="after_signal", options=ONCE)
        decision = await ctx.wait_for("approval", reason="approval")
        await ctx.step(t.effect, "after_approval", decision, name="after_approval", options=ONCE)
        return {"data": data, "decision": decision}

    async def latch(self, ctx: RunContext, inp: dict[str, Any]) -> Any:
        """A step blocked on a gate, then a signal wait: the signal may arrive mid-step."""
        await ctx.step(self.tools.hold, "hold", inp["gate"], name="hold", options=SAFE)
        payload = await ctx.wait_for("sig")
        return await ctx.step(self.tools.effect, "finish", payload, name="finish", options=ONCE)

    async def fanout(self, ctx: RunContext, inp: dict[str, Any]) -> dict[str, Any]:
        """``branches`` parallel branches of two steps each, then a loop of ``loops`` scopes."""
        branches = [partial(self._leaf, b=b) for b in range(inp["branches"])]
        squares = await ctx.parallel(branches, concurrency=inp.get("concurrency"))
        total = 0
        for j in range(inp["loops"]):
            scope = ctx.scoped(ctx.reserve_key())
            total += await scope.step(self.tools.effect, "loop", j, 0.02, name="loop", options=SAFE)
        return {"squares": squares, "total": total}

    async def _leaf(self, ctx: RunContext, *, b: int) -> int:
        t = self.tools
        first = await ctx.step(t.effect, "leaf", b, 0.05, name="leaf", options=SAFE)
        return await ctx.step(t.effect, "square", first * first, 0.05, name="square", options=SAFE)  # type: ignore[no-any-return]

    async def steady(self, ctx: RunContext, inp: dict[str, Any]) -> dict[str, Any]:
        """Idempotent steps, a durable timer and a parallel block: a run any outage may hit."""
        t = self.tools
        ticks = []
        for n in range(inp["steps"]):
            ticks.append(await ctx.step(t.effect, "tick", n, 0.05, name="tick", options=SAFE))
        await ctx.sleep(inp.get("sleep", 0.3))
        squares = await ctx.parallel([partial(self._leaf, b=b) for b in range(inp["branches"])])
        return {"ticks": ticks, "squares": squares}

    async def capped(self, ctx: RunContext, inp: dict[str, Any]) -> list[Any]:
        """``steps`` sequential steps (one at a time per run), every ``once_every``-th of them
        non-idempotent; each body records its start and end in the ledger."""
        t = self.tools
        out = []
        for n in range(inp["steps"]):
            once = n % inp.get("once_every", 4) == 0
            name = "mark" if once else "work"
            out.append(
                await ctx.step(
                    t.timed,
                    name,
                    n,
                    inp.get("hold", 0.01),
                    name=name,
                    options=ONCE if once else SAFE,
                )
            )
        return out

    async def fifty(self, ctx: RunContext, inp: dict[str, Any]) -> int:
        """Fifty sequential steps; step ``block_at`` blocks on ``gate`` (the kill point)."""
        total = 0
        for n in range(1, 51):
            total += await ctx.step(
                self.tools.numbered, n, inp["block_at"], inp["gate"], name=f"s{n}", options=SAFE
            )
        return total
