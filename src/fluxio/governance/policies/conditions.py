"""CEL conditions compiled for the hot path, with ``fluxio.expressions`` as the reference.

Policies are evaluated before every step, so a condition must cost microseconds, not the
~50-150 µs of cel-python's tree-walking interpreter plus converting the whole context to CEL
values. ``compile_condition`` therefore validates the expression with ``compile_cel`` (the one
CEL adapter) and also compiles the common subset of CEL into plain Python closures over plain
JSON-like values:

- literals (int, double, string, bool, null), variables, ``a.b``, ``a[i]``, ``[x, y]``;
- ``== != < <= > >= in``, ``&& || !``, ``+ - * / %``, ``c ? x : y``;
- ``size(x)``, ``x.size()``, ``double(n)``, ``int(n)``, ``has(a.b)``, ``s.startsWith(t)``,
  ``s.endsWith(t)``, ``s.contains(t)``, ``list.exists(v, p)``, ``list.all(v, p)``.

Whenever the fast path meets a case whose CEL meaning it does not model exactly (mixed-type
equality, a missing key, an overflow, a non-boolean operand), it gives up on that evaluation and
the reference interpreter answers, so results and errors are always cel-python's. Expressions
outside the subset (``matches``, ``timestamp()``, map literals...) always use the interpreter.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import celpy
from celpy.celparser import CELParseError
from lark import Token, Tree

from fluxio.errors import DefinitionError, UsageError
from fluxio.expressions import CelExpression, compile_cel, to_python

__all__ = ["Condition", "compile_condition"]

Fn = Callable[[Mapping[str, Any]], Any]
_PARSER = celpy.Environment()
_INT64 = (-(2**63), 2**63 - 1)
_SCALARS = frozenset({"bool", "int", "double", "string", "null"})


class _Fallback(Exception):
    """The fast path cannot decide this evaluation exactly as CEL would."""


class _Unsupported(Exception):
    """The expression uses CEL outside the fast subset."""


@dataclass(frozen=True)
class Condition:
    """A compiled CEL condition: fast closures where possible, cel-python otherwise.

    Attributes:
        source: the CEL text.
        names: the context variables the expression refers to (macro variables excluded).
        fast: whether the fast path handles this expression.
    """

    source: str
    names: frozenset[str]
    _cel: CelExpression = field(repr=False, compare=False)
    _fast: Fn | None = field(repr=False, compare=False)

    @property
    def fast(self) -> bool:
        """Whether evaluations normally avoid the reference interpreter."""
        return self._fast is not None

    def evaluate(self, variables: Mapping[str, Any]) -> Any:
        """The expression's value over plain JSON-like ``variables``. Raises ``UsageError``."""
        if self._fast is not None:
            try:
                return self._fast(variables)
            except _Fallback:
                pass
        used = {name: variables[name] for name in self.names if name in variables}
        return self._cel.evaluate(used)

    def test(self, variables: Mapping[str, Any]) -> bool:
        """Evaluate as a condition; a non-boolean result is a ``UsageError``."""
        result = self.evaluate(variables)
        if not isinstance(result, bool):
            raise UsageError(
                f"CEL condition {self.source!r} gave {type(result).__name__} {result!r}, "
                "not a boolean; compare explicitly, e.g. `x == true` or `size(x) > 0`"
            )
        return result


@functools.lru_cache(maxsize=4096)
def compile_condition(source: str) -> Condition:
    """Compile CEL ``source``; raises ``DefinitionError`` with the parse error when invalid.

    Compiled conditions are immutable, so the same text is compiled once per process.
    """
    tree = _parse(source)
    cel = compile_cel(source)
    names = frozenset(
        str(node.children[0]) for node in tree.iter_subtrees() if node.data == "ident"
    )
    names -= _bound_names(tree)
    try:
        fast: Fn | None = _Compiler().node(tree)
    except _Unsupported:
        fast = None
    return Condition(source, names, cel, fast)


_MACROS = frozenset({"all", "exists", "exists_one", "filter", "map"})


