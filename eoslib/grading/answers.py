"""An answer as plain JSON: its data, or its source and what the source refers to.

In grading mode ``check()`` does not grade: it encodes the answer with :func:`encode` and
hands it to the grader, which grades it in a separate process (:mod:`eoslib.grading.judge`).
The encoding carries no verdict, only what the learner answered:

* data (``None``, bools, numbers, strings, bytes, lists, tuples, dicts, sets, instances of
  importable dataclasses and enums) as tagged JSON: every JSON object is a one-key tag
  (``{"list": [...]}``, ``{"dict": [[k, v], ...]}``...), so no value is read as code;
* a function or class defined in the notebook as ``{"code": {"target", "defs", "names"}}``:
  the source of every notebook definition it needs (``defs``, in order) and the value of
  every other global name those sources use (``names``: data, ``{"module": name}``, or
  ``{"ref": "module:qualname"}`` for an importable object such as ``eoslib``'s ``APPEND``);
* an importable object (an eoslib function, say) as ``{"ref": "module:qualname"}``.

Anything else raises :class:`AnswerError` with a sentence for the learner.
"""

from __future__ import annotations

import ast
import base64
import collections
import dataclasses
import enum
import functools
import importlib
import inspect
import linecache
import math
import sys
import textwrap
import types
from typing import Any

MAX_CHARS = 5_000_000  # encoded size of one answer
MAX_DEPTH = 40
NOTEBOOK_MODULE = "__main__"


class AnswerError(Exception):
    """The answer cannot be sent to the grader (the message says why, for the learner)."""


def encode(value: Any) -> dict[str, Any] | Any:
    """The JSON form of an answer (see the module docstring); raises :class:`AnswerError`."""
    encoder = _Encoder()
    result = encoder.value(value, 0)
    if encoder.size > MAX_CHARS:
        raise AnswerError(f"the answer is larger than {MAX_CHARS:,} characters")
    return result


def _ref(value: Any) -> str | None:
    """``module:qualname`` that imports back to exactly ``value``, or None."""
    module = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or module == NOTEBOOK_MODULE:
        return None
    if "<" in qualname:
        return None
    found = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return f"{module}:{qualname}" if found is value else None


def _attribute_ref(value: Any, name: str) -> str | None:
    """``module:name`` for a value imported by name from a loaded module (``APPEND``)."""
    for module_name, module in list(sys.modules.items()):
        if module_name == NOTEBOOK_MODULE or module is None:
            continue
        if getattr(module, "__dict__", {}).get(name, None) is value:
            return f"{module_name}:{name}"
    return None


class _Encoder:
    def __init__(self) -> None:
        self.size = 0
        self.defs: list[tuple[str, str]] = []
        self.names: dict[str, Any] = {}
        self.pending: set[str] = set()

    def _grow(self, amount: int) -> None:
        self.size += amount
        if self.size > MAX_CHARS:
            raise AnswerError(f"the answer is larger than {MAX_CHARS:,} characters")

    def value(self, value: Any, depth: int, name: str = "") -> Any:
        if depth > MAX_DEPTH:
            raise AnswerError("the answer is nested too deeply")
        if value is None or isinstance(value, bool):
            return value
        if value is Ellipsis:
            return {"ellipsis": 0}
        if isinstance(value, enum.Enum):
            ref = _ref(type(value))
            if ref is None:
                raise AnswerError(f"the enum {type(value).__qualname__} is not importable")
            return {"enum": ref, "name": value.name}
        if isinstance(value, int):  # numpy's integers and floats arrive as Python's
            self._grow(len(str(value)))
            return int(value)
        if isinstance(value, float):
            return float(value) if math.isfinite(value) else {"float": repr(float(value))}
        if isinstance(value, str):
            self._grow(len(value))
            return str(value)
        if hasattr(value, "dtype") and hasattr(value, "item") and getattr(value, "shape", 1) == ():
            return self.value(value.item(), depth + 1)  # a numpy scalar
        if type(value) in (bytes, bytearray):
            self._grow(len(value) * 2)
            return {type(value).__name__: base64.b64encode(bytes(value)).decode()}
        if type(value) in (list, tuple, set, frozenset):
            items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
            return {type(value).__name__: [self.value(v, depth + 1) for v in items]}
        if type(value) in (dict, collections.OrderedDict, collections.Counter):
            pairs = [[self.value(k, depth + 1), self.value(v, depth + 1)] for k, v in value.items()]
            return {type(value).__name__: pairs}
        if isinstance(value, types.ModuleType):
            return {"module": value.__name__}
        if isinstance(value, tuple) and hasattr(type(value), "_fields"):
            return {"namedtuple": [self.value(type(value), depth + 1),
                                   [self.value(v, depth + 1) for v in value]]}  # fmt: skip
        if type(value) is collections.deque:
            return {"deque": [[self.value(v, depth + 1) for v in value], value.maxlen]}
        if isinstance(value, functools.partial):
            return {"partial": [self.value(value.func, depth + 1),
                                self.value(list(value.args), depth + 1),
                                self.value(dict(value.keywords), depth + 1)]}  # fmt: skip
        ref = _ref(value) if callable(value) else None
        if ref is not None:
            return {"ref": ref}
        if isinstance(value, types.FunctionType | type):
            return {"code": self.code(value)}
        found = _attribute_ref(value, name) if name else None
        if found is not None:  # an object imported by name: APPEND from eoslib.producer_state
            return {"ref": found}
        if isinstance(value, types.MethodType) and not isinstance(value.__self__, type):
            return {"method": [self.value(value.__self__, depth + 1), value.__func__.__name__]}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self.instance(value, depth, dataclass=True)
        if getattr(type(value), "__module__", "") == NOTEBOOK_MODULE:
            return self.instance(value, depth, dataclass=False)
        what = type(value).__name__
        where = f" `{name}`" if name else ""
        raise AnswerError(f"the grader cannot send{where} (a {what}) to the judge: use data "
                          "(numbers, strings, lists, dicts) or functions defined in the notebook")

    def instance(self, value: Any, depth: int, *, dataclass: bool) -> dict[str, Any]:
        cls = type(value)
        cls_code = self.value(cls, depth + 1)
        if dataclass:
            fields = {f.name: self.value(getattr(value, f.name), depth + 1)
                      for f in dataclasses.fields(value)}  # fmt: skip
            return {"dataclass": [cls_code, fields]}
        state = getattr(value, "__dict__", None)
        if not isinstance(state, dict):
            raise AnswerError(f"the grader cannot send an instance of {cls.__qualname__}")
        return {"instance": [cls_code, {k: self.value(v, depth + 1) for k, v in state.items()}]}

    def code(self, obj: Any) -> dict[str, Any]:
        """Source of a notebook function/class, its notebook dependencies and global names."""
        sub = _Encoder()
        sub.size = self.size
        target = sub._define(obj)
        self.size = sub.size
        return {"target": target, "defs": [list(d) for d in sub.defs], "names": sub.names}

    def _define(self, obj: Any) -> str:
        """Add ``obj``'s definition (and what it needs) to ``defs``; return its name there."""
        name = getattr(obj, "__name__", "")
        if name == "<lambda>":
            name = f"_lambda_{len(self.defs)}"
            source = f"{name} = {_lambda_source(obj)}"
        else:
            source = _definition_source(obj)
        if not name.isidentifier():
            raise AnswerError(f"the answer's name {name!r} is not a Python name")
        if name in self.pending:
            return name
        self.pending.add(name)
        closure = getattr(obj, "__closure__", None)
        if closure:
            source = self._factory(obj, name, source)
        self._grow(len(source))
        namespace = getattr(obj, "__globals__", None)
        if namespace is None:
            namespace = _class_globals(obj)
        for used in sorted(_names_used(source)):
            if used in self.names or used in self.pending or used not in namespace:
                continue
            value = namespace[used]
            if isinstance(value, types.FunctionType | type) and \
                    getattr(value, "__module__", None) == NOTEBOOK_MODULE:
                self._define(value)
            else:
                self.names[used] = self.value(value, 1, name=used)
        self.defs.append((name, source))
        return name

    def _factory(self, obj: Any, name: str, source: str) -> str:
        """A function that closes over values: wrapped in a factory called with them."""
        free = obj.__code__.co_freevars
        values = []
        for var, cell in zip(free, obj.__closure__, strict=True):
            try:
                content = cell.cell_contents
            except ValueError:
                raise AnswerError(f"{name} uses {var!r} before it is assigned") from None
            key = f"_free_{name}_{var}"
            self.names[key] = self.value(content, 1, name=var)
            values.append(key)
        body = textwrap.indent(source, "    ")
        params = ", ".join(free)
        return (f"def _make_{name}({params}):\n{body}\n    return {name}\n"
                f"{name} = _make_{name}({', '.join(values)})\n")


