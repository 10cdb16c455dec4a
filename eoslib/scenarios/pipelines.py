"""Scenarios about the consume-transform-produce app: crashes, delivery guarantees, sinks."""

from __future__ import annotations

from typing import Any

from eoslib.apps import default_step
from eoslib.scenarios.common import fill_input, pipeline
from eoslib.scenarios.registry import Outcome, Setup, scenario
from eoslib.sinks import Sink


@scenario("consumer-crash",
          "A consume-process-produce app crashes before committing its input offsets "
          "and replays the batch; transactions=true makes output and offsets atomic",
          config={"transactions": False, "batch": 10},
          faults={"crash_step": "before_commit"})
def _consumer_crash(s: Setup) -> Outcome:
    vals = fill_input(s)
    s.sim.create_topic("out", 1)
    app = pipeline(s)
    app.run()
    return Outcome(["out"], inputs=vals, outputs=["out"],
                   extra={"crashes": app.crashes, "aborts": app.aborts})


@scenario("at-most-once",
          "Committing before processing: a crash after the commit loses the batch",
          config={"delivery": "at-most-once", "batch": 10},
          faults={"crash_step": "after_commit"})
def _at_most_once(s: Setup) -> Outcome:
    vals = fill_input(s)
    sink = Sink(s.sim, s.course["sink"] or "insert")
    app = pipeline(s, output_topic=None, sink=sink)
    app.run()
    return Outcome([], inputs=vals, outputs=["sink"], sinks=[sink],
                   extra={"crashes": app.crashes,
                                                 "rows": len(sink.rows)})


@scenario("transactional-crash",
          "The transactional loop crashes at the chosen step: the open transaction aborts "
          "and the restart resumes from the committed offsets - no duplicates",
          config={"transactions": True, "batch": 10},
          faults={"crash_step": "after_produce"})
def _txn_crash(s: Setup) -> Outcome:
    return _consumer_crash(s)


@scenario("external-sink",
          "An exactly-once pipeline writes to a database table and crashes after the "
          "write, before the commit: insert duplicates, upsert and offsets do not",
          config={"transactions": True, "sink": "insert", "batch": 10},
          faults={"crash_step": "after_process"})
def _external_sink(s: Setup) -> Outcome:
    vals = fill_input(s)
    s.sim.create_topic("out", 1)
    sink = Sink(s.sim, s.course["sink"] or "insert")
    hooks = s.course["_hooks"]
    if "sink_write" in hooks:
        sink.custom_write = hooks["sink_write"]
    output = None if sink.mode == "offsets" else "out"
    app = pipeline(s, sink=sink, output_topic=output)
    app.run()
    return Outcome(["out"] if output else [], inputs=vals,
                   outputs=["sink", *(["out"] if output else [])], sinks=[sink],
                   extra={"rows": len(sink.rows), "duplicate_rows": sink.duplicate_rows})


@scenario("pipeline",
          "The playground: a consume-transform-produce pipeline with every toggle "
          "(delivery, transactions, idempotence, isolation, sink, faults)",
          config={"transactions": False, "batch": 10},
          faults={"response_loss": 0.05, "crash_step": None})
def _playground(s: Setup) -> Outcome:
    vals = fill_input(s)
    s.sim.create_topic("out", 1)
    sink = Sink(s.sim, s.course["sink"]) if s.course["sink"] else None
    app = pipeline(s, sink=sink)
    app.run()
    return Outcome(["out"], inputs=vals, outputs=["out", *(["sink"] if sink else [])],
                   sinks=[sink] if sink else None,
                   extra={"crashes": app.crashes, "aborts": app.aborts})


# -- explorer scenario (issue 9, eoslib/explore): a reader downstream of the EOS pipeline --
@scenario("downstream-reader",
          "An exactly-once pipeline (read_committed input, transactional output) and a "
          "downstream consumer of its output with isolation.level (default "
          "read_uncommitted): it returns the records of aborted transactions, read_committed "
          "does not",
          config={"transactions": True, "isolation.level": "read_uncommitted", "batch": 10},
          faults={"crash_step": None})
def _downstream_reader(s: Setup) -> Outcome:
    sim = s.sim
    vals = fill_input(s)
    sim.create_topic("out", 1)
    reader = sim.Consumer({"group.id": "downstream", "auto.offset.reset": "earliest",
                           "enable.auto.commit": False, "client.id": "downstream",
                           "isolation.level": s.consumer.get("isolation.level",
                                                             "read_uncommitted")})
    sim.set_process(reader, "downstream")
    reader.subscribe(["out"])
    hooks = s.course["_hooks"]
    inner = hooks.get("step", default_step)

    def step(m: Any) -> Any:  # the downstream polls while the pipeline works
        reader.consume(100, timeout=0.005)
        return inner(m)

    app_setup = Setup(sim, s.messages, s.producer,
                      {**s.consumer, "isolation.level": "read_committed"},
                      {**s.course, "_hooks": {k: v for k, v in hooks.items() if k != "step"}})
    app = pipeline(app_setup, step=step)
    app.run()
    for _ in range(3):
        reader.consume(100, timeout=0.1)
    return Outcome(["out"], inputs=vals, outputs=["out"],
                   extra={"crashes": app.crashes, "aborts": app.aborts})
# -- end of the explorer scenario
