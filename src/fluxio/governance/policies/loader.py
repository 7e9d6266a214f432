"""Load policies from YAML with errors that name the file, the line and the fix.

A file holds one policy, a list of policies, ``policies:`` with a list, or several YAML
documents (``---``) of those. Every policy is validated (schema and CEL) at load time; the
first problem becomes a ``DefinitionError`` with the file, the line of the offending value and
a suggestion (``did you mean 'forbid'?``).
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from fluxio.errors import DefinitionError
from fluxio.governance.policies.model import Policy
from fluxio.governance.policies.policyset import PolicySet
from fluxio.yamlsource import DataPath, parse_yaml

__all__ = ["load_policies", "parse_policies"]


def load_policies(path: str | Path) -> PolicySet:
    """Read, validate and compile the policies in a YAML (or JSON) file.

    Raises:
        DefinitionError: the file cannot be read or a policy is invalid (file, line, fix).
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError(
            f"cannot read the policy file: {exc.strerror or exc}",
            file=str(file),
            suggestion="Check the path.",
        ) from exc
    return PolicySet(parse_policies(text, str(file)))


def parse_policies(text: str, file: str = "<string>") -> tuple[Policy, ...]:
    """Validate the policies in YAML ``text``; ``file`` names it in errors."""
    found: list[tuple[Any, DataPath]] = []
    documents, line_map = parse_yaml(text, file, what="the policy file", multi=True)
    lines = line_map.lines
    for doc, data in enumerate(documents):
        found.extend(_policies_in(data, (doc,), file, lines))
    if not found:
        raise DefinitionError(
            "the file holds no policies",
            file=file,
            line=1,
            suggestion="Write a policy with `id:` and `rules:` (see docs/policies.md).",
        )
    policies = tuple(_validate(data, at, file, lines) for data, at in found)
    _check_unique(policies, found, file, lines)
    return policies


def _policies_in(
    data: Any, at: DataPath, file: str, lines: dict[DataPath, int]
) -> list[tuple[Any, DataPath]]:
    if data is None:
        return []
    if isinstance(data, dict) and set(data) == {"policies"}:
        data, at = data["policies"], (*at, "policies")
    if isinstance(data, list):
        return [(item, (*at, i)) for i, item in enumerate(data)]
    if isinstance(data, dict):
        return [(data, at)]
    raise DefinitionError(
        f"expected a policy (a mapping), a list of policies or `policies:`, not "
        f"{type(data).__name__}",
        file=file,
        line=_line(lines, at),
        suggestion="Start the policy with `id:` and `rules:` (see docs/policies.md).",
    )


def _validate(data: Any, at: DataPath, file: str, lines: dict[DataPath, int]) -> Policy:
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise _definition_error(exc, data, at, file, lines) from None


def _definition_error(
    exc: ValidationError, data: Any, at: DataPath, file: str, lines: dict[DataPath, int]
) -> DefinitionError:
    error = exc.errors()[0]
    loc = _data_loc(error["loc"])
    where = _where(data, loc)
    message, suggestion = _describe(error, loc)
    if suggestion and not message.endswith((".", "?")):
        message += "."
    return DefinitionError(
        f"{where}: {message}", file=file, line=_line(lines, (*at, *loc)), suggestion=suggestion
    )


def _data_loc(loc: Sequence[str | int]) -> DataPath:
    """Pydantic's error location without the union-member tags (``literal['*']``) it adds."""
    return tuple(p for p in loc if not (isinstance(p, str) and "[" in p))


def _where(data: Any, loc: DataPath) -> str:
    name = data.get("id") or data.get("policy_id") if isinstance(data, dict) else None
    label = f"policy {name!r}" if name else "policy"
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    return f"{label}, {field}" if field else label


def _describe(error: Any, loc: DataPath) -> tuple[str, str | None]:
    kind, message = error["type"], str(error["msg"])
    field = str(loc[-1]) if loc else "policy"
    if kind == "literal_error":
        return _literal(field, error)
    if kind == "extra_forbidden":
        allowed = _fields_at(loc[:-1])
        return f"unknown field `{field}`", _did_you_mean(field, allowed, "Fields here")
    if kind == "missing":
        return f"`{field}` is required", _MISSING_HINTS.get(field)
    if kind == "string_type" and isinstance(error.get("input"), bool):
        return (
            f"`{field}` is the boolean {error['input']!r}, not text: YAML reads yes, no, on, "
            "off, true and false unquoted as booleans",
            f'Quote it, e.g. `{field}: "no"`.',
        )
    if kind == "value_error":
        return message.removeprefix("Value error, "), None
    return message[0].lower() + message[1:], None


_MISSING_HINTS = {
    "id": "Give it a unique `id:` such as `no-delete`.",
    "rules": "Add `rules:` with at least one rule (type require, forbid, limit or transform).",
    "type": "Set `type:` to require, forbid, limit or transform.",
    "count": "Write e.g. `limit: {count: 20, period: day, key: agent}`.",
    "period": "Set `period:` to minute, hour or day.",
}


def _literal(field: str, error: Any) -> tuple[str, str | None]:
    expected = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
    given = error.get("input")
    noun = "rule type" if field == "type" else f"`{field}`"
    message = f"unknown {noun} {given!r}" if field == "type" else f"{noun} is {given!r}"
    return message, _did_you_mean(str(given), expected, "Choose from")


def _did_you_mean(word: str, choices: Sequence[str], label: str) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    listing = f"{label}: {', '.join(choices)}."
    return f"Did you mean {close[0]!r}? {listing}" if close else listing


def _fields_at(loc: DataPath) -> list[str]:
    """The field names (and aliases) of the schema model found at ``loc`` inside a Policy."""
    model: type[BaseModel] | None = Policy
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        model = _model_in(field.annotation) if field is not None else None
    if model is None:
        return []
    names = list(model.model_fields)
    for info in model.model_fields.values():
        choices = getattr(info.validation_alias, "choices", ())
        names += [c for c in choices if isinstance(c, str) and c not in names]
    return names


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated or origin in (tuple, list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _check_unique(
    policies: Sequence[Policy],
    found: Sequence[tuple[Any, DataPath]],
    file: str,
    lines: dict[DataPath, int],
) -> None:
    seen: set[str] = set()
    for policy, (_, at) in zip(policies, found, strict=True):
        if policy.id in seen:
            raise DefinitionError(
                f"policy id {policy.id!r} is used twice",
                file=file,
                line=_line(lines, (*at, "id")),
                suggestion="Give every policy its own id.",
            )
        seen.add(policy.id)


def _line(lines: dict[DataPath, int], path: DataPath) -> int | None:
    key = tuple(path)
    while key:
        if key in lines:
            return lines[key]
        key = key[:-1]
    return None
