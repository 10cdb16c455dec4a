"""Questions and verdicts: what an exercise module declares and what a check returns.

An exercise module (``eoslib/exercises/exN.py``) exposes ``QUESTIONS: list[Question]``. Each
question owns a *grading function* that receives the student's answer and returns a
:class:`Verdict`. Grading functions must be deterministic (seed every simulation) and must
never put the expected answer into ``reason``: the reason is shown to the student.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["measure", "configure", "implement"]
KINDS: tuple[str, ...] = ("measure", "configure", "implement")
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*\.[A-Za-z0-9_]+$")


@dataclass(frozen=True)
class Verdict:
    """The result of grading one answer.

    ``score`` is the *fraction* of the question's points earned, in ``[0, 1]``
    (``1.0`` = full marks); the points shown to the student are ``score * points``.
    ``reason`` explains a failure (or partial credit) without revealing the solution.
    """

    passed: bool
    score: float
    reason: str = ""

    @classmethod
    def ok(cls, reason: str = "") -> Verdict:
        """Full marks."""
        return cls(True, 1.0, reason)

    @classmethod
    def fail(cls, reason: str) -> Verdict:
        """No marks, with the reason shown to the student."""
        return cls(False, 0.0, reason)

    @classmethod
    def partial(cls, fraction: float, reason: str) -> Verdict:
        """Partial credit: ``fraction`` of the points (passed only when it is 1)."""
        fraction = min(1.0, max(0.0, float(fraction)))
        return cls(fraction >= 1.0, fraction, reason)

    def normalized(self) -> Verdict:
        """This verdict with ``score`` clamped to ``[0, 1]`` (NaN counts as 0)."""
        try:
            score = float(self.score)
        except (TypeError, ValueError):
            score = 0.0
        if math.isnan(score):
            score = 0.0
        score = min(1.0, max(0.0, score))
        return Verdict(bool(self.passed), score, str(self.reason))


class CheckResult(Verdict):
    """The Verdict returned by ``check()``: equal to a plain Verdict with the same fields,
    and invisible as a cell's last expression (``check`` already printed its one line)."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return (self.passed, self.score, self.reason) == (other.passed, other.score, other.reason)

    __hash__ = Verdict.__hash__

    def _ipython_display_(self) -> None:
        """Show nothing: the feedback line was printed by ``check``."""

    @classmethod
    def of(cls, verdict: Verdict) -> CheckResult:
        """Wrap a Verdict."""
        return cls(verdict.passed, verdict.score, verdict.reason)


GradeFn = Callable[[Any], "Verdict | bool"]


@dataclass(frozen=True)
class Question:
    """One graded question of an exercise.

    Attributes:
        id: ``"<exercise>.<question>"``, e.g. ``"ex2.q3"``; the prefix before the dot is the
            exercise the question belongs to.
        title: a short human title (shown in gradebooks).
        points: maximum points (> 0).
        kind: ``"measure"`` (a number read off a run), ``"configure"`` (a configuration
            value/dict) or ``"implement"`` (a function or class the grader exercises).
        grade: ``grade(answer) -> Verdict`` (returning a ``bool`` is accepted as a shortcut
            for :meth:`Verdict.ok` / a generic failure). It is never called with ``None`` or
            ``...``: those mean "not answered yet".
        hint: shown after a failed attempt.
    """

    id: str
    title: str
    points: float
    kind: Kind
    grade: GradeFn = field(repr=False, compare=False)
    hint: str = ""

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise ValueError(f"question id {self.id!r} must look like 'ex2.q3'")
        if self.kind not in KINDS:
            raise ValueError(f"question {self.id}: kind must be one of {KINDS}, not {self.kind!r}")
        if not (isinstance(self.points, int | float) and self.points > 0):
            raise ValueError(f"question {self.id}: points must be a positive number")
        if not callable(self.grade):
            raise TypeError(f"question {self.id}: grade must be callable")

    @property
    def exercise(self) -> str:
        """The exercise id (the part of :attr:`id` before the first dot)."""
        return exercise_of(self.id)


def exercise_of(question_id: str) -> str:
    """``"ex2.q3"`` -> ``"ex2"``."""
    return question_id.split(".", 1)[0]


def format_points(value: float) -> str:
    """Points without a useless ``.0``: ``2``, ``1.5``, ``0.33``."""
    value = round(float(value), 2)
    return f"{value:g}"
