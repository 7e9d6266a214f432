"""``format_output``: render data as text, markdown, HTML or JSON, through a sandboxed template.

Templates run in Jinja2's immutable sandbox with ``StrictUndefined``: reaching for internals
(``__class__``, ``__globals__``...) or calling methods that change data is refused, a misspelt
variable is an error rather than an empty string, and the output is capped in size. HTML output
escapes every value unless the template marks it ``|safe``.
"""

from __future__ import annotations

import asyncio
import html
import json
from functools import cache
from typing import Any, Literal

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel

from fluxio.errors import UsageError
from fluxio.tools import tool

__all__ = ["FormattedOutput", "OutputFormat", "format_output"]

OutputFormat = Literal["text", "markdown", "html", "json"]


class FormattedOutput(BaseModel):
    """What ``format_output`` returns."""

    formatted: str
    format: OutputFormat


@tool(
    category="text",
    tags=("text", "template", "format"),
    capabilities=("format_output",),
    timeout=10.0,
)
async def format_output(
    data: Any,
    format: OutputFormat = "text",
    template: str | None = None,
    max_chars: int = 1_000_000,
) -> FormattedOutput:
    """Render data as text, markdown, html or json, optionally through a Jinja2 template.

    Args:
        data: the JSON value to render; in a template it is `data`, and the keys of an
            object are also variables of their own.
        format: 'text', 'markdown', 'html' (values are HTML-escaped) or 'json'.
        template: a Jinja2 template such as "Hello {{ name }}"; without one the data is
            pretty-printed as JSON (inside <pre> for html).
        max_chars: refuse to produce more than this many characters.
    """
    if template is None:
        return FormattedOutput(formatted=_plain(data, format), format=format)
    text = await asyncio.to_thread(_render, template, data, format, max_chars)
    return FormattedOutput(formatted=text, format=format)


def _plain(data: Any, fmt: OutputFormat) -> str:
    if isinstance(data, str) and fmt != "json":
        return html.escape(data) if fmt == "html" else data
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    return f"<pre>{html.escape(text)}</pre>" if fmt == "html" else text


@cache
def _environment(autoescape: bool) -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=autoescape, keep_trailing_newline=True
    )


def _render(template: str, data: Any, fmt: OutputFormat, max_chars: int) -> str:
    env = _environment(fmt == "html")
    fields = data if isinstance(data, dict) else {}
    variables = {k: v for k, v in fields.items() if isinstance(k, str) and k.isidentifier()}
    variables["data"] = data
    try:
        compiled = env.from_string(template)
        return _bounded(compiled.generate(**variables), max_chars)
    except SecurityError as exc:
        raise UsageError(
            f"format_output refused the template: {exc}; templates may read data fields and "
            "use filters, but not reach Python internals or change the data"
        ) from exc
    except TemplateSyntaxError as exc:
        raise UsageError(
            f"format_output: the template has a syntax error on line {exc.lineno}: {exc.message}"
        ) from exc
    except UndefinedError as exc:
        names = ", ".join(sorted(variables))
        raise UsageError(f"format_output: {exc.message}; the template can use: {names}") from exc
    except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise UsageError(f"format_output: the template failed: {exc}") from exc


def _bounded(parts: Any, max_chars: int) -> str:
    out: list[str] = []
    size = 0
    for part in parts:
        size += len(part)
        if size > max_chars:
            raise UsageError(
                f"format_output: the rendered output is over {max_chars} characters; "
                "raise max_chars or render less"
            )
        out.append(part)
    return "".join(out)
