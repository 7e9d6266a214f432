"""Data mapping for ``inputs`` and ``outputs``: JMESPath expressions or ``{value: ...}`` literals.

The one rule: a string is always a JMESPath expression evaluated against the step data
``{"input": <run input>, "steps": {<id>: {"output", "status", "error"}}}``; a literal is written
``{value: <anything>}`` (or as a number, boolean or null, which cannot be expressions). So
``text: steps.parse.output.body`` reads a value and ``greeting: {value: "hello"}`` passes one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from fluxio.definitions.source import Path, Source
from fluxio.definitions.tools import closest
from fluxio.errors import DefinitionError, UsageError
from fluxio.expressions import JmesPath, compile_jmespath

__all__ = ["DataMapping", "MappedValue", "compile_mapping", "compile_value"]

_ROOT_CHILDREN = {
    "projection": 1,
    "filter_projection": 1,
    "flatten": 1,
    "pipe": 1,
    "index_expression": 1,
}
_ALL_CHILDREN = {
    "comparator",
    "or_expression",
    "and_expression",
    "not_expression",
    "multi_select_list",
    "multi_select_dict",
    "key_val_pair",
    "function_expression",
}


@dataclass(frozen=True)
class MappedValue:
    """One mapped value: a compiled JMESPath expression, or a literal."""

    expression: JmesPath | None = None
    literal: Any = None

    def resolve(self, data: Mapping[str, Any]) -> Any:
        """The value for ``data`` (the expression's result, or the literal)."""
        if self.expression is None:
            return self.literal
        return self.expression.search(data)

    def describe(self) -> str:
        """The value as written, for summaries and graphs."""
        return self.expression.source if self.expression else f"{self.literal!r}"


@dataclass(frozen=True)
class DataMapping:
    """Named values mapped from step data; ``resolve`` gives the resulting dictionary."""

    entries: tuple[tuple[str, MappedValue], ...] = ()

    def resolve(self, data: Mapping[str, Any], *, where: str) -> dict[str, Any]:
        """Evaluate every entry; ``where`` names the owner in error messages."""
        result: dict[str, Any] = {}
        for name, value in self.entries:
            try:
                result[name] = value.resolve(data)
            except UsageError as exc:
                raise UsageError(f"{where}: mapping {name!r} failed: {exc}") from exc
        return result


def compile_mapping(
    raw: Mapping[str, Any],
    source: Source,
    path: Path,
    *,
    label: str,
    roots: tuple[str, ...],
    step_ids: tuple[str, ...],
) -> tuple[DataMapping, set[str]]:
    """Compile a mapping; returns it and the ids of the steps it reads from.

    Raises:
        DefinitionError: a value is neither an expression nor a literal, an expression does
            not parse, or it reads a root or step that does not exist.
    """
    entries: list[tuple[str, MappedValue]] = []
    refs: set[str] = set()
    for name, raw_value in raw.items():
        value, value_refs = compile_value(
            raw_value,
            source,
            (*path, name),
            label=f"{label} {name!r}",
            roots=roots,
            step_ids=step_ids,
        )
        entries.append((str(name), value))
        refs |= value_refs
    return DataMapping(tuple(entries)), refs


def compile_value(
    raw: Any,
    source: Source,
    path: Path,
    *,
    label: str,
    roots: tuple[str, ...],
    step_ids: tuple[str, ...],
) -> tuple[MappedValue, set[str]]:
    """Compile one mapped value (see the module docstring for the rule)."""
    if isinstance(raw, dict) and set(raw) == {"value"}:
        return MappedValue(literal=raw["value"]), set()
    if raw is None or isinstance(raw, bool | int | float):
        return MappedValue(literal=raw), set()
    if not isinstance(raw, str):
        raise source.error(
            f"{label} must be a JMESPath expression string or a literal, got {type(raw).__name__}",
            path,
            suggestion=f"To pass this value as it is, write it as `{{value: {raw!r}}}`.",
        )
    try:
        expression = compile_jmespath(raw)
    except DefinitionError as exc:
        raise source.error(
            f"{label}: {exc.message}",
            path,
            suggestion=f"Strings are JMESPath expressions reading {_roots(roots)}; to pass the "
            f"text itself write `{{value: {raw!r}}}`.",
        ) from exc
    refs = _check_references(expression, source, path, label, roots, step_ids)
    return MappedValue(expression=expression), refs


def _check_references(
    expression: JmesPath,
    source: Source,
    path: Path,
    label: str,
    roots: tuple[str, ...],
    step_ids: tuple[str, ...],
) -> set[str]:
    refs: set[str] = set()
    for chain in _root_chains(expression._parsed.parsed):
        head = chain[0]
        if head not in roots:
            hint = closest(head, roots)
            if head in step_ids:
                hint_text = f"To read step {head!r}, write `steps.{head}.output`."
            elif hint:
                hint_text = f"Did you mean `{hint}`?"
            else:
                hint_text = f"Expressions read {_roots(roots)}; write `{{value: ...}}` for text."
            raise source.error(
                f"{label}: {expression.source!r} reads {head!r}, which does not exist",
                path,
                suggestion=hint_text,
            )
        if head == "steps" and len(chain) > 1:
            step = chain[1]
            if step not in step_ids:
                hint = closest(step, list(step_ids))
                raise source.error(
                    f"{label}: {expression.source!r} refers to step {step!r}, which is "
                    "not defined in this workflow",
                    path,
                    suggestion=f"Did you mean `steps.{hint}`?"
                    if hint
                    else f"Defined steps: {', '.join(step_ids)}.",
                )
            refs.add(step)
    return refs


def _root_chains(node: Mapping[str, Any]) -> Iterator[list[str]]:
    """The leading field chains of every sub-expression evaluated against the root data."""
    kind = node["type"]
    children = node.get("children", [])
    if kind == "field":
        yield [node["value"]]
    elif kind == "subexpression":
        first = list(_root_chains(children[0]))
        if len(first) == 1 and children[0]["type"] in {"field", "subexpression"}:
            chain = first[0]
            for child in children[1:]:
                if child["type"] != "field":
                    break
                chain = [*chain, child["value"]]
            yield chain
        else:
            yield from first
    elif kind in _ROOT_CHILDREN:
        yield from _root_chains(children[0])
    elif kind in _ALL_CHILDREN:
        for child in children:
            if child["type"] != "expref":
                yield from _root_chains(child)


def _roots(roots: tuple[str, ...]) -> str:
    return " and ".join(f"`{r}`" for r in roots)
