"""Exercise 2: the idempotent producer and the broker's duplicate check.

Concept notebook: ``notebooks/02-idempotent-producer.ipynb``.

* q1 (configure): producer settings that remove duplicates and reordering under retries;
* q2 (implement): the broker's duplicate check ``duplicate_check(entry, batch) -> Verdict``
  plugged into ``hooks={"duplicate_check": fn}``; it must give Kafka's verdict on every
  batch of many seeded runs with lost acks and refused batches, and on edge cases (epochs,
  evicted batches, no state);
* q3 (measure): duplicates left by an idempotent producer that restarts.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from eoslib.exercises._common import (
    Run,
    count_of,
    explorer_attacked,
    failure,
    measured,
    ordered,
    quiet_run,
    raised,
    remember,
    run_size,
    traced,
)
from eoslib.grading.questions import Question, Verdict
from eoslib.producer_state import (
    INT_MAX,
    BatchMetadata,
    IncomingBatch,
    ProducerStateEntry,
    kafka_duplicate_check,
)
from eoslib.producer_state import Verdict as BrokerVerdict
from eoslib.result import Result

# ------------------------------------------------------------------------------ q1
BASE = {"enable.idempotence": False, "max.in.flight.requests.per.connection": 5}
CONFIG_RUNS = [
    ("producer-retry", Run(seed, 30, {"response_loss": loss}))
    for seed in (1, 2, 3) for loss in (0.1, 0.3)
] + [("reorder", Run(seed, 30, {"error_prob": p})) for seed, p in
      ((1, 0.1), (2, 0.1), (3, 0.1), (1, 0.2), (4, 0.2), (5, 0.2))]


def _grade_config(answer: Any) -> Verdict:
    if not isinstance(answer, dict):
        return Verdict.fail(f"expected a dict of settings, got {type(answer).__name__}")
    runs = sorted(CONFIG_RUNS, key=lambda sr: run_size(sr[1]))
    for scenario, run in runs:
        kwargs = {"seed": run.seed, "messages": run.messages, "config": {**BASE, **answer},
                  "faults": dict(run.faults)}
        try:
            result = quiet_run(scenario, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a rejected configuration
            return Verdict.fail(f"the scenario rejects this configuration: {exc}")
        lost = run.messages - len({v for _, _, v in _values(result)})
        if not result.report.ok or lost:
            problem = (f"{lost} message(s) never reached the topic" if lost
                       else "the checker found anomalies")
            return failure("ex02.q1", run.describe(scenario), problem,
                           traced(scenario, result, **kwargs))
    remember("ex02.q1", None)
    return Verdict.ok(f"no anomaly in {len(runs)} runs")


def _values(result: Result) -> list[tuple[str, int, Any]]:
    """(topic, offset, value) of every record the verifier read."""
    return [(r[0], r[2], r[3]) for op in result.history.of("poll")
            if op.process == "verifier" for r in op.value.get("records", [])]


# ------------------------------------------------------------------------------ q2
def _same(mine: Any, kafka: BrokerVerdict) -> bool:
    if not isinstance(mine, BrokerVerdict):
        return False
    if mine.action != kafka.action:
        return False
    if kafka.action == "error":
        return mine.error == kafka.error
    if kafka.action == "duplicate":
        return mine.duplicate_of == kafka.duplicate_of
    return True


def _state(entry: ProducerStateEntry | None) -> str:
    if entry is None:
        return "no stored state for this producer"
    ranges = ", ".join(f"{b.first_seq}..{b.last_seq}" for b in entry.batches) or "none"
    return f"stored epoch {entry.epoch}, cached sequence ranges [{ranges}]"


def _batch(batch: IncomingBatch) -> str:
    return f"incoming epoch {batch.epoch}, sequences {batch.first_seq}..{batch.last_seq}"


def _mismatch(mine: Any, kafka: BrokerVerdict, entry: Any, batch: IncomingBatch) -> str:
    got = (f"{mine.action}" + (f" {mine.error}" if mine.error else "")
           if isinstance(mine, BrokerVerdict) else f"a {type(mine).__name__}")
    return (f"with {_state(entry)} and {_batch(batch)}, your check returned {got}; "
            "Kafka's rule gives a different verdict")


class _Spy:
    """Calls the learner's check, compares it with Kafka's, returns the learner's."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.calls = 0
        self.first: str | None = None

    def __call__(self, entry: ProducerStateEntry | None, batch: IncomingBatch) -> Any:
        self.calls += 1
        kafka = kafka_duplicate_check(entry, batch)
        mine = self.fn(entry, batch)
        if self.first is None and not _same(mine, kafka):
            self.first = _mismatch(mine, kafka, entry, batch)
        return mine if isinstance(mine, BrokerVerdict) else kafka


