"""Exercise 6: a crash aborts the open transaction; a zombie is fenced.

Concept notebook: ``notebooks/06-crash-recovery.ipynb``.

* q1 (configure, explained): the setting that links a restarted instance to the old one;
* q2 (implement): ``process_batch`` again, now under zombie schedules (the instance freezes,
  a replacement fences it, the zombie wakes up) as well as crashes;
* q3 (measure): transactions aborted when a producer stalls past its transaction timeout.
"""

from __future__ import annotations

from eoslib.exercises._common import count_of, explained_setting, measured
from eoslib.exercises.harness import Schedule, loop_grader
from eoslib.grading.questions import Question

STALL = {"seed": 1, "messages": 16, "config": {"transaction.timeout.ms": 8000}}

SCHEDULES = [Schedule(seed, n, zombie=z) for seed in (0, 1) for n in (15, 25) for z in (1, 2)] + [
    Schedule(seed, 20, crash=("before", "commit_transaction", 3)) for seed in (0, 1)]

QUESTIONS = [
    Question("ex06.q1", "Who fences whom", 1, "configure",
             explained_setting(["transactional.id"]),
             hint="the coordinator finds the old instance's transaction by a producer "
                  "setting that both instances share"),
    Question("ex06.q2", "A loop that survives zombies", 4, "implement",
             loop_grader("ex06.q2", SCHEDULES),
             hint="some errors mean 'abort and retry the batch', one means 'you are a "
                  "zombie: stop'"),
    Question("ex06.q3", "Aborted by the timeout", 1, "measure",
             measured(count_of("transaction-timeout", "txn_aborted", **STALL)),
             hint="run_scenario('transaction-timeout', **STALL).counts['txn_aborted']"),
]
