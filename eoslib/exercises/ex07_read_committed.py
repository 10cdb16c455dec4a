"""Exercise 7: read_committed - the consumer's side of transactions.

Concept notebook: ``notebooks/07-read-committed.ipynb``.

* q1 (measure): aborted records a read_uncommitted consumer returns;
* q2 (implement): the read_committed filter ``fetch_filter(batches, aborted)``, plugged into
  ``hooks={"fetch_filter": fn}`` on the ``read-committed`` scenario with
  ``isolation.level=read_committed`` (many seeds, sizes and transaction lengths), and on
  generated fetches with several producers;
* q3 (measure): how long records wait for the last stable offset (LSO).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

from eoslib.exercises._common import (
    Run,
    count_of,
    explorer_attacked,
    failure,
    measured,
    ordered,
    raised,
    remember,
)
from eoslib.grading.questions import Question, Verdict
from eoslib.isolation import read_committed_filter
from eoslib.partition import AbortedTxn, Batch
from eoslib.scenarios import run_scenario

UNCOMMITTED = {"seed": 3, "messages": 45, "config": {"isolation.level": "read_uncommitted",
                                                     "batch": 5}}
COMMITTED = {"seed": 3, "messages": 45, "config": {"isolation.level": "read_committed",
                                                   "batch": 5}}


def _show(records: Any) -> str:
    if not isinstance(records, list):
        return f"a {type(records).__name__}"
    offsets = [r[0] for r in records if isinstance(r, tuple) and r]
    head = ", ".join(str(o) for o in offsets[:12]) + (", ..." if len(offsets) > 12 else "")
    return f"{len(records)} record(s) at offsets [{head}]"


def _diff(mine: Any, kafka: list[tuple[int, Any, Any]]) -> str:
    if not isinstance(mine, list):
        return f"your filter returned {_show(mine)}, not a list of (offset, key, value)"
    got = {r[0] for r in mine if isinstance(r, tuple) and r}
    want = {r[0] for r in kafka}
    extra, missing = sorted(got - want), sorted(want - got)
    if extra:
        return f"your filter returned {_show(mine)}, including offsets that must be hidden " \
               f"(first: {extra[:5]})"
    if missing:
        return f"your filter returned {_show(mine)}, without committed or non-transactional " \
               f"records (first missing offsets: {missing[:5]})"
    return f"your filter returned {_show(mine)}: same offsets, wrong order or contents"


class _Spy:
    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.first: str | None = None

    def __call__(self, batches: Sequence[Batch], aborted: Sequence[AbortedTxn]) -> Any:
        kafka = read_committed_filter(batches, aborted)
        mine = self.fn(list(batches), list(aborted))
        if self.first is None and mine != kafka:
            self.first = _diff(mine, kafka)
        return mine if isinstance(mine, list) else kafka


HOOK_RUNS = ordered([Run(seed, n, {}, {"batch": b}) for seed in (0, 1) for n in (12, 30)
                     for b in (3, 5)] + [Run(seed, 30, {"response_loss": 0.2}, {"batch": 4})
                                         for seed in (0, 2)])


def _fetches() -> Iterator[tuple[str, list[Batch], list[AbortedTxn]]]:
    """Generated fetches: two transactional producers and a plain one, interleaved."""
    rng = random.Random(7)
    for n in range(25):
        batches: list[Batch] = []
        aborted: list[AbortedTxn] = []
        open_txn: dict[int, int] = {}
        offset = 0
        for _ in range(rng.randint(3, 14)):
            pid = rng.choice((10, 11, -1))
            if pid > 0 and pid in open_txn and rng.random() < 0.4:
                control = rng.choice(("COMMIT", "ABORT"))
                if control == "ABORT":
                    aborted.append(AbortedTxn(pid, open_txn[pid], offset, offset))
                batches.append(Batch(offset, [(None, None)], pid, 0, -1, True, control))
                del open_txn[pid]
                offset += 1
                continue
            size = rng.randint(1, 3)
            records = [(None, f"v{offset + i}") for i in range(size)]
            batches.append(Batch(offset, records, pid, 0, 0, pid > 0))
            if pid > 0:
                open_txn.setdefault(pid, offset)
            offset += size
        yield f"generated fetch {n + 1}", batches, aborted


def _describe(batches: list[Batch], aborted: list[AbortedTxn]) -> str:
    parts = []
    for b in batches:
        kind = b.control or ("txn" if b.transactional else "plain")
        parts.append(f"{b.base_offset}-{b.last_offset}:{kind}(pid {b.producer_id})")
    marks = ", ".join(f"(pid {a.producer_id}, first_offset {a.first_offset})" for a in aborted)
    return f"batches [{'; '.join(parts)}], aborted [{marks}]"


def _grade_filter(answer: Any) -> Verdict:
    if not callable(answer):
        return Verdict.fail(f"expected a function fetch_filter(batches, aborted), "
                            f"got {type(answer).__name__}")
    for run in HOOK_RUNS:
        spy = _Spy(answer)
        config = {"isolation.level": "read_committed", **run.config}
        try:
            result = run_scenario("read-committed", seed=run.seed, messages=run.messages,
                                  config=config, faults=dict(run.faults),
                                  hooks={"fetch_filter": spy})
        except Exception as exc:  # noqa: BLE001 - the learner's function failed
            return raised(run.describe("read-committed"), exc)
        if spy.first is not None or not result.report.ok:
            problem = spy.first or "the checker found anomalies"
            return failure("ex07.q2", run.describe("read-committed"), problem, result)
    for name, batches, aborted in _fetches():
        try:
            mine = answer(list(batches), list(aborted))
        except Exception as exc:  # noqa: BLE001
            return raised(f"{name} ({_describe(batches, aborted)})", exc)
        kafka = read_committed_filter(batches, aborted)
        if mine != kafka:
            return Verdict.fail(f"fails on {name} ({_describe(batches, aborted)}): "
                                + _diff(mine, kafka))
    remember("ex07.q2", None)
    return Verdict.ok(f"matches Kafka on {len(HOOK_RUNS)} runs and 25 generated fetches")


# the explorer attacks an answer that passes the fixed runs (grader helper, issue 10)
_attacked_grade_filter = explorer_attacked(
    _grade_filter, "ex07.q2", "read-committed", "fetch_filter",
    config={"isolation.level": "read_committed", "batch": 1},
)

QUESTIONS = [
    Question("ex07.q1", "What read_uncommitted lets through", 1, "measure",
             measured(count_of("read-committed", "aborted_reads", **UNCOMMITTED)),
             hint="run_scenario('read-committed', **UNCOMMITTED).counts['aborted_reads']"),
    Question("ex07.q2", "The read_committed filter", 4, "implement", _attacked_grade_filter,
             hint="an aborted transaction hides its producer's records from its first offset "
                  "until that producer's ABORT marker, and no further"),
    Question("ex07.q3", "The price of waiting for the LSO", 1, "measure",
             measured(count_of("read-committed", "lso_lag_ms", **COMMITTED), rel=1e-6),
             hint="run_scenario('read-committed', **COMMITTED).counts['lso_lag_ms']"),
]
