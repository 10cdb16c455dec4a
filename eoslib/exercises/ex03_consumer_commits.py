"""Exercise 3: where the consumer commits decides what a crash does.

Concept notebook: ``notebooks/03-consumer-offsets.ipynb``.

* q1 (measure): duplicates when an at-least-once app crashes before committing;
* q2 (measure): input lost when an at-most-once app crashes after committing;
* q3 (configure): the ``delivery`` that never loses input, whatever step the app dies at.
"""

from __future__ import annotations

from eoslib.exercises._common import CRASH_STEPS, Run, config_grader, count_of, measured
from eoslib.grading.questions import Question
from eoslib.result import Result

REPLAY = {"seed": 4, "messages": 40, "config": {"transactions": False, "batch": 8},
          "faults": {"crash_step": "before_commit", "crash_at": 19}}
COMMIT_FIRST = {"seed": 4, "messages": 40, "config": {"delivery": "at-most-once", "batch": 8},
                "faults": {"crash_step": "after_commit", "crash_at": 19}}


def _nothing_lost(result: Result) -> str | None:
    lost = result.counts["lost"]
    return f"{lost} input message(s) were never processed" if lost else None


NO_LOSS_RUNS = [Run(seed, 30, {"crash_step": step, "crash_at": at})
                for seed in (0, 1) for step in CRASH_STEPS for at in (3, 17)]

QUESTIONS = [
    Question("ex03.q1", "Duplicates from a replayed batch", 1, "measure",
             measured(count_of("consumer-crash", "duplicates", **REPLAY)),
             hint="run_scenario('consumer-crash', **REPLAY).counts['duplicates']"),
    Question("ex03.q2", "Input lost by committing first", 1, "measure",
             measured(count_of("at-most-once", "lost", **COMMIT_FIRST)),
             hint="run_scenario('at-most-once', **COMMIT_FIRST).counts['lost']"),
    Question("ex03.q3", "A delivery that loses nothing", 2, "configure",
             config_grader("ex03.q3", "at-most-once", NO_LOSS_RUNS, require=_nothing_lost),
             hint="a crash between the commit and the processing loses the batch: which "
                  "order of the two steps replays it instead?"),
]
