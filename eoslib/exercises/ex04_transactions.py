"""Exercise 4: transactions - all of a transaction's records, or none of them.

Concept notebook: ``notebooks/04-transactions.ipynb``.

* q1 (measure): aborted records a read_uncommitted reader sees;
* q3 (configure): a configuration of the zombie-fencing app that leaves no duplicate.
"""

from __future__ import annotations

from eoslib.exercises._common import Run, config_grader, count_of, measured
from eoslib.grading.questions import Question

MIXED = {"seed": 2, "messages": 36, "config": {"isolation.level": "read_uncommitted",
                                               "batch": 4}}
ZOMBIE_RUNS = [Run(seed, n) for seed in (0, 1, 2) for n in (20, 30, 40)] + [
    Run(seed, 30, {"response_loss": 0.05}) for seed in (3, 4)]

QUESTIONS = [
    Question("ex04.q1", "Aborted records read", 1, "measure",
             measured(count_of("read-committed", "aborted_reads", **MIXED)),
             hint="run_scenario('read-committed', **MIXED).counts['aborted_reads']"),
    Question("ex04.q3", "Fence the zombie", 2, "configure",
             config_grader("ex04.q3", "zombie-fencing", ZOMBIE_RUNS,
                           base={"transactions": False}),
             hint="idempotence lasts one producer session; what lets a new instance fence "
                  "the old one?"),
]
