"""``to_mermaid``: draw a DSL definition as a Mermaid ``flowchart TD``.

Node ids are ``n1``, ``n2``, … in depth-first order, so the same definition always gives the
same text (diff-able, testable). Shapes: steps are boxes, conditions diamonds, waits stadiums,
approvals hexagons, child workflows subroutines, fan-outs and joins small circles.
"""

from __future__ import annotations

from typing import Any

from fluxio.dsl.approval import Approval
from fluxio.dsl.base import Step
from fluxio.dsl.branch import Branch
from fluxio.dsl.loop import Loop
from fluxio.dsl.map import Map
from fluxio.dsl.parallel import Parallel
from fluxio.dsl.pipeline import Pipeline
from fluxio.dsl.subworkflow import SubWorkflow
from fluxio.dsl.wait import Wait
from fluxio.dsl.workflow import Workflow

__all__ = ["to_mermaid"]

Exit = tuple[str, str | None]  # a node control leaves from, and the label of that edge
_SHAPES = {
    "box": '["{}"]',
    "diamond": '{{"{}"}}',
    "stadium": '(["{}"])',
    "hexagon": '{{{{"{}"}}}}',
    "subroutine": '[["{}"]]',
    "circle": '(("{}"))',
}


def to_mermaid(step: Step[Any, Any]) -> str:
    """A Mermaid flowchart of ``step`` and everything inside it, deterministic node ids."""
    graph = _Graph()
    start = graph.node("start", "circle")
    end_exits = graph.draw(step, [(start, None)])
    end = graph.node("end", "circle")
    graph.connect(end_exits, end)
    return "\n".join(["flowchart TD", *graph.lines]) + "\n"


class _Graph:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._count = 0

    def node(self, label: str, shape: str = "box") -> str:
        self._count += 1
        node_id = f"n{self._count}"
        self.lines.append(f"    {node_id}{_SHAPES[shape].format(_escape(label))}")
        return node_id

    def connect(self, exits: list[Exit], target: str, *, dotted: bool = False) -> None:
        for source, label in exits:
            arrow = "-.->" if dotted else "-->"
            text = f"|{_escape(label)}|" if label else ""
            self.lines.append(f"    {source} {arrow}{text} {target}")

    def leaf(self, label: str, shape: str, entries: list[Exit]) -> list[Exit]:
        node_id = self.node(label, shape)
        self.connect(entries, node_id)
        return [(node_id, None)]

    def draw(self, step: Step[Any, Any], entries: list[Exit]) -> list[Exit]:
        """Draw ``step`` entered from ``entries``; return the exits leaving it."""
        if isinstance(step, Workflow):
            return self.draw(step.step, entries)
        if isinstance(step, Pipeline):
            for s in step.steps:
                entries = self.draw(s, entries)
            return entries
        if isinstance(step, Parallel | Map):
            return self._fan_out(step, entries)
        if isinstance(step, Branch):
            return self._branch(step, entries)
        if isinstance(step, Loop):
            return self._loop(step, entries)
        if isinstance(step, Wait):
            return self.leaf(step.describe(), "stadium", entries)
        if isinstance(step, Approval):
            return self.leaf(f"approval: {step.name}", "hexagon", entries)
        if isinstance(step, SubWorkflow):
            return self.leaf(f"workflow: {step.workflow_name}", "subroutine", entries)
        return self._generic(step, entries)

    def _generic(self, step: Step[Any, Any], entries: list[Exit]) -> list[Exit]:
        exits = self.leaf(step.name, "box", entries)
        for child in step.children():
            exits = self.draw(child, exits)
        return exits

    def _fan_out(self, step: Parallel[Any] | Map[Any, Any], entries: list[Exit]) -> list[Exit]:
        if isinstance(step, Map):
            limit = f", {step.concurrency} at a time" if step.concurrency else ""
            fork = self.leaf(f"for each item{limit}", "subroutine", entries)
        else:
            limit = f", {step.concurrency} at a time" if step.concurrency else ""
            fork = self.leaf(f"parallel ({step.policy}{limit})", "circle", entries)
        exits: list[Exit] = []
        for child in step.children():
            exits.extend(self.draw(child, fork))
        join = self.node("join", "circle")
        self.connect(exits, join)
        return [(join, None)]

    def _branch(self, step: Branch[Any], entries: list[Exit]) -> list[Exit]:
        decision = self.leaf(step.condition.describe(), "diamond", entries)[0][0]
        exits = self.draw(step.then, [(decision, "yes")])
        if step.otherwise is None:
            return [*exits, (decision, "no")]
        return exits + self.draw(step.otherwise, [(decision, "no")])

    def _loop(self, step: Loop[Any], entries: list[Exit]) -> list[Exit]:
        bound = f" (max {step.max_iterations})" if step.max_iterations else ""
        word = "until" if step.is_until else "while"
        label = f"{word} {step.condition.describe()}{bound}"
        if step.is_until:
            first = f"n{self._count + 1}"  # the body's first node, drawn next
            body_exits = self.draw(step.body, entries)
            test = self.node(label, "diamond")
            self.connect(body_exits, test)
            self.connect([(test, "no")], first, dotted=True)
            return [(test, "yes")]
        test = self.node(label, "diamond")
        self.connect(entries, test)
        body_exits = self.draw(step.body, [(test, "yes")])
        self.connect(body_exits, test, dotted=True)
        return [(test, "no")]


def _escape(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
