"""Exercise 1: where duplicates come from (a producer retries after a lost acknowledgement).

Concept notebook: ``notebooks/01-duplicates-everywhere.ipynb``.

* q1 (measure): duplicates a non-idempotent producer leaves when 20% of the acks are lost;
* q2 (measure): the retries behind them (not the same number: a retry re-sends a batch);
* q3 (mechanism): one lost ack with 5 requests in flight: which offsets hold the second
  copies? The grader runs the same scenario and compares the offsets, so the answer must
  come from the log (or from understanding what a timeout re-sends).
"""

from __future__ import annotations

from typing import Any

from eoslib.exercises._common import count_of, measured
from eoslib.grading.questions import Question, Verdict
from eoslib.protocol_state import state_at
from eoslib.scenarios import run_scenario

#: The run q1 and q2 measure: a non-idempotent producer, 20% of acks lost. Chosen so that
#: the quantities a learner might confuse differ (duplicates, retries, messages),
#: so ``retries = duplicates`` cannot pass (tests/test_exercises.py checks it).
RUN = {"seed": 4, "messages": 40,
       "config": {"enable.idempotence": False, "max.in.flight.requests.per.connection": 5},
       "faults": {"response_loss": 0.2}}

#: q3: exactly one lost acknowledgement, 5 requests in flight, one record per request.
ONE_LOST = {"seed": 2, "messages": 12,
            "config": {"enable.idempotence": False,
                       "max.in.flight.requests.per.connection": 5},
            "faults": {"response_loss": 0.0, "lost_acks": 1}}


def second_copies(**run: Any) -> list[int]:
    """Offsets of ``out-0`` that hold a value already written at a lower offset."""
    part = state_at(run_scenario("producer-retry", **run)).partitions["out-0"]
    return sorted(o for offsets in part.duplicates().values() for o in offsets[1:])


def _grade_offsets(answer: Any) -> Verdict:
    if isinstance(answer, int | str) or not hasattr(answer, "__iter__"):
        return Verdict.fail(f"expected a list of offsets (ints), got {type(answer).__name__}")
    try:
        mine = sorted(int(o) for o in answer)
    except (TypeError, ValueError):
        return Verdict.fail("expected a list of offsets (ints)")
    expected = second_copies(**ONE_LOST)
    if mine == expected:
        return Verdict.ok()
    extra = [o for o in mine if o not in expected]
    if extra:
        return Verdict.fail(f"offset {extra[0]} holds a first write (or nothing): the first "
                            "write is the one whose acknowledgement was lost, not a duplicate")
    return Verdict.fail(f"{len(expected) - len(mine)} second cop(y/ies) missing: what else "
                        "was in flight when the producer timed out?")


QUESTIONS = [
    Question(
        "ex01.q1", "Duplicates from lost acks", 1, "measure",
        measured(count_of("producer-retry", "duplicates", **RUN)),
        hint="a duplicate is a record the broker wrote twice: it wrote the first copy, the "
             "acknowledgement was lost, so the producer could not tell a lost write from a "
             "lost answer and sent the batch again; the checker counts each extra copy",
    ),
    Question(
        "ex01.q2", "Retries behind the duplicates", 1, "measure",
        measured(count_of("producer-retry", "retries", **RUN)),
        hint="a retry re-sends a whole request, a batch of several records, and one timeout "
             "re-sends every request in flight on the connection: one lost acknowledgement "
             "can cost several duplicates, so retries and duplicates are different counts",
    ),
    Question(
        "ex01.q3", "Which offsets are the duplicates", 2, "measure", _grade_offsets,
        hint="the broker appends a re-sent batch at the end of the log like new data; the "
             "producer re-sends the batch whose answer was lost and every request it sent "
             "after it that was still unanswered when the request timed out",
    ),
]
