"""Scenarios with two instances of one app: a paused zombie, a stalled group member."""

from __future__ import annotations

from eoslib.apps import lineage
from eoslib.errors import KafkaException
from eoslib.scenarios.common import fill_input, pipeline
from eoslib.scenarios.registry import Outcome, Setup, scenario


@scenario("zombie-fencing",
          "An app instance pauses (a long GC); its replacement takes over the same input. "
          "With transactions the replacement's init_transactions fences the zombie",
          config={"transactions": True, "batch": 10},
          messages=30)
def _zombie(s: Setup) -> Outcome:
    sim = s.sim
    vals = fill_input(s)
    sim.create_topic("out", 1)
    eos = s.course["delivery"] == "exactly-once"
    a = pipeline(s, name="app-a")
    a.start()
    # instance A polls a batch, processes it and produces... then freezes
    c, p = a.consumer, a.producer
    assert c is not None and p is not None
    msgs = c.consume(a.batch, timeout=1.0)
    if eos:
        p.begin_transaction()
    for m in msgs:
        p.produce("out", value=a.step(m), key=m.key(), headers=lineage(m))
    if not eos:
        p.flush()
    sim.kernel.emit("app-a", "crash", "app-a pauses (GC) before committing", flag="crash")
    sim.history.record(sim.now, "app-a", "note", "ok", text="paused")
    c.alive = False  # no heartbeats while paused
    sim.sleep(50_000)  # > session.timeout.ms: the group moves on
    b = pipeline(s, name="app-b")
    b.start()  # same group; with transactions, same transactional.id: fences app-a
    for _ in range(3):
        b.iterate()
    # app-a wakes up and carries on as if nothing happened
    c.alive = True
    sim.kernel.emit("app-a", "restart", "app-a resumes", flag="error")
    try:
        if eos:
            p.send_offsets_to_transaction(c.position(c.assignment()),
                                          c.consumer_group_metadata())
            p.commit_transaction()
        else:
            c.commit(asynchronous=False)
    except KafkaException:
        pass
    a.close()
    b.run(max_ms=120_000)
    return Outcome(["out"], inputs=vals, outputs=["out"],
                   extra={"zombie_fenced": int(p.txn_state == "FATAL_ERROR")})


@scenario("rebalance",
          "One of two group members stalls past max.poll.interval.ms; its partitions move "
          "to the other and its late commit fails. At-least-once replays them; with "
          "transactions the stale generation fences its offsets (KIP-447)",
          config={"transactions": False, "batch": 5, "max.poll.interval.ms": 5000,
                  # librdkafka: max.poll.interval.ms >= session.timeout.ms
                  "session.timeout.ms": 5000},
          messages=40)
def _rebalance(s: Setup) -> Outcome:
    sim = s.sim
    vals = fill_input(s, partitions=2)
    sim.create_topic("out", 1)
    eos = s.course["delivery"] == "exactly-once"
    a = pipeline(s, name="app-a", transactional_id="app-a-txn")
    b = pipeline(s, name="app-b", transactional_id="app-b-txn")
    a.start()
    b.start()
    for _ in range(2):
        a.iterate()
        b.iterate()
    # app-a polls a batch and starts processing it... slowly
    ca, pa = a.consumer, a.producer
    assert ca is not None and pa is not None
    msgs = ca.consume(a.batch, timeout=1.0)
    if eos:
        pa.begin_transaction()
    for m in msgs:
        pa.produce("out", value=a.step(m), key=m.key(), headers=lineage(m))
    stall_until = sim.now + 1.5 * ca.config["max.poll.interval.ms"]
    sim.kernel.emit("app-a", "crash", "app-a processes slowly (no poll)", flag="error")
    while sim.now < stall_until:  # app-b keeps polling; the group moves on without app-a
        if not b.iterate():
            sim.sleep(100)
    try:  # app-a finishes its batch and commits, as if nothing happened
        if eos:
            pa.send_offsets_to_transaction(ca.position(ca.assignment()),
                                           ca.consumer_group_metadata())
            pa.commit_transaction()
        else:
            pa.flush()
            ca.commit(asynchronous=False)
    except KafkaException as e:
        sim.history.record(sim.now, "app-a", "note", "ok", text=f"commit failed: {e}")
        if eos and e.error.txn_requires_abort():
            pa.abort_transaction()
    a.close()
    b.run(max_ms=120_000)
    return Outcome(["out"], inputs=vals, outputs=["out"], extra={"rebalances":
                                   sim.cluster.group_coordinator.group("app").rebalances})
