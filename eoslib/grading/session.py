"""Kernel-side state of grading mode.

When the instructor's runner executes a submission it sets ``EOSLIB_GRADING=1`` in the
kernel's environment. :func:`eoslib.grading.check` then also :func:`record`\\ s each verdict
(with an integrity fingerprint taken at that moment) into an in-kernel store, which the
runner's own hidden cells drain (:func:`drain`) and emit tagged with a nonce the submission
never sees in advance. Outside grading mode nothing is stored.
"""

from __future__ import annotations

import os
from typing import Any

from .fingerprint import fingerprint
from .questions import Verdict

GRADING_ENV = "EOSLIB_GRADING"
MIMETYPE = "application/vnd.eoslib.grading+json"

_STORE: list[dict[str, Any]] = []


def grading_mode() -> bool:
    """True inside a kernel started by the instructor's grader."""
    return os.environ.get(GRADING_ENV) == "1"


def record(question_id: str, verdict: Verdict) -> None:
    """Store a verdict for the runner (grading mode only)."""
    if not grading_mode():
        return
    _STORE.append(
        {
            "id": str(question_id),
            "passed": bool(verdict.passed),
            "score": float(verdict.score),
            "reason": str(verdict.reason)[:1000],
            "fingerprint": fingerprint(),
        }
    )


def drain() -> list[dict[str, Any]]:
    """Remove and return the stored records (called by the runner's hidden cells)."""
    records = list(_STORE)
    del _STORE[:]
    return records

