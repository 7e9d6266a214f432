"""The peers of ``bench/agents_bench.py``: Pydantic AI's agent and LangGraph's ReAct agent.

Runs in ``bench/.venvs/agents`` (pydantic-ai-slim, langgraph, langchain-core). Each agent is
driven by a scripted, zero-latency model that asks for one tool call per iteration (``noop``)
and answers ``done`` after ``--iterations`` of them, exactly like fluxio's run. Neither peer
persists anything here (their defaults); prints one JSON line per system with the seconds of
each run.

    bench/.venvs/agents/bin/python bench/peers/agent_peers.py --iterations 100 --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import warnings
from typing import Any

warnings.filterwarnings("ignore")


async def noop(i: int) -> str:
    """Return the iteration number as text."""
    return str(i)


async def pydantic_ai_run(iterations: int) -> float:
    from pydantic_ai import Agent
    from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart
    from pydantic_ai.models.function import AgentInfo, FunctionModel
    from pydantic_ai.usage import UsageLimits

    count = {"n": 0}

    def scripted(messages: list[Any], info: AgentInfo) -> ModelResponse:
        count["n"] += 1
        if count["n"] <= iterations:
            call = ToolCallPart(
                tool_name="noop", args={"i": count["n"]}, tool_call_id=f"c{count['n']}"
            )
            return ModelResponse(parts=[call])
        return ModelResponse(parts=[TextPart("done")])

    agent = Agent(FunctionModel(scripted), tools=[noop])
    limits = UsageLimits(request_limit=iterations + 5, tool_calls_limit=iterations + 5)
    started = time.perf_counter()
    result = await agent.run("go", usage_limits=limits)
    elapsed = time.perf_counter() - started
    assert result.output == "done"
    assert count["n"] == iterations + 1
    return elapsed


async def langgraph_run(iterations: int) -> float:
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langgraph.prebuilt import create_react_agent

    class ToolFake(GenericFakeChatModel):
        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

    script = [
        AIMessage(content="", tool_calls=[{"name": "noop", "args": {"i": i}, "id": f"c{i}"}])
        for i in range(1, iterations + 1)
    ]
    model = ToolFake(messages=iter([*script, AIMessage(content="done")]))
    agent = create_react_agent(model, tools=[noop])
    started = time.perf_counter()
    state = await agent.ainvoke(
        {"messages": [("user", "go")]}, config={"recursion_limit": 2 * iterations + 10}
    )
    elapsed = time.perf_counter() - started
    assert state["messages"][-1].content == "done"
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for system, run in (("pydantic_ai", pydantic_ai_run), ("langgraph", langgraph_run)):
        await run(5)  # warm up imports and caches
        seconds = [await run(args.iterations) for _ in range(args.runs)]
        print(json.dumps({"system": system, "iterations": args.iterations, "seconds": seconds}))


if __name__ == "__main__":
    asyncio.run(main())
