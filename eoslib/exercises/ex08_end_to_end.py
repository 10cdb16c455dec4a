"""Exercise 8: end to end - a database table outside Kafka.

Concept notebook: ``notebooks/08-end-to-end.ipynb``.

* q1 (measure): duplicate rows an ``insert`` sink gets when the app crashes after writing;
* q2 (configure): a ``sink`` mode with no anomaly under crashes at several steps;
* q3 (implement): an idempotent ``sink_write(sink, msg_id, value, tp, offset) -> bool``,
  plugged into ``hooks={"sink_write": fn}`` on ``external-sink`` (sink=insert, crashes), and
  run on a two-partition input whose upstream re-sent some messages (the same message id at
  a second offset).
"""

from __future__ import annotations

from typing import Any

from eoslib.apps import Pipeline
from eoslib.checker import check as check_history
from eoslib.exercises._common import (
    CRASH_STEPS,
    Run,
    config_grader,
    count_of,
    explorer_attacked,
    failure,
    measured,
    ordered,
    raised,
    remember,
)
from eoslib.grading.questions import Question, Verdict
from eoslib.result import Result
from eoslib.scenarios import run_scenario, values
from eoslib.simulation import Simulation
from eoslib.sinks import Sink

DUPLICATED = {"seed": 6, "messages": 40, "config": {"sink": "insert", "batch": 8},
              "faults": {"crash_step": "after_process", "crash_at": 13}}

SINK_RUNS = [Run(seed, 30, {"crash_step": step, "crash_at": at}) for seed in (0, 1)
             for step in CRASH_STEPS[:4] for at in (4, 17)]

HOOK_RUNS = ordered([Run(seed, n, {"crash_step": step, "crash_at": at}, {"sink": "insert"})
                     for seed in (0, 1) for n in (10, 30)
                     for step in ("after_process", "before_commit") for at in (3, 8)])
#: (seed, messages, re-sent message indexes, crash_at) for the two-partition runs.
UPSTREAM = [(0, 12, (2, 5), 7), (1, 20, (4, 9, 13), 11), (2, 20, (0, 1), 15)]


def upstream_run(write: Any, seed: int, messages: int, resent: tuple[int, ...],
                 crash_at: int) -> Result:
    """A two-partition input where the upstream re-sent ``resent``; the app (at-least-once,
    no output topic) writes to a sink through ``write`` and crashes once after writing."""
    sim = Simulation(seed, faults={"crash_step": "after_process", "crash_at": crash_at})
    sim.create_topic("in", 2)
    parts = sim.cluster.partitions("in")
    vals = values(messages)
    for i, v in enumerate(vals):
        parts[i % 2].append_data([(None, v)])
    for i in resent:  # the upstream producer retried: a second copy, later, elsewhere
        parts[(i + 1) % 2].append_data([(None, vals[i])])
    sink = Sink(sim, "insert")
    sink.custom_write = write
    app = Pipeline(sim, input_topic="in", output_topic=None, sink=sink, batch=4)
    app.run()
    report = check_history(sim.history, expected_ids=vals, topics=[])
    counts = {"processed_twice": report.count("processed_twice"),
              "lost": report.count("lost_input"), "rows": len(sink.rows)}
    return Result("upstream-resend", seed, messages, {}, {"resent": list(resent)}, counts,
                  report, sim.history, sim.trace)


def _grade_write(answer: Any) -> Verdict:
    if not callable(answer):
        return Verdict.fail(f"expected a function sink_write(sink, msg_id, value, tp, offset), "
                            f"got {type(answer).__name__}")
    for run in HOOK_RUNS:
        where = run.describe("external-sink")
        try:
            result = run_scenario("external-sink", seed=run.seed, messages=run.messages,
                                  config=dict(run.config), faults=dict(run.faults),
                                  hooks={"sink_write": answer})
        except Exception as exc:  # noqa: BLE001 - the learner's function failed
            return raised(where, exc)
        if not result.report.ok:
            return failure("ex08.q3", where, "the checker found anomalies", result)
    for seed, messages, resent, crash_at in UPSTREAM:
        where = (f"a two-partition input with seed={seed}, messages={messages}, upstream "
                 f"re-sent {', '.join(f'm{i}' for i in resent)}, crash after writing m{crash_at}")
        try:
            result = upstream_run(answer, seed, messages, resent, crash_at)
        except Exception as exc:  # noqa: BLE001
            return raised(where, exc)
        if not result.report.ok:
            return failure("ex08.q3", where, "the checker found anomalies", result)
    remember("ex08.q3", None)
    return Verdict.ok(f"exactly one row per message in {len(HOOK_RUNS) + len(UPSTREAM)} runs")


# the explorer attacks an answer that passes the fixed runs (grader helper, issue 10)
_attacked_grade_write = explorer_attacked(
    _grade_write, "ex08.q3", "external-sink", "sink_write", config={"sink": "upsert"}
)

QUESTIONS = [
    Question("ex08.q1", "Rows written twice", 1, "measure",
             measured(count_of("external-sink", "duplicate_rows", **DUPLICATED)),
             hint="run_scenario('external-sink', **DUPLICATED).counts['duplicate_rows']"),
    Question("ex08.q2", "A sink that survives the replay", 2, "configure",
             config_grader("ex08.q2", "external-sink", SINK_RUNS,
                           base={"sink": "insert", "transactions": True}),
             hint="Kafka's transaction cannot take back a row already written to the table"),
    Question("ex08.q3", "An idempotent sink write", 4, "implement", _attacked_grade_write,
             hint="what identifies a message for the table: where it was read, or what it is?"),
]
