"""Exercise 7: read_committed - the consumer's side of transactions.

Concept notebook: ``notebooks/07-read-committed.ipynb``.

* q1 (measure): aborted records a read_uncommitted consumer returns;
* q2 (implement): the read_committed filter ``fetch_filter(batches, aborted)``, plugged into
  ``hooks={"fetch_filter": fn}`` on the ``read-committed`` scenario with
  ``isolation.level=read_committed`` (many seeds, sizes and transaction lengths), and on
  generated fetches with several producers;
* q3 (measure, the mechanism: what the reader returns next): a read_committed reader polls
  while a transaction is open with a plain record written after it, then again after the
  abort (:func:`reader_polls` builds that log and answers). The price of waiting for the
  LSO is measured in notebook 09.
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
from eoslib.simulation import Simulation

UNCOMMITTED = {"seed": 3, "messages": 45, "config": {"isolation.level": "read_uncommitted",
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

def reader_polls() -> dict[str, list[str]]:
    """What a read_committed reader's polls return from this log (offsets in brackets):
    a committed transaction ``c0 c1`` [0-1] and its COMMIT marker [2], an open transaction
    ``o0 o1 o2`` [3-5], a plain record ``p0`` [6]; the reader polls while the transaction is
    open (``"while_open"``), the writer aborts it, the reader polls again (``"after_abort"``)."""
    sim = Simulation(seed=7)
    sim.create_topic("out", 1)
    writer = sim.Producer({"transactional.id": "writer"})
    writer.init_transactions()
    for values, commit in ((("c0", "c1"), True), (("o0", "o1", "o2"), False)):
        writer.begin_transaction()
        for v in values:
            writer.produce("out", value=v)
        if commit:
            writer.commit_transaction()
    writer.flush()
    plain = sim.Producer({"linger.ms": 0})
    plain.produce("out", value="p0")
    plain.flush()
    reader = sim.Consumer({"group.id": "downstream", "auto.offset.reset": "earliest",
                           "enable.auto.commit": False, "isolation.level": "read_committed"})
    reader.subscribe(["out"])
    while_open = [m.value() for m in reader.consume(100, timeout=1.0)]
    writer.abort_transaction()
    after_abort = [m.value() for m in reader.consume(100, timeout=1.0)]
    return {"while_open": while_open, "after_abort": after_abort}


def _grade_polls(answer: Any) -> Verdict:
    keys = ("while_open", "after_abort")
    if not isinstance(answer, dict) or set(answer) != set(keys):
        return Verdict.fail(f"{_short_answer(answer)} is not the value asked for: expected a "
                            "dict {'while_open': [values], 'after_abort': [values]}")
    run = reader_polls()
    wrong = [k for k in keys if list(answer[k]) != run[k]]
    if not wrong:
        return Verdict.ok("both polls right")
    hints = {"while_open": "the first poll stops at the last stable offset: what sits below "
                           "it, and is p0 below it?",
             "after_abort": "after the ABORT marker the LSO moves on: which records between "
                            "the old LSO and the new one are returned, and which skipped?"}
    return Verdict.partial(0.5 if len(wrong) == 1 else 0.0,
                           f"not the value of {wrong[0]!r}: {hints[wrong[0]]}")


def _short_answer(answer: Any) -> str:
    text = repr(answer)
    return text if len(text) <= 40 else text[:37] + "..."


QUESTIONS = [
    Question("ex07.q1", "What read_uncommitted lets through", 1, "measure",
             measured(count_of("read-committed", "aborted_reads", **UNCOMMITTED)),
             hint="run_scenario('read-committed', **UNCOMMITTED).counts['aborted_reads']"),
    Question("ex07.q2", "The read_committed filter", 4, "implement", _attacked_grade_filter,
             hint="an aborted transaction hides its producer's records from its first offset "
                  "until that producer's ABORT marker, and no further"),
    Question("ex07.q3", "What the reader returns next", 2, "measure", _grade_polls,
             hint="a read_committed fetch is answered only below the LSO, whatever kind of "
                  "record sits above it; aborted records below the LSO are dropped"),
]
