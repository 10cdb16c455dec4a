"""Grading for the course: in-notebook checks, exercise generation, the instructor's grader.

Students call :func:`check` in a notebook. Exercise modules declare :class:`Question`\\ s
returning :class:`Verdict`\\ s (see :mod:`eoslib.grading.checks` for ready-made graders).
Instructors run :func:`eoslib.grading.runner.grade` (or ``grade`` on the command line) and
``make-exercises`` (:mod:`eoslib.grading.generate`).
"""

from .feedback import check, evaluate
from .questions import Question, Verdict
from .registry import get, load_all, questions_for, register

__all__ = [
    "Question",
    "Verdict",
    "check",
    "evaluate",
    "get",
    "load_all",
    "questions_for",
    "register",
]
