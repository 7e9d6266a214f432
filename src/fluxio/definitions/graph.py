"""Dependency graph checks for workflow steps: cycles, in a form a person can read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["ancestors", "find_cycle", "reduce_edges"]


def find_cycle(order: Sequence[str], deps: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A dependency cycle as ``[a, b, c, a]`` (a depends on b ... on a), or ``None``.

    Args:
        order: every node, in the order to start searching (file order, for stable messages).
        deps: node -> the nodes it depends on.
    """
    done: set[str] = set()
    for start in order:
        if start in done:
            continue
        path: list[str] = []
        on_path: set[str] = set()
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:
            node, index = stack.pop()
            if index == 0:
                path.append(node)
                on_path.add(node)
            children = deps.get(node, ())
            if index < len(children):
                stack.append((node, index + 1))
                child = children[index]
                if child in on_path:
                    return [*path[path.index(child) :], child]
                if child not in done:
                    stack.append((child, 0))
                continue
            path.pop()
            on_path.discard(node)
            done.add(node)
    return None


def ancestors(order: Sequence[str], deps: Mapping[str, Sequence[str]]) -> dict[str, frozenset[str]]:
    """Every node's transitive dependencies (the graph must be acyclic)."""
    found: dict[str, frozenset[str]] = {}
    for start in order:
        stack = [start]
        while stack:
            node = stack[-1]
            pending = [d for d in deps.get(node, ()) if d not in found]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            if node not in found:
                result: set[str] = set()
                for dep in deps.get(node, ()):
                    result |= {dep, *found[dep]}
                found[node] = frozenset(result)
    return found


def reduce_edges(order: Sequence[str], deps: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Drop each dependency that is already implied through another one (transitive reduction).

    ``c`` depending on ``a`` and ``b`` where ``b`` depends on ``a`` keeps only ``b``.
    """
    above = ancestors(order, deps)
    return {
        node: [d for d in deps.get(node, ()) if not any(d in above[o] for o in deps[node])]
        for node in order
    }
