"""Kernel-side state of grading mode: the answers ``check()`` hands to the grader.

When the instructor's runner executes a submission it sets ``EOSLIB_GRADING=1`` in the
kernel's environment. :func:`eoslib.grading.check` then does not grade: it :func:`record`\\ s
the *answer* (its JSON form, :mod:`eoslib.grading.answers`) with an integrity fingerprint
taken at that moment, and the runner's hidden cells drain the store (:func:`drain`). The
grader grades each answer in a judge process of its own (:mod:`eoslib.grading.judge`), so the
store holds no verdict: a record with ``passed``/``score``/``reason`` in it is a forgery
(:data:`VERDICT_KEYS`) and is reported as one.
"""

from __future__ import annotations

import os
from typing import Any

from .answers import AnswerError, encode
from .fingerprint import fingerprint

GRADING_ENV = "EOSLIB_GRADING"
MIMETYPE = "application/vnd.eoslib.grading+json"
VERDICT_KEYS = frozenset({"passed", "score", "reason", "verdict", "points"})
RECORDED = "recorded for grading"

_STORE: list[dict[str, Any]] = []


def grading_mode() -> bool:
    """True inside a kernel started by the instructor's grader."""
    return os.environ.get(GRADING_ENV) == "1"


def record(question_id: str, answer: Any) -> str:
    """Store an answer for the runner; return "" or why it cannot be sent (grading mode)."""
    if not grading_mode():
        return ""
    entry: dict[str, Any] = {"id": str(question_id), "fingerprint": fingerprint()}
    try:
        entry["answer"] = encode(answer)
        problem = ""
    except AnswerError as exc:
        entry["error"] = problem = str(exc)
    except RecursionError:
        entry["error"] = problem = "the answer is nested too deeply"
    # a cell's last answer to a question is the one graded: keep the store small (anything
    # not made here, a forgery included, stays for the grader to see)
    _STORE[:] = [e for e in _STORE if not isinstance(e, dict) or e.get("id") != entry["id"]
                 or VERDICT_KEYS & set(e)]  # fmt: skip
    _STORE.append(entry)
    return problem


def drain() -> list[dict[str, Any]]:
    """Remove and return the stored records (called by the runner's hidden cells)."""
    records = list(_STORE)
    del _STORE[:]
    return records
