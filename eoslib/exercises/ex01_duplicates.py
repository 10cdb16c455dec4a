"""Exercise 1: where duplicates come from (a producer retries after a lost acknowledgement).

Concept notebook: ``notebooks/01-duplicates.ipynb``. Measure questions: the grader runs the
same scenario itself and compares, so the answer must come from running eoslib.
"""

from __future__ import annotations

from eoslib.exercises._common import count_of, measured
from eoslib.grading.questions import Question

#: The run both questions measure: a non-idempotent producer, 20% of acks lost. Chosen so that
#: the quantities a learner might confuse differ (duplicates, retries, messages),
#: so ``retries = duplicates`` cannot pass (tests/test_exercises.py checks it).
RUN = {"seed": 4, "messages": 40,
       "config": {"enable.idempotence": False, "max.in.flight.requests.per.connection": 5},
       "faults": {"response_loss": 0.2}}

QUESTIONS = [
    Question(
        "ex01.q1", "Duplicates from lost acks", 1, "measure",
        measured(count_of("producer-retry", "duplicates", **RUN)),
        hint="run_scenario('producer-retry', **RUN) and read counts['duplicates']",
    ),
    Question(
        "ex01.q2", "Retries behind the duplicates", 1, "measure",
        measured(count_of("producer-retry", "retries", **RUN)),
        hint="the same run's counts['retries']: a retry re-sends a whole batch of "
             "several records, so retries and duplicates differ",
    ),
]