def _bound_names(tree: Tree[Token]) -> set[str]:
    """Variables that macros such as ``list.exists(t, ...)`` bind, which are not context."""
    bound = set()
    for node in tree.find_data("member_dot_arg"):
        args = node.children[2] if len(node.children) > 2 else None
        if str(node.children[1]) in _MACROS and isinstance(args, Tree):
            first = args.children[0]
            if isinstance(first, Tree) and _innermost(first).data == "ident":
                bound.add(str(_innermost(first).children[0]))
    return bound


def _parse(source: str) -> Tree[Token]:
    try:
        tree: Tree[Token] = _PARSER.compile(source)
    except CELParseError as exc:
        column = getattr(exc, "column", None) or len(source) + 1
        token = getattr(exc.__context__, "token", None)
        rest = "" if getattr(token, "type", "") == "$END" else source[column - 1 :].strip()
        where = f"unexpected {rest[:20]!r} at column {column}" if rest else "it ends too early"
        raise DefinitionError(
            f"invalid CEL expression {source!r}: {where}", suggestion=_hint(source)
        ) from None
    return tree


def _hint(source: str) -> str:
    text = f" {source} "
    if re.search(r"[^=!<>]=[^=]", text):
        return "Compare with == (a single = is not CEL)."
    if re.search(r"\s(and|or|not)\s", text):
        return "CEL writes `and`, `or`, `not` as &&, ||, !."
    return "Check brackets, quotes and operators; CEL uses &&, ||, ! and == (see https://cel.dev)."


_KINDS: dict[type, str] = {
    bool: "bool",
    int: "int",
    float: "double",
    str: "string",
    type(None): "null",
    list: "list",
    tuple: "list",
    dict: "map",
}


def _kind(value: Any) -> str:
    """The CEL type family of a plain value (``other`` for anything not JSON-like)."""
    kind = _KINDS.get(type(value))
    return kind if kind is not None else _subclass_kind(value)


def _subclass_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return "list"
    return "map" if isinstance(value, dict) else "other"


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Fallback
    return value


def _int64(value: int) -> int:
    if not _INT64[0] <= value <= _INT64[1]:
        raise _Fallback
    return value