HOOK_RUNS = ordered(
    [Run(seed, 20, {"response_loss": loss}) for seed in range(4) for loss in (0.2, 0.4)]
    + [Run(seed, 30, {"error_prob": p}, {"max.in.flight.requests.per.connection": 5})
       for seed in range(4) for p in (0.1, 0.3)]
    + [Run(seed, 60, {"lost_acks": 6}) for seed in range(2)]
)


def _edge_cases() -> Iterator[tuple[str, ProducerStateEntry | None, IncomingBatch]]:
    """Deterministic edge cases (the expected verdicts come from Kafka's rule)."""
    rng = random.Random(2024)
    yield "edge case: first batch of a producer", None, IncomingBatch(1, 0, 17, 3)
    for n in range(40):
        epoch = rng.randint(1, 4)
        entry = ProducerStateEntry(1, epoch)
        seq = INT_MAX - 6 if n % 10 == 9 else rng.randint(0, 30)
        offset = rng.randint(0, 100)
        for _ in range(rng.randint(0, 7)):
            count = rng.randint(1, 3)
            last = (seq + count - 1) % (INT_MAX + 1)
            entry.add(BatchMetadata(seq, last, offset, offset + count - 1))
            seq, offset = (last + 1) % (INT_MAX + 1), offset + count
        cached = list(entry.batches)
        pick = rng.randint(0, 5)
        if pick == 0 and cached:
            b = rng.choice(cached)
            batch = IncomingBatch(1, epoch, b.first_seq, b.last_seq - b.first_seq + 1)
        elif pick == 1:
            batch = IncomingBatch(1, epoch, max(0, entry.last_seq - 20), 1)
        elif pick == 2:
            batch = IncomingBatch(1, epoch - 1, entry.last_seq + 1, 1)
        elif pick == 3:
            batch = IncomingBatch(1, epoch + 1, rng.choice((0, 0, 5)), 2)
        elif pick == 4:
            batch = IncomingBatch(1, epoch, entry.last_seq + rng.choice((1, 1, 2, 3)), 2)
        else:
            batch = IncomingBatch(1, epoch, (entry.last_seq + 1) % (INT_MAX + 1), 1)
        yield f"edge case {n + 1}", entry, batch


def _grade_check(answer: Any) -> Verdict:
    if not callable(answer):
        return Verdict.fail(f"expected a function duplicate_check(entry, batch), "
                            f"got {type(answer).__name__}")
    for run in HOOK_RUNS:
        scenario = "reorder" if "error_prob" in run.faults else "producer-retry"
        spy = _Spy(answer)
        kwargs = {"seed": run.seed, "messages": run.messages,
                  "config": {"enable.idempotence": True, **run.config},
                  "faults": dict(run.faults), "hooks": {"duplicate_check": spy}}
        try:
            result = quiet_run(scenario, **kwargs)  # the spy reads every verdict, not the trace
        except Exception as exc:  # noqa: BLE001 - the learner's function failed
            return raised(run.describe(scenario), exc)
        if spy.first is not None:
            first = spy.first  # decided; the traced replay only shows the run
            return failure("ex02.q2", run.describe(scenario), first,
                           traced(scenario, result, **kwargs))
    for name, entry, batch in _edge_cases():
        try:
            mine = answer(entry, batch)
        except Exception as exc:  # noqa: BLE001
            return raised(f"{name}: with {_state(entry)} and {_batch(batch)}", exc)
        if not _same(mine, kafka_duplicate_check(entry, batch)):
            return Verdict.fail(f"fails on {name}: "
                                + _mismatch(mine, kafka_duplicate_check(entry, batch),
                                            entry, batch))
    remember("ex02.q2", None)
    return Verdict.ok(f"matches Kafka on {len(HOOK_RUNS)} runs and every edge case")


# ------------------------------------------------------------------------------ q3
RESTART = {"seed": 3, "messages": 30, "config": {"enable.idempotence": True}}

# the explorer attacks an answer that passes the fixed runs (grader helper, issue 10)
_attacked_grade_check = explorer_attacked(
    _grade_check, "ex02.q2", "producer-retry", "duplicate_check"
)

QUESTIONS = [
    Question("ex02.q1", "Settings that make retries safe", 2, "configure", _grade_config,
             hint="duplicates and reordering both come from retries; one producer setting "
                  "makes the broker recognise a re-sent batch"),
    Question("ex02.q2", "The broker's duplicate check", 4, "implement", _attacked_grade_check,
             hint="think in the order the broker does: the epoch, then batches it has "
                  "already cached, then the sequence it expects next"),
    Question("ex02.q3", "Idempotence is per producer session", 1, "measure",
             measured(count_of("producer-restart", "duplicates", **RESTART)),
             hint="the replacement producer gets a new producer id: the broker holds no sequence "
                  "numbers for it, so everything it re-sends is new data, even what the old "
                  "producer already wrote (counts['duplicates'])"),
]
