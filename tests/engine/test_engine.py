"""The kernel's promises, on every store: replay, retries, timeouts, intents, waits, children."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fluxio import (
    Engine,
    NonDeterminismError,
    RetryPolicy,
    RunContext,
    RunFailed,
    RunStatus,
    StepFailed,
    StepOptions,
    UsageError,
    current_step,
)
from fluxio.engine import ExecuteStepInput, Next
from fluxio.store.base import Store

pytestmark = pytest.mark.anyio

FAST = StepOptions(retry=RetryPolicy(max_attempts=3, initial=0.001, jitter=0))


class Counter:
    """Counts how often each step body ran."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}

    def hit(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1


async def test_completed_run_replays_with_zero_step_executions(store: Store) -> None:
    counter = Counter()

    async def add(x: int) -> int:
        counter.hit("add")
        return x + 1

    async def wf(ctx: RunContext, n: int) -> int:
        for _ in range(3):
            n = await ctx.step(add, n)
        return n

    engine = Engine(store, workflows={"wf": wf})
    assert await engine.run("wf", 1) == 4
    assert counter.calls == {"add": 3}
    run = (await engine.list_runs())[0]
    keys = [e.step_key for e in await engine.journal(run.run_id)]
    assert keys == ["1", "2", "3"]


async def test_resume_skips_completed_steps_after_a_crash(store: Store) -> None:
    counter = Counter()
    crash = {"at": 2}

    async def work(i: int) -> int:
        counter.hit(f"work{i}")
        if crash["at"] == i:
            crash["at"] = -1
            raise SystemExit("worker died")  # BaseException: not recorded, like a kill
        return i

    async def wf(ctx: RunContext, _: Any) -> list[int]:
        return [await ctx.step(work, i, name=f"work{i}") for i in range(4)]

    engine = Engine(store, workflows={"wf": wf}, lease_seconds=0.05)
    run = await engine.start("wf")
    (claim,) = await engine.claim(1)
    with pytest.raises(SystemExit):
        await engine.execute(claim)
    await asyncio.sleep(0.06)  # the dead worker's lease expires
    fresh = Engine(store, workflows={"wf": wf})
    assert await fresh.result(run.run_id) == [0, 1, 2, 3]
    assert counter.calls == {"work0": 1, "work1": 1, "work2": 2, "work3": 1}


async def test_reordered_workflow_raises_non_determinism_naming_the_step(store: Store) -> None:
    async def a() -> str:
        return "a"

    async def b() -> str:
        return "b"

    async def v1(ctx: RunContext, _: Any) -> None:
        await ctx.step(a)
        await ctx.wait_for("go")
        await ctx.step(b)

    async def v2(ctx: RunContext, _: Any) -> None:
        await ctx.step(b)
        await ctx.wait_for("go")

    engine = Engine(store, workflows={"wf": v1})
    run = await engine.start("wf")
    await engine.drive()
    engine2 = Engine(store, workflows={"wf": v2})
    await engine2.signal(run.run_id, "go")
    with pytest.raises(RunFailed) as info:
        await engine2.result(run.run_id)
    message = info.value.error["message"]
    assert "step 1" in message
    assert "'a'" in message
    assert "'b'" in message


async def test_non_determinism_error_names_run_key_recorded_and_requested() -> None:
    err = NonDeterminismError("r1", "3.parallel.2", "fetch", "send")
    assert "r1" in str(err)
    assert "3.parallel.2" in str(err)
    assert "'fetch'" in str(err)
    assert "'send'" in str(err)


async def test_retry_policy_retries_then_succeeds_and_counts_attempts(store: Store) -> None:
    attempts: list[int] = []

    async def flaky() -> str:
        attempts.append(current_step().attempt)
        if len(attempts) < 3:
            raise ConnectionError("try again")
        return "ok"

    async def wf(ctx: RunContext, _: Any) -> str:
        return await ctx.step(flaky, options=FAST)

    engine = Engine(store, workflows={"wf": wf})
    assert await engine.run("wf") == "ok"
    assert attempts == [1, 2, 3]


async def test_non_retryable_error_fails_at_once(store: Store) -> None:
    attempts: list[int] = []

    async def broken() -> None:
        attempts.append(1)
        raise StepFailed("bad request", retryable=False)

    async def wf(ctx: RunContext, _: Any) -> None:
        await ctx.step(broken, options=FAST)

    engine = Engine(store, workflows={"wf": wf})
    with pytest.raises(RunFailed, match="bad request"):
        await engine.run("wf")
    assert attempts == [1]


async def test_non_retryable_type_names_stop_retries(store: Store) -> None:
    attempts: list[int] = []

    async def broken() -> None:
        attempts.append(1)
        raise KeyError("missing")

    policy = RetryPolicy(max_attempts=5, initial=0, non_retryable=("KeyError",))

    async def wf(ctx: RunContext, _: Any) -> None:
        await ctx.step(broken, options=StepOptions(retry=policy))

    engine = Engine(store, workflows={"wf": wf})
    with pytest.raises(RunFailed):
        await engine.run("wf")
    assert attempts == [1]


def test_backoff_linear_and_exponential_delays() -> None:
    exp = RetryPolicy(initial=1, multiplier=2, jitter=0, max_delay=5)
    assert [exp.delay(n) for n in (1, 2, 3, 4)] == [1, 2, 4, 5]
    lin = RetryPolicy(backoff="linear", initial=0.5, jitter=0)
    assert [lin.delay(n) for n in (1, 2, 3)] == [0.5, 1.0, 1.5]
    jittered = RetryPolicy(initial=1, jitter=0.5)
    assert all(0.5 <= jittered.delay(1) <= 1.5 for _ in range(50))
    with pytest.raises(UsageError):
        RetryPolicy(max_attempts=0)


async def test_step_timeout_is_recorded_as_step_timeout(store: Store) -> None:
    async def slow() -> None:
        await asyncio.sleep(5)

    async def wf(ctx: RunContext, _: Any) -> str:
        try:
            await ctx.step(slow, options=StepOptions(timeout=0.05, retry=RetryPolicy(1)))
        except StepFailed as exc:
            return exc.error_type
        return "no timeout"

    engine = Engine(store, workflows={"wf": wf})
    assert await engine.run("wf") == "StepTimeout"


async def test_each_step_gets_a_stable_idempotency_key(store: Store) -> None:
    seen: list[str] = []

    async def charge() -> str:
        seen.append(current_step().idempotency_key)
        if len(seen) == 1:
            raise ConnectionError("flaky")
        return seen[-1]

    async def wf(ctx: RunContext, _: Any) -> str:
        return await ctx.step(charge, options=FAST)

    engine = Engine(store, workflows={"wf": wf})
    key = await engine.run("wf")
    assert seen == [key, key]
    assert len(key) == 32


async def test_ambiguous_side_effect_parks_run_and_resolve_completes_it(store: Store) -> None:
    sent: list[str] = []

    async def send_email(to: str) -> str:
        sent.append(to)
        raise SystemExit("killed mid-send")

    async def wf(ctx: RunContext, _: Any) -> str:
        opts = StepOptions(side_effects=True, idempotent=False)
        return await ctx.step(send_email, "a@example.com", options=opts)

    engine = Engine(store, workflows={"wf": wf}, lease_seconds=0.05)
    run = await engine.start("wf")
    (claim,) = await engine.claim(1)
    with pytest.raises(SystemExit):
        await engine.execute(claim)
    await asyncio.sleep(0.06)
    await engine.drive()
    parked = await engine.get(run.run_id)
    assert parked.status is RunStatus.NEEDS_ATTENTION
    assert parked.attention is not None
    assert parked.attention["step_key"] == "1"
    assert sent == ["a@example.com"]  # never re-sent automatically
    await engine.resolve(run.run_id, "complete", result="delivered-by-hand")
    assert await engine.result(run.run_id) == "delivered-by-hand"
    assert sent == ["a@example.com"]


async def test_resolve_retry_runs_the_step_again(store: Store) -> None:
    sent: list[int] = []

    async def send() -> int:
        sent.append(1)
        if len(sent) == 1:
            raise SystemExit("killed")
        return len(sent)

    async def wf(ctx: RunContext, _: Any) -> int:
        return await ctx.step(send, options=StepOptions(side_effects=True, idempotent=False))

    engine = Engine(store, workflows={"wf": wf}, lease_seconds=0.05)
    run = await engine.start("wf")
    (claim,) = await engine.claim(1)
    with pytest.raises(SystemExit):
        await engine.execute(claim)
    await asyncio.sleep(0.06)
    await engine.drive()
    with pytest.raises(UsageError, match="unknown resolution"):
        await engine.resolve(run.run_id, "shrug")
    await engine.resolve(run.run_id, "retry")
    assert await engine.result(run.run_id) == 2


async def test_resolve_refuses_runs_that_do_not_need_attention(store: Store) -> None:
    async def wf(ctx: RunContext, _: Any) -> int:
        return 1

    engine = Engine(store, workflows={"wf": wf})
    run = await engine.start("wf")
    await engine.drive()
    with pytest.raises(UsageError, match="not needs_attention"):
        await engine.resolve(run.run_id, "retry")


async def test_durable_sleep_evicts_and_wakes(store: Store) -> None:
    async def wf(ctx: RunContext, _: Any) -> str:
        await ctx.sleep(0.05)
        return "woke"

    engine = Engine(store, workflows={"wf": wf})
    run = await engine.start("wf")
    await engine.drive()
    waiting = await engine.get(run.run_id)
    assert waiting.status is RunStatus.WAITING
    assert waiting.wait is not None
    assert waiting.wait.reason == "timer"
    assert not engine.active
    assert await engine.result(run.run_id) == "woke"


async def test_signal_is_delivered_exactly_once(store: Store) -> None:
    async def wf(ctx: RunContext, _: Any) -> list[Any]:
        first = await ctx.wait_for("go")
        second = await ctx.wait_for("go")
        return [first, second]

    engine = Engine(store, workflows={"wf": wf})
    run = await engine.start("wf")
    await engine.drive()
    await engine.signal(run.run_id, "go", {"n": 1})
    await engine.drive()
    assert (await engine.get(run.run_id)).status is RunStatus.WAITING
    await engine.signal(run.run_id, "go", {"n": 2})
    assert await engine.result(run.run_id) == [{"n": 1}, {"n": 2}]


async def test_wait_for_times_out_with_step_timeout(store: Store) -> None:
    async def wf(ctx: RunContext, _: Any) -> str:
        try:
            await ctx.wait_for("never", timeout=0.05)
        except StepFailed as exc:
            return exc.error_type
        return "signalled"

    engine = Engine(store, workflows={"wf": wf})
    assert await engine.run("wf") == "StepTimeout"


async def test_signal_to_finished_run_is_refused(store: Store) -> None:
    async def wf(ctx: RunContext, _: Any) -> int:
        return 1

    engine = Engine(store, workflows={"wf": wf})
    run = await engine.start("wf")
    await engine.drive()
    with pytest.raises(UsageError, match="already completed"):
        await engine.signal(run.run_id, "late")


async def test_child_run_result_returns_to_parent(store: Store) -> None:
    async def child(ctx: RunContext, x: int) -> int:
        await ctx.sleep(0.01)
        return x * 10

    async def parent(ctx: RunContext, x: int) -> int:
        return await ctx.child("child", x) + 1

    engine = Engine(store, workflows={"child": child, "parent": parent})
    assert await engine.run("parent", 4) == 41


async def test_failed_child_fails_the_parent_step(store: Store) -> None:
    async def child(ctx: RunContext, _: Any) -> None:
        raise ValueError("child broke")

    async def parent(ctx: RunContext, _: Any) -> str:
        try:
            await ctx.child("child")
        except StepFailed as exc:
            return exc.message
        return "ok"

    engine = Engine(store, workflows={"child": child, "parent": parent})
    assert await engine.run("parent") == "child broke"


async def test_parallel_policies(store: Store) -> None:
    async def ok(i: int) -> int:
        return i

    async def bad(i: int) -> int:
        raise StepFailed(f"branch {i} failed", retryable=False)

    async def best(ctx: RunContext, _: Any) -> list[Any]:
        return await ctx.parallel(
            [lambda c: c.step(ok, 1), lambda c: c.step(bad, 2)], policy="best_effort"
        )

    async def strict(ctx: RunContext, _: Any) -> list[Any]:
        return await ctx.parallel([lambda c: c.step(ok, 1), lambda c: c.step(bad, 2)])

    engine = Engine(store, workflows={"best": best, "strict": strict})
    results = await engine.run("best")  # the run result is JSON: a BranchError as a dict
    assert results[0] == 1
    assert results[1]["index"] == 1
    assert results[1]["error"]["message"] == "branch 2 failed"
    with pytest.raises(RunFailed, match="branch 2 failed"):
        await engine.run("strict")


async def test_parallel_fail_fast_cancels_siblings(store: Store) -> None:
    finished: list[str] = []

    async def slow() -> None:
        await asyncio.sleep(2)
        finished.append("slow")

    async def bad() -> None:
        raise StepFailed("boom", retryable=False)

    async def wf(ctx: RunContext, _: Any) -> None:
        await ctx.parallel([lambda c: c.step(slow), lambda c: c.step(bad)], policy="fail_fast")

    engine = Engine(store, workflows={"wf": wf})
    with pytest.raises(RunFailed, match="boom"):
        await asyncio.wait_for(engine.run("wf"), 1.5)
    assert finished == []


async def test_parallel_concurrency_limit_and_branch_keys(store: Store) -> None:
    inflight = {"now": 0, "max": 0}

    async def work(i: int) -> int:
        inflight["now"] += 1
        inflight["max"] = max(inflight["max"], inflight["now"])
        await asyncio.sleep(0.01)
        inflight["now"] -= 1
        return i

    async def wf(ctx: RunContext, _: Any) -> list[int]:
        return await ctx.parallel([lambda c, i=i: c.step(work, i) for i in range(8)], concurrency=3)

    engine = Engine(store, workflows={"wf": wf})
    run = await engine.start("wf")
    assert await engine.result(run.run_id) == list(range(8))
    assert inflight["max"] == 3
    keys = {e.step_key for e in await engine.journal(run.run_id)}
    assert {f"1.parallel.{i}.1" for i in range(1, 9)} <= keys


async def test_run_creation_is_idempotent(store: Store) -> None:
    async def wf(ctx: RunContext, _: Any) -> int:
        return 1

    engine = Engine(store, workflows={"wf": wf})
    a = await engine.start("wf", run_id="order-42")
    b = await engine.start("wf", run_id="order-42")
    c = await engine.start("wf", idempotency_key="k1")
    d = await engine.start("wf", idempotency_key="k1")
    assert a.run_id == b.run_id == "order-42"
    assert c.run_id == d.run_id
    assert len(await engine.list_runs()) == 2


async def test_runs_are_scoped_by_tenant(store: Store) -> None:
    async def wf(ctx: RunContext, _: Any) -> int:
        return 1

    engine = Engine(store, workflows={"wf": wf})
    run = await engine.start("wf", tenant_id="acme")
    assert [r.run_id for r in await engine.list_runs()] == []
    with pytest.raises(UsageError, match="no run"):
        await engine.get(run.run_id)
    assert (await engine.get(run.run_id, tenant_id="acme")).run_id == run.run_id


async def test_cancel_waiting_run_at_once_and_running_run_at_step_boundary(store: Store) -> None:
    started = asyncio.Event()
    release = asyncio.Event()
    after: list[int] = []

    async def block() -> None:
        started.set()
        await release.wait()

    async def later() -> None:
        after.append(1)

    async def waiter(ctx: RunContext, _: Any) -> None:
        await ctx.wait_for("never")

    async def busy(ctx: RunContext, _: Any) -> None:
        await ctx.step(block)
        await ctx.step(later)

    engine = Engine(store, workflows={"waiter": waiter, "busy": busy})
    run = await engine.start("waiter")
    await engine.drive()
    cancelled = await engine.cancel(run.run_id)
    assert cancelled.status is RunStatus.CANCELLED

    run2 = await engine.start("busy")
    driver = asyncio.create_task(engine.drive())
    await started.wait()
    await engine.cancel(run2.run_id, reason="operator")
    release.set()
    await driver
    assert (await engine.get(run2.run_id)).status is RunStatus.CANCELLED
    assert after == []


async def test_unknown_workflow_is_a_clear_error(store: Store) -> None:
    engine = Engine(store)
    with pytest.raises(UsageError, match="no workflow named 'nope'"):
        await engine.start("nope")


async def test_results_must_be_json_serializable(store: Store) -> None:
    async def weird() -> object:
        return object()

    async def wf(ctx: RunContext, _: Any) -> None:
        await ctx.step(weird)

    engine = Engine(store, workflows={"wf": wf})
    with pytest.raises(RunFailed, match="JSON-serializable"):
        await engine.run("wf")


async def test_interceptors_wrap_every_step_outermost_first(store: Store) -> None:
    order: list[str] = []

    class Tag:
        def __init__(self, tag: str) -> None:
            self.tag = tag

        async def execute_step(self, input: ExecuteStepInput, next: Next) -> Any:
            order.append(f"{self.tag}>{input.name}")
            result = await next(input)
            order.append(f"{self.tag}<{input.name}")
            return result

    async def hello() -> str:
        return "hi"

    async def wf(ctx: RunContext, _: Any) -> str:
        return await ctx.step(hello)

    engine = Engine(store, workflows={"wf": wf}, interceptors=[Tag("outer"), Tag("inner")])
    assert await engine.run("wf") == "hi"
    assert order == ["outer>hello", "inner>hello", "inner<hello", "outer<hello"]


async def test_sync_step_bodies_run_in_a_thread(store: Store) -> None:
    import threading

    main = threading.get_ident()

    def blocking() -> bool:
        return threading.get_ident() != main

    async def wf(ctx: RunContext, _: Any) -> bool:
        return await ctx.step(blocking)

    engine = Engine(store, workflows={"wf": wf})
    assert await engine.run("wf") is True


async def test_step_keys_must_be_unique_in_a_scope(store: Store) -> None:
    async def one() -> int:
        return 1

    async def wf(ctx: RunContext, _: Any) -> None:
        await ctx.step(one, key="x")
        await ctx.step(one, key="x")

    engine = Engine(store, workflows={"wf": wf})
    with pytest.raises(RunFailed, match="used twice"):
        await engine.run("wf")


async def test_worker_leaves_runs_of_workflows_it_does_not_know(store: Store) -> None:
    async def mine(ctx: RunContext, _: Any) -> str:
        return "mine"

    async def theirs(ctx: RunContext, _: Any) -> str:
        return "theirs"

    here = Engine(store, workflows={"mine": mine})
    there = Engine(store, workflows={"theirs": theirs})
    other = await there.start("theirs")
    await here.drive()
    assert (await here.get(other.run_id)).status is RunStatus.PENDING
    assert await there.result(other.run_id) == "theirs"


async def test_heartbeat_extends_leases_and_carries_cancel_from_another_process(
    store: Store,
) -> None:
    started = asyncio.Event()
    release = asyncio.Event()

    async def block() -> None:
        started.set()
        await release.wait()

    async def after() -> None:
        return None

    async def wf(ctx: RunContext, _: Any) -> None:
        await ctx.step(block)
        await ctx.step(after)

    worker = Engine(store, workflows={"wf": wf}, lease_seconds=5)
    operator = Engine(store, workflows={"wf": wf})  # another process: other worker id
    run = await worker.start("wf")
    (claim,) = await worker.claim(1)
    execution = asyncio.create_task(worker.execute(claim))
    await started.wait()
    before = (await worker.get(run.run_id)).lease_expires_at
    await operator.cancel(run.run_id)
    await asyncio.sleep(0.01)
    await worker.heartbeat()
    held = await worker.get(run.run_id)
    assert held.lease_expires_at is not None
    assert before is not None
    assert held.lease_expires_at > before
    release.set()
    await execution
    assert (await worker.get(run.run_id)).status is RunStatus.CANCELLED