class _Compiler:
    """Turns a cel-python parse tree into closures; raises ``_Unsupported`` outside the subset."""

    def node(self, tree: Tree[Token] | Token) -> Fn:
        if not isinstance(tree, Tree):
            raise _Unsupported
        handler = getattr(self, f"_{tree.data}", None)
        if handler is None:
            raise _Unsupported
        fn: Fn = handler(tree.children)
        return fn

    def _pass(self, children: Sequence[Any]) -> Fn:
        if len(children) != 1:
            raise _Unsupported
        return self.node(children[0])

    _member = _primary = _paren_expr = _pass

    def _expr(self, children: Sequence[Any]) -> Fn:
        if len(children) == 1:
            return self.node(children[0])
        cond, yes, no = (self.node(c) for c in children)
        return lambda v: yes(v) if _bool(cond(v)) else no(v)

    def _conditionalor(self, children: Sequence[Any]) -> Fn:
        if len(children) == 1:
            return self.node(children[0])
        left, right = self.node(children[0]), self.node(children[1])
        return lambda v: _bool(left(v)) or _bool(right(v))

    def _conditionaland(self, children: Sequence[Any]) -> Fn:
        if len(children) == 1:
            return self.node(children[0])
        left, right = self.node(children[0]), self.node(children[1])
        return lambda v: _bool(left(v)) and _bool(right(v))

    def _binary(self, children: Sequence[Any], ops: Mapping[str, Callable[[Any, Any], Any]]) -> Fn:
        if len(children) == 1:
            return self.node(children[0])
        operator, right_tree = children
        op = ops[operator.data]
        left, right = self.node(operator.children[0]), self.node(right_tree)
        return lambda v: op(left(v), right(v))

    def _relation(self, children: Sequence[Any]) -> Fn:
        return self._binary(children, _RELATIONS)

    def _addition(self, children: Sequence[Any]) -> Fn:
        return self._binary(children, _ARITHMETIC)

    def _multiplication(self, children: Sequence[Any]) -> Fn:
        return self._binary(children, _ARITHMETIC)

    def _unary(self, children: Sequence[Any]) -> Fn:
        if len(children) == 1:
            return self.node(children[0])
        operand = self.node(children[1])
        if children[0].data == "unary_not":
            return lambda v: not _bool(operand(v))
        return lambda v: _negate(operand(v))

    def _literal(self, children: Sequence[Any]) -> Fn:
        value = to_python(_PARSER.program(_PARSER.compile(str(children[0]))).evaluate({}))
        if _kind(value) not in _SCALARS or str(children[0])[-1:] in ("u", "U"):
            raise _Unsupported
        return lambda v: value

    def _ident(self, children: Sequence[Any]) -> Fn:
        name = str(children[0])

        def lookup(v: Mapping[str, Any]) -> Any:
            if name not in v:
                raise _Fallback
            return v[name]

        return lookup

    def _member_dot(self, children: Sequence[Any]) -> Fn:
        base, name = self.node(children[0]), str(children[1])
        return lambda v: _field(base(v), name)

    def _member_index(self, children: Sequence[Any]) -> Fn:
        base, index = self.node(children[0]), self.node(children[1])
        return lambda v: _index(base(v), index(v))

    def _list_lit(self, children: Sequence[Any]) -> Fn:
        items = self._args(children)
        return lambda v: [item(v) for item in items]

    def _args(self, children: Sequence[Any]) -> list[Fn]:
        if not children:
            return []
        return [self.node(c) for c in children[0].children]

    def _ident_arg(self, children: Sequence[Any]) -> Fn:
        name, rest = str(children[0]), children[1:]
        arguments = rest[0].children if rest else []
        if name == "has" and len(arguments) == 1:
            dot = _innermost(arguments[0])
            if dot.data == "member_dot":
                base, field_name = self.node(dot.children[0]), str(dot.children[1])
                return lambda v: _has_field(base(v), field_name)
        if name in _CONVERSIONS and len(arguments) == 1:
            arg, convert = self.node(arguments[0]), _CONVERSIONS[name]
            return lambda v: convert(arg(v))
        raise _Unsupported

    def _member_dot_arg(self, children: Sequence[Any]) -> Fn:
        target, method, rest = self.node(children[0]), str(children[1]), children[2:]
        if method in ("exists", "all"):
            return self._macro(target, method, rest)
        args = self._args(rest)
        if method == "size" and not args:
            return lambda v: _size(target(v))
        if method in _STRING_METHODS and len(args) == 1:
            test, (arg,) = _STRING_METHODS[method], args
            return lambda v: test(_string(target(v)), _string(arg(v)))
        raise _Unsupported

    def _macro(self, target: Fn, method: str, rest: Sequence[Any]) -> Fn:
        if not rest or len(rest[0].children) != 2:
            raise _Unsupported
        var_tree, body_tree = rest[0].children
        ident = _innermost(var_tree)
        if ident.data != "ident":
            raise _Unsupported
        var, body = str(ident.children[0]), self.node(body_tree)
        want = method == "exists"

        def run(v: Mapping[str, Any]) -> bool:
            items = target(v)
            if _kind(items) != "list":
                raise _Fallback
            scope = dict(v)
            for item in items:
                scope[var] = item
                if _bool(body(scope)) is want:
                    return want
            return not want

        return run


_CHAIN = frozenset(
    {"expr", "conditionalor", "conditionaland", "relation", "addition", "multiplication"}
    | {"unary", "member", "primary"}
)


def _innermost(tree: Tree[Token]) -> Tree[Token]:
    """The first node below ``tree`` that is more than a one-child precedence wrapper."""
    while tree.data in _CHAIN and len(tree.children) == 1 and isinstance(tree.children[0], Tree):
        tree = tree.children[0]
    return tree


