"""A test-only exercise, ``exfix``: three tiny questions, one of each kind.

Registered in tests through ``EOSLIB_EXTRA_EXERCISES=grading_fixtures.exfix`` with
``tests/`` on ``PYTHONPATH`` (the grading kernel must import it too).
"""

from __future__ import annotations

from typing import Any

from eoslib.grading import Question, Verdict
from eoslib.grading.checks import approx, config_matches


def _grade_implement(answer: Any) -> Verdict:
    if not callable(answer):
        return Verdict.fail(f"expected a function, got {type(answer).__name__}")
    cases = [([], 0), ([1, 2, 2, 3], 3), ([5, 5, 5], 1)]
    wrong = sum(1 for values, want in cases if answer(list(values)) != want)
    if wrong:
        return Verdict.partial(1 - wrong / len(cases), f"{wrong} of {len(cases)} cases wrong")
    return Verdict.ok()


QUESTIONS = [
    Question(
        id="exfix.q1",
        title="Count the duplicates",
        points=2,
        kind="measure",
        grade=approx(42, abs=0.5),
        hint="run the cell above and read the counter",
    ),
    Question(
        id="exfix.q2",
        title="Configure the producer",
        points=1,
        kind="configure",
        grade=config_matches({"acks": "all", "enable.idempotence": True}),
        hint="which settings make the producer idempotent?",
    ),
    Question(
        id="exfix.q3",
        title="Count distinct values",
        points=3,
        kind="implement",
        grade=_grade_implement,
        hint="a set removes duplicates",
    ),
]
