"""How a tool runs: ``Tool`` (a contract plus a function) and ``call_tool``, the journaled step.

``Tool.invoke`` is the step body. It refuses retired tools, checks the arguments against the
contract's input schema, calls the function (sync functions in a worker thread), turns the
result into JSON and checks it against the output schema. ``call_tool`` runs ``invoke`` as a
durable step whose options come from the contract, so retries, timeouts and crash recovery
follow what the contract says.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator
from pydantic_core import PydanticSerializationError, to_jsonable_python

from fluxio.dsl.options import NO_RETRY, StepOptions
from fluxio.errors import ToolInputInvalid, ToolUnavailable
from fluxio.tools.contract import ToolContract, ToolError

if TYPE_CHECKING:
    from fluxio.engine.context import RunContext

__all__ = ["Tool", "call_tool", "check_value"]

logger = logging.getLogger("fluxio.tools")


@dataclass(frozen=True, eq=False)
class Tool:
    """A callable tool: its contract and the function that does the work.

    ``@tool`` builds these from typed functions; YAML, OpenAPI and MCP tools pass an
    ``async def fn(**arguments)``. Calling the tool object directly calls ``fn`` with no checks
    and no journal; inside a run use ``call_tool`` (or ``invoke`` as a step body).

    Args:
        contract: what the tool accepts, returns and how it must be run.
        fn: the function, called with the arguments as keyword arguments.
    """

    contract: ToolContract
    fn: Callable[..., Any]
    _warned: set[str] = field(default_factory=set, init=False, repr=False)

    @property
    def name(self) -> str:
        """The tool's name."""
        return self.contract.name

    @property
    def version(self) -> str:
        """The tool's semantic version."""
        return self.contract.version

    @property
    def description(self) -> str:
        """What the tool does."""
        return self.contract.description

    @property
    def options(self) -> StepOptions:
        """The step options the contract implies (same as ``step_options()``)."""
        return self.step_options()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the underlying function directly: no validation, no journal."""
        target = getattr(self.fn, "__wrapped__", self.fn)
        return target(*args, **kwargs)

    async def invoke(self, arguments: Mapping[str, Any]) -> Any:
        """Check ``arguments``, call the tool, check and return its JSON result.

        Raises:
            ToolUnavailable: the tool is retired or past its sunset date.
            ToolInputInvalid: the arguments or the result break the contract's schemas.
            ToolError: the tool failed with one of its typed errors.
        """
        self._check_available()
        if not isinstance(arguments, Mapping):
            raise ToolInputInvalid(
                f"tool {self.name!r} takes an object of named arguments, got "
                f"{type(arguments).__name__}"
            )
        args = dict(arguments)
        inputs, outputs = self._validators
        _check(inputs, args, f"tool {self.name!r}", "argument")
        result = self._json(await self._call(args))
        if outputs is not None:
            _check(outputs, result, f"tool {self.name!r}", "result")
        return result

    def step_options(self) -> StepOptions:
        """How a call to this tool runs as a step: timeout, retry, side effects, metadata.

        A tool with side effects that is not idempotent gets no retries unless its contract
        names a retry policy: repeating it blindly could do the effect twice.
        """
        contract = self.contract
        retry = contract.retry_policy()
        if retry is None and contract.side_effects and not contract.idempotent:
            retry = NO_RETRY
        return StepOptions(
            retry=retry,
            timeout=contract.timeout,
            side_effects=contract.side_effects,
            idempotent=contract.idempotent,
            metadata={"kind": "tool", "tool": contract.name, "tool_contract": contract},
        )

    def definition(self) -> dict[str, Any]:
        """The tool as a model sees it: name, description and the parameters' JSON Schema."""
        return {
            "name": self.name,
            "description": self.description,
            "parameters": self.contract.input_schema,
        }

    @functools.cached_property
    def _validators(self) -> tuple[Validator, Validator | None]:
        output = self.contract.output_schema
        return _validator(self.contract.input_schema), _validator(output) if output else None

    def _check_available(self) -> None:
        contract = self.contract
        status = contract.effective_status()
        if status == "retired":
            raise ToolUnavailable(
                f"tool {self.name!r} {self.version} is retired{_successor(contract)}"
            )
        if status == "deprecated" and "deprecated" not in self._warned:
            self._warned.add("deprecated")
            sunset = f", retired from {contract.sunset_date}" if contract.sunset_date else ""
            logger.warning(
                "tool %r %s is deprecated%s%s",
                self.name,
                self.version,
                sunset,
                _successor(contract),
            )

    async def _call(self, args: dict[str, Any]) -> Any:
        try:
            if inspect.iscoroutinefunction(self.fn):
                return await self.fn(**args)
            result = await asyncio.to_thread(self.fn, **args)
            return await result if inspect.isawaitable(result) else result
        except ToolError as exc:
            raise self._typed(exc) from exc

    def _typed(self, exc: ToolError) -> ToolError:
        spec = self.contract.error_spec(exc.code)
        retryable = spec.recoverable if spec is not None else exc.retryable
        message = f"tool {self.name!r} failed with {exc.code}: {exc.message}"
        return ToolError(exc.code, message, retryable=retryable)

    def _json(self, result: Any) -> Any:
        try:
            return to_jsonable_python(result)
        except PydanticSerializationError as exc:
            raise ToolInputInvalid(
                f"tool {self.name!r} returned a {type(result).__name__}, which is not "
                f"JSON-serializable ({exc}); return JSON data or a pydantic model"
            ) from exc


def _successor(contract: ToolContract) -> str:
    return f"; use {contract.deprecated_by!r} instead" if contract.deprecated_by else ""


def check_value(schema: Mapping[str, Any], value: Any, who: str, what: str) -> None:
    """Raise ``ToolInputInvalid`` naming the field if ``value`` breaks ``schema``.

    Args:
        schema: a JSON Schema (already checked against its meta-schema).
        value: the JSON value to check.
        who: the subject of the message, e.g. ``"tool 'send_email'"``.
        what: ``"argument"`` or ``"result"``: how a field is named in the message.
    """
    _check(_validator(schema), value, who, what)


def _validator(schema: Mapping[str, Any]) -> Validator:
    cls = jsonschema.validators.validator_for(schema, jsonschema.Draft202012Validator)
    return cls(schema)


def _check(validator: Validator, value: Any, who: str, what: str) -> None:
    errors = list(validator.iter_errors(value))
    if not errors:
        return
    error: ValidationError = best_match(errors)
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    raise ToolInputInvalid(f"{who} {_field(error, what)}: {error.message}{more}")


def _field(error: ValidationError, what: str) -> str:
    path = ""
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    if path:
        return f"{what} {path!r}"
    return "arguments" if what == "argument" else what


async def call_tool(
    ctx: RunContext, tool: Tool, arguments: Mapping[str, Any], key: str | None = None
) -> Any:
    """Call ``tool`` as a journaled step of the run and return its JSON result.

    On replay the recorded result is returned without calling the tool. The step is named
    ``tool:<name>``, its payload is the arguments dict (interceptors may rewrite it), and its
    options are ``tool.step_options()``.

    Args:
        ctx: the run's context.
        tool: the tool to call.
        arguments: the named arguments.
        key: an explicit step key; default is the next key in this scope.
    """
    step: Callable[[dict[str, Any]], Awaitable[Any]] = tool.invoke
    return await ctx.step(
        step, dict(arguments), name=f"tool:{tool.name}", key=key, options=tool.step_options()
    )