def _field(base: Any, name: str) -> Any:
    if not isinstance(base, dict) or name not in base:
        raise _Fallback
    return base[name]


def _has_field(base: Any, name: str) -> bool:
    if not isinstance(base, dict):
        raise _Fallback
    return name in base


def _index(base: Any, key: Any) -> Any:
    if isinstance(base, dict) and _kind(key) == "string" and key in base:
        return base[key]
    if isinstance(base, list | tuple) and _kind(key) == "int" and 0 <= key < len(base):
        return base[key]
    raise _Fallback


def _size(value: Any) -> int:
    if _kind(value) not in ("string", "list", "map"):
        raise _Fallback
    return len(value)


def _to_double(value: Any) -> float:
    if _kind(value) not in ("int", "double"):
        raise _Fallback
    return float(value)


def _to_int(value: Any) -> int:
    kind = _kind(value)
    if kind == "int":
        return int(value)
    if kind == "double" and abs(value) < 2**63:
        return _int64(int(value))
    raise _Fallback


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise _Fallback
    return value


def _negate(value: Any) -> Any:
    kind = _kind(value)
    if kind == "int":
        return _int64(-value)
    if kind == "double":
        return -value
    raise _Fallback


def _equal(a: Any, b: Any) -> bool:
    kind = _kind(a)
    if kind != _kind(b) or kind not in _SCALARS:
        raise _Fallback
    return bool(a == b)


def _ordered(a: Any, b: Any) -> tuple[Any, Any]:
    ka, kb = _kind(a), _kind(b)
    if ka in ("int", "double") and kb in ("int", "double") and (ka, kb) != ("int", "double"):
        return a, b  # cel-python orders double against int, but not int against double
    if ka == kb == "string":
        return a, b
    raise _Fallback


def _compare(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda a, b: test(*_ordered(a, b))


def _contained(item: Any, container: Any) -> bool:
    kind, container_kind = _kind(item), _kind(container)
    if container_kind == "map" and kind == "string":
        return item in container
    if container_kind == "list" and kind in _SCALARS:
        if any(_kind(element) != kind for element in container):
            raise _Fallback
        return item in container
    raise _Fallback


def _arithmetic(op: str) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        kind = _kind(a)
        if kind != _kind(b):
            raise _Fallback
        if kind == "int":
            return _int64(_int_op(op, a, b))
        if kind == "double" and op in "+-*":
            return _FLOAT_OPS[op](a, b)
        if op == "+" and kind in ("string", "list"):
            return a + b if kind == "string" else [*a, *b]
        raise _Fallback

    return apply


def _int_op(op: str, a: int, b: int) -> int:
    if op in "+-*":
        return int(_FLOAT_OPS[op](a, b))  # exact: Python ints do not round
    if b == 0:
        raise _Fallback
    quotient = abs(a) // abs(b) * (1 if (a >= 0) == (b > 0) else -1)
    return quotient if op == "/" else a - b * quotient


_FLOAT_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
}
_RELATIONS: dict[str, Callable[[Any, Any], Any]] = {
    "relation_eq": _equal,
    "relation_ne": lambda a, b: not _equal(a, b),
    "relation_lt": _compare(operator.lt),
    "relation_le": _compare(operator.le),
    "relation_gt": _compare(operator.gt),
    "relation_ge": _compare(operator.ge),
    "relation_in": _contained,
}
_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "addition_add": _arithmetic("+"),
    "addition_sub": _arithmetic("-"),
    "multiplication_mul": _arithmetic("*"),
    "multiplication_div": _arithmetic("/"),
    "multiplication_mod": _arithmetic("%"),
}
_CONVERSIONS: dict[str, Callable[[Any], Any]] = {
    "size": _size,
    "double": _to_double,
    "int": _to_int,
}
_STRING_METHODS: dict[str, Callable[[str, str], bool]] = {
    "startsWith": str.startswith,
    "endsWith": str.endswith,
    "contains": lambda s, t: t in s,
}
