"""Exercise 5: output and input offsets commit atomically, in one transaction.

Concept notebook: ``notebooks/05-atomic-commit.ipynb``.

* q1 (measure): transactions aborted when the loop crashes after producing;
* q2 (implement): ``process_batch(consumer, producer, msgs)``, one iteration of the
  transactional consume-transform-produce loop, driven by :mod:`eoslib.exercises.harness`
  under crash schedules and lost ``TxnOffsetCommit`` responses (abortable errors).
"""

from __future__ import annotations

from eoslib.exercises._common import count_of, measured
from eoslib.exercises.harness import Schedule, loop_grader
from eoslib.grading.questions import Question

CRASHED = {"seed": 5, "messages": 40, "config": {"transactions": True, "batch": 8},
           "faults": {"crash_step": "after_produce", "crash_at": 21}}

SCHEDULES = [Schedule(0, 10)] + [
    Schedule(seed, 20, crash=crash) for seed in (1, 2) for crash in (
        ("after", "produce", 7), ("before", "send_offsets_to_transaction", 2),
        ("before", "commit_transaction", 2), ("after", "commit_transaction", 2),
        ("after", "consumer.commit", 2))
] + [Schedule(seed, 30, loss=loss) for seed in (2, 3, 4) for loss in (0.3, 0.5)]

QUESTIONS = [
    Question("ex05.q1", "Aborted by the crash", 1, "measure",
             measured(count_of("transactional-crash", "txn_aborted", **CRASHED)),
             hint="the crash leaves the batch's transaction open; the restarted instance's "
                  "init_transactions() makes the coordinator abort it: count the aborted "
                  "transactions (counts['txn_aborted'])"),
    Question("ex05.q2", "The transactional loop", 5, "implement",
             loop_grader("ex05.q2", SCHEDULES, attack=True),
             hint="the offsets go into the transaction; after an abort, Kafka does not move "
                  "the consumer back for you"),
]
