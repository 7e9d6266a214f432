"""Importing an optional provider SDK, with an install hint when it is missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from fluxio.errors import UsageError

__all__ = ["require"]


def require(module: str, *, extra: str, provider: str) -> ModuleType:
    """Import ``module`` or explain which extra to install.

    Raises:
        UsageError: the package is not installed; the message gives the pip command.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise UsageError(
            f"the {provider} provider needs the {module!r} package, which is not installed. "
            f"Install it with: pip install 'fluxio[{extra}]'"
        ) from exc
