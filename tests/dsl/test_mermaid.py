"""``to_mermaid`` draws a definition as a deterministic Mermaid flowchart."""

from __future__ import annotations

from fluxio.dsl import (
    Approval,
    Branch,
    Loop,
    Map,
    Parallel,
    SubWorkflow,
    Wait,
    Workflow,
    step,
    to_mermaid,
)


@step
async def fetch(n: int) -> list[int]:
    return [n]


@step
async def check(xs: list[int]) -> list[int]:
    return xs


@step
async def fix(xs: list[int]) -> list[int]:
    return xs


@step
async def send(x: int) -> int:
    return x


FLOW = Workflow(
    "demo",
    fetch
    >> Branch("size(input) > 0 && input[0] < 3", check, otherwise=fix)
    >> Approval("ship")
    >> Map(send, concurrency=4),
)


def test_pipeline_branch_approval_and_map_exact_text() -> None:
    assert to_mermaid(FLOW) == (
        "flowchart TD\n"
        '    n1(("start"))\n'
        '    n2["fetch"]\n'
        "    n1 --> n2\n"
        '    n3{"size(input) #gt; 0 && input[0] #lt; 3"}\n'
        "    n2 --> n3\n"
        '    n4["check"]\n'
        "    n3 -->|yes| n4\n"
        '    n5["fix"]\n'
        "    n3 -->|no| n5\n"
        '    n6{{"approval: ship"}}\n'
        "    n4 --> n6\n"
        "    n5 --> n6\n"
        '    n7[["for each item, 4 at a time"]]\n'
        "    n6 --> n7\n"
        '    n8["send"]\n'
        "    n7 --> n8\n"
        '    n9(("join"))\n'
        "    n8 --> n9\n"
        '    n10(("end"))\n'
        "    n9 --> n10\n"
    )


def test_output_is_deterministic() -> None:
    assert to_mermaid(FLOW) == to_mermaid(FLOW)


def test_loops_draw_a_back_edge_and_waits_and_children_their_shapes() -> None:
    flow = (
        Loop(fix, until="size(input) > 3", max_iterations=5)
        >> Loop(check, while_="false")
        >> Parallel(Wait(signal="go", timeout=60), Wait(duration=5), SubWorkflow("billing"))
    )
    text = to_mermaid(flow)
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    assert '    n2["fix"]' in lines
    assert '    n3{"until size(input) #gt; 3 (max 5)"}' in lines
    assert "    n3 -.->|no| n2" in lines  # until: back to the body
    assert '    n4{"while false"}' in lines
    assert "    n3 -->|yes| n4" in lines
    assert "    n5 -.-> n4" in lines  # while: body back to the test
    assert '    n7(["wait for signal go (timeout 60s)"])' in lines
    assert '    n8(["sleep 5s"])' in lines
    assert '    n9[["workflow: billing"]]' in lines
    assert "    n4 -->|no| n6" in lines
    assert text.count("-->") + text.count("-.->") == 14


def test_labels_with_quotes_are_escaped() -> None:
    text = to_mermaid(Branch('input == "a"', send))
    assert '{"input == #quot;a#quot;"}' in text
