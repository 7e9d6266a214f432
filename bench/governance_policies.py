"""What a policy decision costs: median microseconds to evaluate one action.

Usage::

    python bench/governance_policies.py              # 5 samples of 2000 evaluations each
    python bench/governance_policies.py --evaluations 200 --runs 3

Prints one JSON line per measurement (the format of ``bench/common.py``) for 10 and 100
active policies of two rules each (a ``forbid`` with a ``when`` and a ``require``):

- ``indexed``: policies scoped to one of 50 tools each, one in ten to every tool (a realistic
  set: a call reaches its tool's policies and the global ones);
- ``all apply``: every policy scoped to every tool, so every rule of every policy runs;
- ``cel-python reference``: the same conditions as ``all apply`` evaluated by the
  interpreter in ``fluxio.expressions`` (what the engine would cost without its fast path).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from fluxio.expressions import compile_cel
from fluxio.governance.policies import (
    Action,
    Actor,
    AgentRef,
    BudgetState,
    Policy,
    PolicyEngine,
    build_context,
)

SYSTEM = "fluxio-policies"
TOOLS = [f"tool_{i}" for i in range(50)]


def policies(count: int, indexed: bool) -> list[Policy]:
    """``count`` active policies; ``indexed`` scopes most of them to a single tool."""
    made = []
    for i in range(count):
        tools: Any = "*" if not indexed or i % 10 == 0 else [TOOLS[i % len(TOOLS)]]
        made.append(
            Policy.model_validate(
                {
                    "id": f"p{i}",
                    "scope": {"applies_to": {"tools": tools}},
                    "rules": [
                        {
                            "id": "cap",
                            "type": "forbid",
                            "when": "tool.side_effects && has(arguments.amount)",
                            "condition": f"arguments.amount > {1000 + i}.0",
                        },
                        {
                            "id": "who",
                            "type": "require",
                            "condition": '"support" in actor.roles || actor.type == "user"',
                        },
                    ],
                }
            )
        )
    return made


def actions() -> list[Action]:
    """A few tool calls by an agent, with the context a real interceptor would fill."""
    return [
        Action(
            "tool",
            TOOLS[i * 7 % len(TOOLS)],
            {"amount": 50.0 * i, "to": "customer@example.com", "body": "Your refund is on its way"},
            actor=Actor("agent:triage", "agent", ("support",)),
            tenant="acme",
            tool={"name": TOOLS[i * 7 % len(TOOLS)], "side_effects": True, "category": "billing"},
            agent=AgentRef("triage", "triage", 3),
            run_id="01hzzzzzzzzzzzzzzzzzzzzzzz",
            workflow="refunds",
            step=str(i),
            budget=BudgetState(1.25, 10.0, 3000),
        )
        for i in range(8)
    ]


async def engine_cost(engine: PolicyEngine, n: int) -> float:
    """Microseconds per ``evaluate`` over ``n`` actions."""
    calls = actions()
    started = time.perf_counter()
    for i in range(n):
        await engine.evaluate(calls[i % len(calls)])
    return (time.perf_counter() - started) * 1e6 / n


def reference_cost(count: int, n: int) -> float:
    """Microseconds per action to evaluate the same conditions with cel-python."""
    rules = [r for p in policies(count, indexed=False) for r in p.rules]
    compiled = [
        (compile_cel(r.when) if r.when else None, compile_cel(r.condition or "true")) for r in rules
    ]
    contexts = [build_context(a, dt.datetime.now(dt.UTC)) for a in actions()]
    started = time.perf_counter()
    for i in range(n):
        context = contexts[i % len(contexts)]
        for when, condition in compiled:
            if when is None or when.test(context):
                condition.test(context)
    return (time.perf_counter() - started) * 1e6 / n


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--evaluations", type=int, default=2000, help="evaluations per sample")
    parser.add_argument("--runs", type=int, default=5, help="samples per measurement")
    args = parser.parse_args(argv)
    lines = []
    for count in (10, 100):
        n = max(20, args.evaluations // (count // 10))
        for shape, indexed in (("indexed", True), ("all apply", False)):
            engine = PolicyEngine(policies(count, indexed))
            samples = [asyncio.run(engine_cost(engine, n)) for _ in range(args.runs)]
            lines.append(
                common.emit(
                    "policy_evaluate", SYSTEM, "none", shape, "us/action", samples,
                    policies=count, rules=2 * count, evaluations=n,
                )
            )  # fmt: skip
        m = max(5, n // 20)
        samples = [reference_cost(count, m) for _ in range(args.runs)]
        lines.append(
            common.emit(
                "policy_evaluate", SYSTEM, "none", "cel-python reference", "us/action", samples,
                policies=count, rules=2 * count, evaluations=m,
            )
        )  # fmt: skip
    return lines


if __name__ == "__main__":
    main()
