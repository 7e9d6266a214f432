"""The budget decision, the same for every ledger: may this much more be held?

``judge`` runs inside the ledger's transaction, over the counters of the scopes a step is
charged to, so the answer and the hold it leads to are one atomic change. A dimension (dollars,
tokens) is exceeded when the step costs something in it and spent + held + the step's
estimate would go past the limit; reaching the limit exactly is allowed.

With several budgets exceeded at once the most restrictive action wins:
``stop`` (raise ``BudgetExceeded``) over ``approval`` over ``replan``; soft budgets only warn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from fluxio.errors import BudgetExceeded
from fluxio.governance.budgets.model import Breach, Budget, Scope

__all__ = ["Covered", "Totals", "Verdict", "excess", "judge"]

_EPSILON = 1e-9
_ORDER: tuple[Breach, ...] = ("stop", "approval", "replan")


@dataclass(frozen=True, slots=True)
class Totals:
    """One scope's counters: what was spent, and what is held for steps still running."""

    usd: float = 0.0
    tokens: int = 0
    held_usd: float = 0.0
    held_tokens: int = 0

    @property
    def committed_usd(self) -> float:
        """Spent plus held dollars."""
        return self.usd + self.held_usd

    @property
    def committed_tokens(self) -> int:
        """Spent plus held tokens."""
        return self.tokens + self.held_tokens


@dataclass(frozen=True, slots=True)
class Covered:
    """A budget that covers a step, with the scope it counts that step's spend in."""

    budget: Budget
    scope: Scope


@dataclass(frozen=True, slots=True)
class Verdict:
    """What holding the step's estimate would do: soft warnings, and a hard breach if any."""

    warnings: tuple[str, ...] = ()
    breach: Literal["approval", "replan"] | None = None
    budget: str = ""
    reason: str = ""


def judge(
    covered: Sequence[Covered],
    totals: Mapping[str, Totals],
    usd: float,
    tokens: int,
    *,
    what: str = "this step",
    force: bool = False,
) -> Verdict:
    """Decide whether ``usd``/``tokens`` more may be held against the covering budgets.

    Args:
        covered: the budgets covering the step and their scopes.
        totals: the scopes' counters, by scope key.
        usd: the step's estimated dollars.
        tokens: the step's estimated tokens.
        what: names the step in messages (``step 3 (model:gpt-4o) of run r-1``).
        force: an approval allowed the overspend: hard budgets only warn.

    Raises:
        BudgetExceeded: a hard budget with ``on_breach: stop`` would be exceeded.
    """
    warnings: list[str] = []
    breaches: list[tuple[Budget, str]] = []
    for item in covered:
        problem = excess(item.budget, totals.get(item.scope.key, Totals()), usd, tokens)
        if problem is None:
            continue
        if item.budget.mode == "soft" or force:
            warnings.append(f"budget {item.budget.name!r}: {problem}")
        else:
            breaches.append((item.budget, problem))
    if not breaches:
        return Verdict(tuple(warnings))
    budget, problem = min(breaches, key=lambda b: _ORDER.index(b[0].on_breach))
    reason = f"{what} would exceed budget {budget.describe()}: {problem}"
    if budget.on_breach == "stop":
        raise BudgetExceeded(
            f"{reason}. The call was not made; raise the budget's limit or wait for its "
            "period to reset.",
            budget=budget.name,
        )
    action: Literal["approval", "replan"] = (
        "approval" if budget.on_breach == "approval" else "replan"
    )
    return Verdict(tuple(warnings), action, budget.name, reason)


def excess(budget: Budget, total: Totals, usd: float, tokens: int) -> str | None:
    """Why holding ``usd``/``tokens`` more would take ``budget`` past a limit, or ``None``."""
    limit_usd, limit_tokens = budget.limit_usd, budget.limit_tokens
    if limit_usd is not None and usd > 0 and total.committed_usd + usd > limit_usd + _EPSILON:
        return (
            f"${total.usd:.6f} spent + ${total.held_usd:.6f} held + ${usd:.6f} estimated > "
            f"${limit_usd:.6f}"
        )
    if limit_tokens is not None and tokens > 0 and total.committed_tokens + tokens > limit_tokens:
        return (
            f"{total.tokens} tokens spent + {total.held_tokens} held + {tokens} estimated > "
            f"{limit_tokens}"
        )
    return None
