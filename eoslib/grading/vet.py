"""Rules an answer's code must follow before the judge runs it.

The judge (:mod:`eoslib.grading.judge`) runs the learner's *answer* (a function or class and
the notebook definitions it uses), never the rest of the notebook. Before it runs, its source
is read (not run) and refused, with the first rule it breaks, if it:

* imports or refers to a module outside :data:`ALLOWED_MODULES` (the grader's own packages,
  ``eoslib.grading`` and ``eoslib.exercises``, are outside), or to one of their mutable tables
  (a dict, list or set held by a module);
* uses ``eval``, ``exec``, ``compile``, ``__import__``, ``open``, ``globals``, ``vars``...
  (:data:`DENIED_NAMES`), a ``getattr``/``hasattr`` whose attribute is not a plain string, any
  ``_private`` or ``__dunder__`` attribute (but ``self._x``/``cls._x`` and ``__init__``), an
  attribute that leads to frames or code objects (``f_back``, ``gi_frame``...), or a string
  holding a dunder name (``"__class__"``, ``"{0.__globals__}"``);
* assigns or deletes through a global name that is not its own data (a module, a class, an
  eoslib object): ``Verdict.ok = ...``, ``scenarios.SCENARIOS[...] = ...``.

These rules close the known routes from an answer into the judge's memory; they are a screen,
not a proof (see :mod:`eoslib.grading` for what the grader guarantees). Honest answers written
for the exercises never need what they refuse.
"""

from __future__ import annotations

import ast
import collections
import importlib
import re
import types
from typing import Any

ALLOWED_MODULES = (
    "eoslib", "abc", "array", "bisect", "cmath", "collections", "contextlib", "copy",
    "dataclasses", "datetime", "decimal", "enum", "fractions", "functools", "hashlib", "heapq",
    "itertools", "json", "math", "numbers", "operator", "random", "re", "statistics", "string",
    "struct", "textwrap", "time", "typing", "zlib",
)  # fmt: skip
DENIED_EOSLIB = ("eoslib.grading", "eoslib.exercises", "eoslib.real", "eoslib.explore",
                 "eoslib.cli", "eoslib.bench", "eoslib.bench_simpy", "eoslib.site")  # fmt: skip
DENIED_NAMES = frozenset({
    "eval", "exec", "compile", "__import__", "globals", "locals", "vars", "breakpoint", "open",
    "input", "setattr", "delattr", "memoryview", "exit", "quit", "help",
})  # fmt: skip
ALLOWED_DUNDERS = frozenset({"__init__", "__post_init__", "__name__", "__qualname__", "__doc__"})
DENIED_ATTRIBUTES = frozenset({
    "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await", "ag_frame",
    "ag_code", "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "f_trace", "tb_frame",
    "tb_next", "co_code", "co_consts", "func_globals", "func_code",
})  # fmt: skip
_DUNDER_TEXT = re.compile(r"__\w+__")
_MUTABLE = (dict, list, set, bytearray, collections.deque, types.ModuleType)


class Refused(Exception):
    """The answer breaks a rule (the message names the rule and where)."""


def module_allowed(name: str) -> bool:
    """Whether an answer may import or refer to module ``name``."""
    if any(name == d or name.startswith(d + ".") for d in DENIED_EOSLIB):
        return False
    return any(name == a or name.startswith(a + ".") for a in ALLOWED_MODULES)


def resolve(ref: str) -> Any:
    """The object ``module:qualname`` names; :class:`Refused` if it is not allowed."""
    module, _, qualname = ref.partition(":")
    shown = f"{module}.{qualname}" if qualname else module
    if not module_allowed(module):
        raise Refused(f"it uses {shown}: the module {module} is not allowed")
    if any(part.startswith("_") for part in qualname.split(".") if part):
        raise Refused(f"it uses {shown}, a private name")
    try:
        obj: Any = importlib.import_module(module)
        for part in filter(None, qualname.split(".")):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        raise Refused(f"it uses {shown}, which does not exist here") from None
    _check_object(obj, shown)
    return obj


def _check_object(obj: Any, shown: str) -> None:
    if isinstance(obj, types.ModuleType):
        if not module_allowed(obj.__name__):
            raise Refused(f"it reaches the module {obj.__name__} (through {shown})")
    elif isinstance(obj, _MUTABLE):
        raise Refused(f"it uses {shown}, a table eoslib itself reads")


def check_encoding(encoding: Any, depth: int = 0) -> None:
    """Walk an answer's encoding (see :mod:`eoslib.grading.answers`) and apply every rule."""
    if depth > 60:
        raise Refused("the answer is nested too deeply")
    if isinstance(encoding, list):
        for item in encoding:
            check_encoding(item, depth + 1)
        return
    if not isinstance(encoding, dict):
        return
    if "ref" in encoding:
        resolve(str(encoding["ref"]))
    elif "enum" in encoding:
        resolve(str(encoding["enum"]))
    elif "module" in encoding:
        resolve(str(encoding["module"]) + ":")
    elif "code" in encoding:
        _check_code(encoding["code"], depth)
        return
    for value in encoding.values():
        check_encoding(value, depth + 1)


