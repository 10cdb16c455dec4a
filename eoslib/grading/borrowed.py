"""Borrowed answers: an implement answer that is, wraps or calls eoslib's own reference.

Every learner imports ``eoslib``, and ``eoslib`` contains the reference implementation of each
implement question (the broker's duplicate check, the read_committed filter, the sink's
write, the transactional loop). Three checks keep an answer from borrowing it:

1. **The same function.** The answer is the reference (an alias, an import under another
   name), a ``functools.partial`` or bound method of it, or a function built on the
   reference's code (``types.FunctionType(ref.__code__, ...)``, ``code.replace(...)``):
   compared by code object, and by bytecode together with the file and line it came from.
2. **A call at grading time.** While the grader runs the learner's function, a profile hook
   (``sys.setprofile``) watches every Python call made *from inside it*; a call into a
   reference's code, however it was reached (a wrapper, ``importlib``, ``getattr`` on the
   module, a class attribute), is recorded. The grader's own calls to the reference (to
   compare verdicts) happen outside the learner's function and do not count.
3. **A copy by hand.** The answer's source, with names, docstrings and formatting
   normalised, equals the reference's. This is flagged in the reason for the instructor to
   judge ("same as the reference implementation"), not scored: two people can write the
   same ten lines.

1 and 2 score the question 0 with the reason "uses eoslib's reference implementation of
...". What this does not catch: a learner who re-types the reference with changes, or who
reaches the reference from C code (no Python call event). See :mod:`eoslib.grading` for what
the grader guarantees.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import CodeType
from typing import Any

#: Question id -> (what the reference is, in words; the reference's dotted paths).
REFERENCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "ex02.q2": ("the broker's duplicate check",
                ("eoslib.producer_state:kafka_duplicate_check",)),
    "ex05.q2": ("the transactional loop",
                ("eoslib.apps:Pipeline.run_once", "eoslib.apps:Pipeline._abort_and_rewind",
                 "eoslib.apps:Pipeline._commit")),
    "ex07.q2": ("the read_committed filter", ("eoslib.isolation:read_committed_filter",)),
    "ex08.q3": ("the sink's write", ("eoslib.sinks:Sink.write",)),
}


def _resolve(path: str) -> Callable[..., Any]:
    module, _, attr = path.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def references(question_id: str) -> tuple[str, list[Callable[..., Any]]] | None:
    """The reference of an implement question: (words, functions), or None."""
    entry = REFERENCES.get(question_id)
    if entry is None:
        return None
    return entry[0], [_resolve(p) for p in entry[1]]


def _codes(fns: list[Callable[..., Any]]) -> dict[CodeType, str]:
    return {fn.__code__: fn.__qualname__ for fn in fns if hasattr(fn, "__code__")}


def _bytecode(code: CodeType) -> tuple[bytes, tuple[str, ...], str, int]:
    """What a code object derived from another keeps (``code.replace``, ``FunctionType``):
    its bytecode, names, file and first line. A copy typed by hand has another file."""
    return code.co_code, code.co_names, code.co_filename, code.co_firstlineno


def _unwrap(answer: Any) -> Any:
    seen = 0
    while seen < 10:
        seen += 1
        if isinstance(answer, functools.partial):
            answer = answer.func
        elif inspect.ismethod(answer):
            answer = answer.__func__
        elif hasattr(answer, "__wrapped__"):
            answer = answer.__wrapped__
        else:
            break
    return answer


def is_reference(answer: Any, refs: list[Callable[..., Any]]) -> str | None:
    """The name of the reference ``answer`` is (or is built on), else None."""
    fn = _unwrap(answer)
    code = getattr(fn, "__code__", None)
    if code is None and callable(fn) and not inspect.isfunction(fn):
        code = getattr(type(fn).__dict__.get("__call__"), "__code__", None)
    if code is None:
        return None
    for ref_code, name in _codes(refs).items():
        if code is ref_code or _bytecode(code) == _bytecode(ref_code):
            return name
    return None


class Tripwire:
    """Records calls into the references made while :meth:`watching` is active."""

    def __init__(self, refs: list[Callable[..., Any]]) -> None:
        self.codes = _codes(refs)
        self.prints = {_bytecode(c): n for c, n in self.codes.items()}
        self.hits: list[str] = []
        self._depth = 0
        # code objects are immutable: each is looked up once (equal code objects may differ
        # only in their file, which the bytecode print includes: it is part of the key)
        self._seen: dict[tuple[CodeType, str], str | None] = {}

    def _profile(self, frame: Any, event: str, arg: Any) -> None:
        if event != "call":
            return
        code = frame.f_code
        key = (code, code.co_filename)
        try:
            name = self._seen[key]
        except KeyError:
            name = self._seen[key] = self.codes.get(code) or self.prints.get(_bytecode(code))
        if name is not None and len(self.hits) < 10:
            self.hits.append(name)

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Watch the calls made inside the ``with`` block (this thread and new threads)."""
        self._depth += 1
        if self._depth > 1:
            try:
                yield
            finally:
                self._depth -= 1
            return
        old, old_threads = sys.getprofile(), threading.getprofile()
        sys.setprofile(self._profile)
        threading.setprofile(self._profile)
        try:
            yield
        finally:
            if sys.getprofile() != self._profile:  # the answer switched the watch off
                self.hits.append("sys.setprofile (the answer replaced the grader's watch)")
            sys.setprofile(old)
            threading.setprofile(old_threads)
            self._depth -= 1

    def guard(self, answer: Any) -> Any:
        """``answer`` wrapped so that every call to it is watched (a plain answer that is
        not callable is returned as it is)."""
        if not callable(answer):
            return answer

        @functools.wraps(answer)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            with self.watching():
                return answer(*args, **kwargs)

        return guarded


class _Names(ast.NodeTransformer):
    """Rename every identifier to its order of first appearance; drop docstrings."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def _n(self, name: str) -> str:
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node: ast.Name) -> ast.AST:  # noqa: N802
        return ast.copy_location(ast.Name(self._n(node.id), node.ctx), node)

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self._n(node.arg)
        node.annotation = None
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:  # noqa: N802
        node.name = "f"
        node.returns = None
        node.decorator_list = []
        if node.body and isinstance(node.body[0], ast.Expr) and \
                isinstance(getattr(node.body[0], "value", None), ast.Constant) and \
                isinstance(node.body[0].value.value, str):
            node.body = node.body[1:] or [ast.Pass()]
        self.generic_visit(node)
        return node


def _shape(fn: Any) -> str | None:
    try:
        source = textwrap.dedent(inspect.getsource(_unwrap(fn)))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    return ast.dump(_Names().visit(tree), include_attributes=False)


def same_as_reference(answer: Any, refs: list[Callable[..., Any]]) -> str | None:
    """The name of the reference whose normalised source equals ``answer``'s, else None."""
    mine = _shape(answer)
    if mine is None:
        return None
    for ref in refs:
        if _shape(ref) == mine:
            return ref.__qualname__
    return None
