"""Scenarios about producers: retries, reordering, a restarted producer."""

from __future__ import annotations

from typing import Any

from eoslib.scenarios.common import producer, values, write
from eoslib.scenarios.registry import Outcome, Setup, scenario


@scenario("producer-retry",
          "A producer retries after lost acknowledgements: duplicates unless "
          "enable.idempotence=true",
          config={"enable.idempotence": True, "request.timeout.ms": 1000, "socket.timeout.ms": 1000,
                  "delivery.timeout.ms": 30000},
          faults={"response_loss": 0.1})
def _producer_retry(s: Setup) -> Outcome:
    sim = s.sim
    sim.create_topic("out", 1)
    p = producer(s)
    write(s, p, "out", values(s.messages), 10)
    return Outcome(["out"], extra={"acknowledged": p.stats["acked"],
                                   "failed_sends": p.stats["failed"]})


@scenario("reorder",
          "Retries after a refused batch overtake later batches unless idempotence keeps "
          "the order (max.in.flight.requests.per.connection=5)",
          config={"enable.idempotence": False, "max.in.flight.requests.per.connection": 5,
                  "linger.ms": 0},
          faults={"error_prob": 0.1})
def _reorder(s: Setup) -> Outcome:
    sim = s.sim
    sim.create_topic("out", 1)
    write(s, producer(s), "out", values(s.messages), 0.5)
    return Outcome(["out"])


@scenario("producer-restart",
          "An idempotent producer crashes before learning what was delivered; its "
          "replacement re-sends: idempotence is per producer session",
          config={"enable.idempotence": True, "request.timeout.ms": 1000,
                  "socket.timeout.ms": 1000},
          faults={"lost_acks": 0})
def _producer_restart(s: Setup) -> Outcome:
    sim = s.sim
    sim.create_topic("out", 1)
    vals = values(s.messages)
    half = len(vals) // 2
    txn = bool(s.course["transactions"])
    conf = dict(s.producer)
    if txn:
        conf["transactional.id"] = "sender"
    acked: set[str] = set()

    def on_delivery(err: Any, msg: Any) -> None:
        if err is None:
            acked.add(msg.value())

    p = sim.Producer({**conf, "client.id": "sender"})
    if txn:
        p.init_transactions()
        p.begin_transaction()
    for v in vals[:half]:
        p.produce("out", value=v, on_delivery=on_delivery)
        sim.sleep(1)
    sim.sleep(3)  # the broker has appended; the callbacks have not been served yet
    p.crash()
    sim.history.record(sim.now, "sender", "crash", "ok", step="after_produce")
    sim.kernel.emit("sender", "crash", "producer process crashed", flag="crash")
    p2 = sim.Producer({**conf, "client.id": "sender#2"})
    sim.set_process(p2, "sender#2")
    if txn:
        p2.init_transactions()
        p2.begin_transaction()
    for v in vals:
        if v not in acked:  # what the application cannot prove was delivered
            p2.produce("out", value=v, on_delivery=on_delivery)
    if txn:
        p2.commit_transaction()
    p2.flush()
    return Outcome(["out"])