def _check_code(code: Any, depth: int) -> None:
    if not isinstance(code, dict):
        raise Refused("malformed answer")
    names = code.get("names", {})
    if not isinstance(names, dict):
        raise Refused("malformed answer")
    objects: dict[str, Any] = {}
    for name, value in names.items():
        check_encoding(value, depth + 1)
        ref = _object_reference(value)
        if ref is not None:
            objects[str(name)] = resolve(ref)
    defs = code.get("defs", [])
    if not isinstance(defs, list):
        raise Refused("malformed answer")
    for pair in defs:
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], str)):
            raise Refused("malformed answer")
    defined = {str(p[0]) for p in defs}
    own = ({str(n) for n in names} - set(objects)) | defined
    for _, source in defs:
        check_source(source, own=own, objects=objects)


def _object_reference(value: Any) -> str | None:
    if isinstance(value, dict):
        if "ref" in value:
            return str(value["ref"])
        if "module" in value:
            return str(value["module"]) + ":"
    return None


def check_source(source: str, *, own: set[str], objects: dict[str, Any]) -> None:
    """Apply the source rules to one definition (see the module docstring).

    ``own``: global names bound to the answer's own data or definitions; ``objects``: global
    names bound to modules and eoslib objects (attribute chains through them are resolved).
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise Refused(f"its source does not parse ({exc.msg})") from None
    objects = dict(objects)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            objects.update(_check_import(node))
    local = _local_names(tree) - set(objects)
    for node in ast.walk(tree):
        _check_node(node, local | own, objects)


def _local_names(tree: ast.AST) -> set[str]:
    """Parameters and names assigned inside function bodies (a rough local scope)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
    return names


def _where(node: ast.AST) -> str:
    line = getattr(node, "lineno", None)
    return f" (line {line} of its definition)" if line else ""


def _check_node(node: ast.AST, own: set[str], objects: dict[str, Any]) -> None:
    if isinstance(node, ast.Name):
        if node.id in DENIED_NAMES or (node.id.startswith("__") and node.id != "__name__"):
            raise Refused(f"it uses {node.id}{_where(node)}")
    elif isinstance(node, ast.Attribute):
        _check_attribute(node)
        _check_chain(node, objects)
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        if _DUNDER_TEXT.search(node.value):
            raise Refused(f"it spells a dunder name in a string{_where(node)}")
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id in ("getattr", "hasattr"):
        attr = node.args[1] if len(node.args) > 1 else None
        if not (isinstance(attr, ast.Constant) and isinstance(attr.value, str)
                and not attr.value.startswith("_")):
            raise Refused(f"it calls {node.func.id} with a computed attribute{_where(node)}")
    elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
        targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
        for target in targets:
            _check_target(target, own)


def _check_attribute(node: ast.Attribute) -> None:
    attr = node.attr
    base = node.value.id if isinstance(node.value, ast.Name) else None
    if attr in DENIED_ATTRIBUTES:
        raise Refused(f"it reads .{attr}, which leads into the interpreter{_where(node)}")
    if attr.startswith("__") and attr.endswith("__"):
        if attr not in ALLOWED_DUNDERS:
            raise Refused(f"it uses .{attr}{_where(node)}")
    elif attr.startswith("_") and base not in ("self", "cls"):
        raise Refused(f"it uses the private attribute .{attr}{_where(node)}")


def _check_import(node: ast.Import | ast.ImportFrom) -> dict[str, Any]:
    """Refuse an import outside the rules; return the names it binds and their objects."""
    bound: dict[str, Any] = {}
    if isinstance(node, ast.ImportFrom):
        if node.level:
            raise Refused(f"it uses a relative import{_where(node)}")
        module = node.module or ""
        for alias in node.names:
            if alias.name == "*":
                raise Refused(f"it uses 'from {module} import *'{_where(node)}")
            bound[alias.asname or alias.name] = resolve(f"{module}:{alias.name}")
        return bound
    for alias in node.names:
        module = resolve(alias.name + ":")
        if alias.asname:
            bound[alias.asname] = module
        else:
            top = alias.name.split(".")[0]
            bound[top] = resolve(top + ":")
    return bound


def _check_chain(node: ast.Attribute, objects: dict[str, Any]) -> None:
    """``json.decoder.sys``: follow a chain of attributes from a module or eoslib object."""
    parts = []
    root: ast.AST = node
    while isinstance(root, ast.Attribute):
        parts.append(root.attr)
        root = root.value
    if not (isinstance(root, ast.Name) and root.id in objects):
        return
    obj = objects[root.id]
    shown = root.id
    for attr in reversed(parts):
        shown += "." + attr
        obj = getattr(obj, attr, None)
        if obj is None:
            return
        _check_object(obj, shown)


def _check_target(target: ast.AST, own: set[str]) -> None:
    """Stores through ``a.b`` or ``a[i]`` must start from the answer's own names."""
    if isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            _check_target(element, own)
        return
    if isinstance(target, ast.Starred):
        _check_target(target.value, own)
        return
    root = target
    chained = False
    while isinstance(root, ast.Attribute | ast.Subscript):
        root, chained = root.value, True
    if chained and isinstance(root, ast.Name) and root.id not in own:
        raise Refused(f"it changes {ast.unparse(target)}, which is not its own{_where(target)}")
