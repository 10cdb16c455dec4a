"""Exercise 4: transactions - all of a transaction's records, or none of them.

Concept notebook: ``notebooks/04-transactions.ipynb``.

* q1 (measure): aborted records a read_uncommitted reader sees;
* q2 (configure): a configuration of the zombie-fencing app that leaves no duplicate;
* q3 (mechanism): in the same log, the offset of the next record a read_committed reader
  returns after ``AFTER`` (it skips the COMMIT marker, an aborted transaction and its ABORT
  marker).
"""

from __future__ import annotations

from eoslib.exercises._common import Run, config_grader, count_of, measured
from eoslib.grading.questions import Question
from eoslib.protocol_state import state_at
from eoslib.scenarios import run_scenario

MIXED = {"seed": 2, "messages": 36, "config": {"isolation.level": "read_uncommitted",
                                               "batch": 4}}
ZOMBIE_RUNS = [Run(seed, n) for seed in (0, 1, 2) for n in (20, 30, 40)] + [
    Run(seed, 30, {"response_loss": 0.05}) for seed in (3, 4)]
#: q3: the record a read_committed reader of MIXED's ``out-0`` has just returned.
AFTER = "m7"


def next_returned(after: str = AFTER) -> int:
    """The offset of the next record a read_committed reader of MIXED's ``out-0`` returns
    after the committed record ``after``: the first later cell that is data, committed."""
    cells = state_at(run_scenario("read-committed", **MIXED)).partitions["out-0"].cells
    start = next(c.offset for c in cells if c.value == after and c.control is None)
    return next(c.offset for c in cells if c.offset > start and c.control is None
                and c.status == "committed")


QUESTIONS = [
    Question("ex04.q1", "Aborted records read", 1, "measure",
             measured(count_of("read-committed", "aborted_reads", **MIXED)),
             hint="read_uncommitted returns every data record below the high watermark, "
                  "aborted or not: count the aborted records a reader was handed "
                  "(counts['aborted_reads'])"),
    Question("ex04.q2", "Fence the zombie", 2, "configure",
             config_grader("ex04.q2", "zombie-fencing", ZOMBIE_RUNS,
                           base={"transactions": False}),
             hint="idempotence lasts one producer session; what lets a new instance fence "
                  "the old one?"),
    Question("ex04.q3", "What the reader returns next", 2, "measure",
             measured(next_returned),
             hint="a marker (COMMIT or ABORT) occupies an offset but is never returned, and a "
                  "read_committed reader skips every record of a transaction that ended with "
                  "an ABORT marker"),
]
