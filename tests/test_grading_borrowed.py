"""Borrowed answers score 0 with the reason; a copy by hand is flagged, not scored.

The reference implementations live in the package every learner imports. However the
answer reaches one (an alias, a wrapper, functools.partial, importlib, a function built on
its code object, ``code.replace``), the implement question scores 0 and says why.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
import sys
import types

import pytest

from eoslib.grading import registry
from eoslib.grading.feedback import evaluate
from eoslib.isolation import read_committed_filter
from eoslib.producer_state import kafka_duplicate_check

REF = kafka_duplicate_check
BORROWED = {
    "alias": REF,
    "wrapper": lambda e, b: REF(e, b),
    "partial": functools.partial(REF),
    "module detour": lambda e, b: getattr(importlib.import_module("eoslib.producer_state"),
                                          "kafka_" + "duplicate_check")(e, b),
    "code object": types.FunctionType(REF.__code__, REF.__globals__),
    "code.replace": types.FunctionType(REF.__code__.replace(co_name="mine"), REF.__globals__),
}


@pytest.mark.parametrize("how", sorted(BORROWED))
def test_a_borrowed_duplicate_check_scores_zero_with_the_reason(how: str) -> None:
    v = evaluate(registry.get("ex02.q2"), BORROWED[how])
    assert (v.passed, v.score) == (False, 0.0)
    assert v.reason.startswith("uses eoslib's reference implementation of the broker's "
                               "duplicate check"), v.reason


def test_switching_the_watch_off_is_caught() -> None:
    def sneaky(e, b):
        sys.setprofile(None)
        return REF(e, b)

    v = evaluate(registry.get("ex02.q2"), sneaky)
    assert v.score == 0.0 and "reference implementation" in v.reason


def test_the_graders_own_calls_to_the_reference_do_not_count() -> None:
    """ex07.q2's grader calls the reference to compare; an own filter is not accused."""
    def own_filter(batches, aborted):  # a deliberately wrong, but honest, answer
        return [(b.base_offset + i, k, v) for b in batches if b.control is None
                for i, (k, v) in enumerate(b.records)]

    v = evaluate(registry.get("ex07.q2"), own_filter)
    assert not v.passed and "reference implementation" not in v.reason
    assert evaluate(registry.get("ex07.q2"), read_committed_filter).reason.startswith(
        "uses eoslib's reference implementation of the read_committed filter")


def test_a_copy_by_hand_passes_but_is_flagged_for_the_instructor() -> None:
    src = inspect.getsource(REF)
    src = re.sub(r"\bkafka_duplicate_check\b", "my_check", src)
    src = re.sub(r"\bentry\b", "state", src)
    ns: dict = dict(REF.__globals__)
    exec(compile(src, "<learner>", "exec"), ns)  # noqa: S102 - a learner's cell, simulated
    copy = ns["my_check"]
    copy.__module__ = "__main__"
    import linecache

    linecache.cache["<learner>"] = (len(src), None, src.splitlines(True), "<learner>")
    v = evaluate(registry.get("ex02.q2"), copy)
    assert v.passed, v.reason
    assert "flagged for the instructor: same as the reference implementation" in v.reason
