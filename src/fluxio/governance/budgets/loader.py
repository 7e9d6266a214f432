"""Load budgets from YAML with errors that say which budget, which field and how to fix it.

A file holds ``budgets:`` with a list, or the list itself::

    budgets:
      - name: acme-daily
        scope: day
        tenant: acme
        limit_usd: 50
      - name: triage-run
        scope: run
        workflow: triage
        limit_usd: 0.25
        limit_tokens: 20000
        on_breach: approval
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fluxio.errors import DefinitionError
from fluxio.governance.budgets.model import ANY, Breach, Budget, Mode, Period, ScopeKind

__all__ = ["BudgetSpec", "budgets_from", "load_budgets", "parse_budgets"]


class BudgetSpec(BaseModel):
    """One budget as written in YAML (see ``Budget`` for the fields)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    scope: ScopeKind
    limit_usd: float | None = Field(default=None, ge=0)
    limit_tokens: int | None = Field(default=None, ge=0)
    mode: Mode = "hard"
    on_breach: Breach = "stop"
    per: Period = "total"
    tenant: str = ANY
    workflow: str = ANY
    agent: str = ANY

    @model_validator(mode="after")
    def _has_a_limit(self) -> BudgetSpec:
        if self.limit_usd is None and self.limit_tokens is None:
            raise ValueError("give limit_usd, limit_tokens or both")
        return self

    def to_budget(self) -> Budget:
        """The budget this spec describes."""
        return Budget(**self.model_dump())


def load_budgets(path: str | Path) -> tuple[Budget, ...]:
    """Read and validate the budgets in a YAML (or JSON) file.

    Raises:
        DefinitionError: the file cannot be read, is not YAML, or a budget is invalid.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError(
            f"cannot read the budget file: {exc.strerror or exc}",
            file=str(file),
            suggestion="Check the path.",
        ) from exc
    return parse_budgets(text, str(file))


def parse_budgets(text: str, file: str = "<string>") -> tuple[Budget, ...]:
    """Validate the budgets in YAML ``text``; ``file`` names it in errors."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DefinitionError(f"not valid YAML: {exc}", file=file) from exc
    return budgets_from(data, file)


def budgets_from(data: Any, file: str = "<data>") -> tuple[Budget, ...]:
    """Validate budgets given as data: ``{"budgets": [...]}`` or a list of mappings."""
    if isinstance(data, Mapping) and set(data) == {"budgets"}:
        data = data["budgets"]
    if not isinstance(data, Sequence) or isinstance(data, str | bytes):
        raise DefinitionError(
            "expected a list of budgets",
            file=file,
            suggestion="Write `budgets:` followed by items like `- {name: daily, scope: day, "
            "limit_usd: 5}` (see docs/budgets.md).",
        )
    budgets = tuple(_budget(item, index, file) for index, item in enumerate(data))
    _unique(budgets, file)
    return budgets


def _budget(item: Any, index: int, file: str) -> Budget:
    label = f"budget #{index + 1}"
    if isinstance(item, Mapping) and isinstance(item.get("name"), str):
        label += f" ({item['name']!r})"
    if not isinstance(item, Mapping):
        raise DefinitionError(f"{label} must be a mapping, got {item!r}", file=file)
    try:
        return BudgetSpec.model_validate(dict(item)).to_budget()
    except ValidationError as exc:
        raise DefinitionError(f"{label}: {_first_problem(exc)}", file=file) from None


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        known = ", ".join(BudgetSpec.model_fields)
        return f"unknown field {where!r}; the fields are {known}"
    return f"{where}: {message}" if where else message


def _unique(budgets: tuple[Budget, ...], file: str) -> None:
    seen: set[str] = set()
    for budget in budgets:
        if budget.name in seen:
            raise DefinitionError(
                f"two budgets are named {budget.name!r}",
                file=file,
                suggestion="Give every budget its own name.",
            )
        seen.add(budget.name)
