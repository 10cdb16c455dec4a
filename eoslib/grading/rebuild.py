"""Turn an answer's JSON form (:mod:`eoslib.grading.answers`) back into Python objects.

Runs in the judge, after :mod:`eoslib.grading.vet` accepted the encoding. Data is rebuilt
by constructors only (no code runs for it); code answers are executed from their source in a
fresh namespace of their own (``__answer__``), each definition registered in ``linecache``
so that ``inspect.getsource`` and tracebacks work on it.
"""

from __future__ import annotations

import base64
import builtins
import collections
import dataclasses
import functools
import importlib
import linecache
from typing import Any

from .answers import MAX_DEPTH, decode_ref


class Malformed(Exception):
    """The encoding is not one :mod:`eoslib.grading.answers` produces."""


_FLOATS = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}


def decode(encoding: Any, label: str = "answer", depth: int = 0) -> Any:
    """The object an encoding describes (``label`` names its source in tracebacks)."""
    if depth > MAX_DEPTH + 5:
        raise Malformed("nested too deeply")
    if encoding is None or isinstance(encoding, bool | int | float | str):
        return encoding
    if not (isinstance(encoding, dict) and len(encoding) in (1, 2)):
        raise Malformed(f"unexpected {type(encoding).__name__}")
    tag = next(iter(encoding))
    body = encoding[tag]

    def sub(item: Any) -> Any:
        return decode(item, label, depth + 1)

    if tag == "ellipsis":
        return Ellipsis
    if tag == "float" and body in _FLOATS:
        return _FLOATS[body]
    if tag in ("bytes", "bytearray"):
        raw = base64.b64decode(str(body), validate=True)
        return raw if tag == "bytes" else bytearray(raw)
    if tag in ("list", "tuple", "set", "frozenset") and isinstance(body, list):
        return {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}[tag](
            sub(v) for v in body)  # fmt: skip
    if tag in ("dict", "OrderedDict", "Counter") and isinstance(body, list):
        kind = {"dict": dict, "OrderedDict": collections.OrderedDict,
                "Counter": collections.Counter}[tag]  # fmt: skip
        return kind(dict((sub(k), sub(v)) for k, v in body))
    if tag == "deque" and isinstance(body, list) and len(body) == 2:
        return collections.deque((sub(v) for v in body[0]), body[1])
    if tag == "module":
        return importlib.import_module(str(body))
    if tag == "ref":
        return decode_ref(str(body))
    if tag == "enum":
        return getattr(decode_ref(str(body)), str(encoding["name"]))
    if tag == "partial" and isinstance(body, list) and len(body) == 3:
        return functools.partial(sub(body[0]), *sub(body[1]), **sub(body[2]))
    if tag == "code" and isinstance(body, dict):
        return _build(body, label, depth)
    if tag == "method" and isinstance(body, list) and len(body) == 2:
        return getattr(sub(body[0]), str(body[1]))
    if tag == "namedtuple" and isinstance(body, list) and len(body) == 2:
        return sub(body[0])(*[sub(v) for v in body[1]])
    if tag in ("dataclass", "instance") and isinstance(body, list) and len(body) == 2:
        cls = sub(body[0])
        if not isinstance(cls, type):
            raise Malformed("an instance of something that is not a class")
        obj = cls.__new__(cls)
        state = {str(k): sub(v) for k, v in dict(body[1]).items()}
        if tag == "dataclass" and dataclasses.is_dataclass(cls):
            for key, value in state.items():
                object.__setattr__(obj, key, value)
        else:
            obj.__dict__.update(state)
        return obj
    raise Malformed(f"unknown tag {tag!r}")


def _build(code: dict[str, Any], label: str, depth: int) -> Any:
    """Execute a code answer's definitions in a namespace of its own; return the target."""
    namespace: dict[str, Any] = {"__name__": "__answer__", "__builtins__": builtins}
    for name, value in dict(code.get("names", {})).items():
        namespace[str(name)] = decode(value, label, depth + 1)
    for number, (name, source) in enumerate(code.get("defs", [])):
        filename = f"<{label}: {name} #{number}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - vetted answer code
    target = str(code.get("target", ""))
    if target not in namespace:
        raise Malformed(f"the answer's definitions do not define {target!r}")
    return namespace[target]