def _names_used(source: str) -> set[str]:
    """Global names a definition's source loads (everything but attributes and literals)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise AnswerError(f"the answer's source does not parse: {exc.msg}") from None
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def _definition_source(obj: Any) -> str:
    """The source of a notebook function or class (decorators included), dedented."""
    try:
        if isinstance(obj, type):
            return _class_source(obj)
        return textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError) as exc:
        what = getattr(obj, "__qualname__", type(obj).__name__)
        raise AnswerError(f"the grader cannot find the source of {what} ({exc})") from None


def _class_source(cls: type) -> str:
    """A notebook class's source, found through the cell its methods were compiled from."""
    for value in vars(cls).values():
        func = getattr(value, "__func__", value)
        code = getattr(func, "__code__", None)
        if code is None:
            continue
        lines = linecache.getlines(code.co_filename)
        tree = ast.parse("".join(lines))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name == cls.__name__ \
                    and node.lineno <= code.co_firstlineno <= (node.end_lineno or 0):
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                return textwrap.dedent("".join(lines[start - 1 : node.end_lineno]))
    raise OSError("a class without methods")


def _class_globals(cls: type) -> dict[str, Any]:
    for value in vars(cls).values():
        func = getattr(value, "__func__", value)
        if isinstance(func, types.FunctionType):
            return func.__globals__
    module = sys.modules.get(getattr(cls, "__module__", ""))
    return dict(getattr(module, "__dict__", {}))


def _lambda_source(fn: types.FunctionType) -> str:
    """The text of a lambda, cut out of the line it was written on."""
    lines = linecache.getlines(fn.__code__.co_filename)
    if not lines:
        raise AnswerError("the grader cannot find the source of the lambda")
    text = "".join(lines)
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise AnswerError(f"the lambda's cell does not parse: {exc.msg}") from None
    params = list(fn.__code__.co_varnames[: fn.__code__.co_argcount])
    found = [node for node in ast.walk(tree) if isinstance(node, ast.Lambda)
             and node.lineno == fn.__code__.co_firstlineno
             and [a.arg for a in node.args.args] == params]  # fmt: skip
    if len(found) != 1:
        raise AnswerError("the grader cannot tell which lambda on its line is the answer: "
                          "define it with def")
    segment = ast.get_source_segment(text, found[0])
    if segment is None:
        raise AnswerError("the grader cannot find the source of the lambda")
    return "(" + segment + ")"


def decode_ref(ref: str) -> Any:
    """The object a ``module:qualname`` reference names (the judge checks it is allowed)."""
    module_name, _, qualname = ref.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj
