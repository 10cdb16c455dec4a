"""Exercise 3: where the consumer commits decides what a crash does.

Concept notebook: ``notebooks/03-consumer-offsets.ipynb``.

* q1 (measure): duplicates when an at-least-once app crashes before committing;
* q2 (measure): input lost when an at-most-once app crashes after committing;
* q3 (configure): the ``delivery`` that never loses input, whatever step the app dies at;
* q4 (mechanism): the input offset at which the restarted instance of ``REPLAY`` resumes.
"""

from __future__ import annotations

from eoslib.exercises._common import CRASH_STEPS, Run, config_grader, count_of, measured
from eoslib.grading.questions import Question
from eoslib.result import Result
from eoslib.scenarios import run_scenario

REPLAY = {"seed": 4, "messages": 40, "config": {"transactions": False, "batch": 8},
          "faults": {"crash_step": "before_commit", "crash_at": 19}}
COMMIT_FIRST = {"seed": 4, "messages": 40, "config": {"delivery": "at-most-once", "batch": 8},
                "faults": {"crash_step": "after_commit", "crash_at": 19}}


def _nothing_lost(result: Result) -> str | None:
    lost = result.counts["lost"]
    return f"{lost} input message(s) were never processed" if lost else None


def resume_offset(scenario: str = "consumer-crash", **run: object) -> int:
    """The first input offset the instance started after the crash is handed."""
    result = run_scenario(scenario, **run)
    crashed = next(op.process for op in result.history.of("crash"))
    return min(rec[2] for op in result.history.of("poll")
               if op.process not in (crashed, "verifier")
               for rec in op.value.get("records", []) if rec[0] == "in")


NO_LOSS_RUNS = [Run(seed, 30, {"crash_step": step, "crash_at": at})
                for seed in (0, 1) for step in CRASH_STEPS for at in (3, 17)]

QUESTIONS = [
    Question("ex03.q1", "Duplicates from a replayed batch", 1, "measure",
             measured(count_of("consumer-crash", "duplicates", **REPLAY)),
             hint="the app died after writing its outputs and before committing the input "
                  "offsets, so the restart re-reads from the last commit and writes those "
                  "outputs again: count the copies (counts['duplicates'])"),
    Question("ex03.q2", "Input lost by committing first", 1, "measure",
             measured(count_of("at-most-once", "lost", **COMMIT_FIRST)),
             hint="the app committed the batch's offsets before processing it, so the restart "
                  "starts after a batch nobody processed: count the inputs that never "
                  "reached the output (counts['lost'])"),
    Question("ex03.q3", "A delivery that loses nothing", 2, "configure",
             config_grader("ex03.q3", "at-most-once", NO_LOSS_RUNS, require=_nothing_lost),
             hint="a crash between the commit and the processing loses the batch: which "
                  "order of the two steps replays it instead?"),
    Question("ex03.q4", "Where the restart resumes", 2, "measure",
             measured(lambda: resume_offset(**REPLAY)),
             hint="the dead instance's position died with it; the group remembers only the "
                  "offset committed last, which is the next offset to read, not the last "
                  "one processed"),
]
