"""Scenarios about transactions: readers, timeouts, coordinator failover, a stale EndTxn."""

from __future__ import annotations

from typing import Any

from eoslib.errors import KafkaException
from eoslib.scenarios.common import values
from eoslib.scenarios.registry import Outcome, Setup, scenario


@scenario("read-committed",
          "A transactional producer commits some transactions and aborts others; "
          "compare isolation.level=read_uncommitted with read_committed",
          config={"isolation.level": "read_uncommitted", "batch": 5})
def _read_committed(s: Setup) -> Outcome:
    sim = s.sim
    sim.create_topic("out", 1)
    p = sim.Producer({**s.producer, "transactional.id": "writer"})
    c = sim.Consumer({"group.id": "reader", "auto.offset.reset": "earliest",
                      "enable.auto.commit": False, **s.consumer})
    c.subscribe(["out"])
    p.init_transactions()
    k = max(1, int(s.course["batch"]))
    vals = values(s.messages)
    incarnation = 1
    for t in range(0, len(vals), k):
        try:
            p.begin_transaction()
            for v in vals[t:t + k]:
                p.produce("out", value=v)
                sim.sleep(2)
            c.consume(100, timeout=0.005)  # the reader polls while the transaction is open
            if (t // k) % 3 == 2:
                p.abort_transaction()
            else:
                p.commit_transaction()
        except KafkaException as e:  # what a real writer must do
            if e.error.txn_requires_abort():
                try:
                    p.abort_transaction()
                    continue
                except KafkaException:
                    pass  # fenced while aborting: fatal
            p.close()  # fatal (fenced): a new producer with the same transactional.id
            incarnation += 1
            p = sim.Producer({**s.producer, "transactional.id": "writer",
                              "client.id": f"writer#{incarnation}"})
            p.init_transactions()
        c.consume(100, timeout=0.01)
    for _ in range(5):
        c.consume(100, timeout=0.1)
    return Outcome(["out"])


@scenario("transaction-timeout",
          "A producer stalls inside a transaction longer than transaction.timeout.ms: the "
          "coordinator aborts it (TV1: the producer is fenced; TV2: its own abort is taken "
          "as a retry of that abort and it goes on); read_committed readers wait",
          config={"transaction.timeout.ms": 10000, "isolation.level": "read_committed"},
          messages=20)
def _txn_timeout(s: Setup) -> Outcome:
    sim = s.sim
    sim.create_topic("out", 1)
    p = sim.Producer({**s.producer, "transactional.id": "slow-writer"})
    c = sim.Consumer({"group.id": "reader", "auto.offset.reset": "earliest",
                      "enable.auto.commit": False, **s.consumer})
    c.subscribe(["out"])
    p.init_transactions()
    vals = values(s.messages)
    half = len(vals) // 2
    p.begin_transaction()
    for v in vals[:half]:
        p.produce("out", value=v)
    p.flush()
    # the coordinator checks every cleanup interval (10 s): stall past timeout + interval
    stall = p.config["transaction.timeout.ms"] + sim.cluster.config[
        "transaction.abort.timed.out.transaction.cleanup.interval.ms"] + 1000
    sim.kernel.emit(p.lane, "crash", f"producer stalls {stall:.0f} ms", flag="crash")
    deadline = sim.now + stall
    # the other writer speaks the run's client (it used to be librdkafka always)
    other = sim.Producer({"client": p.client, "client.id": "other-writer", "linger.ms": 0})
    i = 0
    while sim.now < deadline:  # other writers' records queue up behind the open txn
        other.produce("out", value=f"o{i}")
        i += 1
        c.consume(100, timeout=0)
        sim.sleep(500)
    other.flush()
    try:
        for v in vals[half:]:
            p.produce("out", value=v)
        p.commit_transaction()
    except KafkaException as e:
        if e.error.txn_requires_abort():
            try:
                # TV1: PRODUCER_FENCED; TV2 (Kafka 4.1 endTransaction, retryOnEpochBump):
                # OK with the fence's epoch, a retry of the coordinator's abort
                p.abort_transaction()
            except KafkaException:
                pass
    p.close()
    p2 = sim.Producer({**s.producer, "transactional.id": "slow-writer",
                       "client.id": "writer-restarted"})
    p2.init_transactions()
    p2.begin_transaction()
    for v in vals:
        p2.produce("out", value=v)
    p2.commit_transaction()
    for _ in range(3):
        c.consume(100, timeout=0.5)
    return Outcome(["out"])


@scenario("coordinator-failover",
          "The transaction coordinator dies right after writing PrepareCommit: its "
          "successor reads __transaction_state and completes the commit",
          config={"isolation.level": "read_committed"}, messages=20)
def _coordinator_failover(s: Setup) -> Outcome:
    sim = s.sim
    sim.create_topic("out", 2)
    p = sim.Producer({**s.producer, "transactional.id": "writer"})
    p.init_transactions()
    p.begin_transaction()
    for i, v in enumerate(values(s.messages)):
        p.produce("out", value=v, partition=i % 2)
    p.flush()
    tc = sim.cluster.txn_coordinator

    def crash_after_prepare(meta: Any, commit: bool) -> None:
        # PrepareCommit is in __transaction_state; the coordinator dies before any marker
        sim.crash_txn_coordinator(downtime_ms=500)

    tc._write_markers = crash_after_prepare  # type: ignore[method-assign]
    p.commit_transaction()
    sim.settle(2000)
    return Outcome(["out"])


@scenario("delayed-end-txn",
          "A copy of transaction n's EndTxn(commit) is delayed in the network and arrives "
          "during transaction n+1, which the app then aborts. transaction.version=1 lets "
          "it commit n+1 (KAFKA-17754); version 2 (KIP-890) bumps the epoch and rejects it",
          config={"transaction.version": "1", "isolation.level": "read_committed"},
          messages=10)
def _delayed_end_txn(s: Setup) -> Outcome:
    sim = s.sim
    sim.create_topic("out", 1)
    p = sim.Producer({**s.producer, "transactional.id": "writer", "linger.ms": 0})
    p.init_transactions()
    vals = values(s.messages)
    half = len(vals) // 2
    p.begin_transaction()
    for v in vals[:half]:
        p.produce("out", value=v)
    pid, epoch = p.pid, p.epoch
    p.commit_transaction()
    stale: dict[str, Any] = {}

    def delayed_copy() -> None:  # the network delivers an old duplicate of EndTxn(commit)
        sim.kernel.emit("txn-coordinator", "lost", f"delayed EndTxn(commit) pid={pid} "
                        f"epoch={epoch} arrives", flag="error")
        sim.cluster.txn_coordinator.handle_end_txn("writer", pid, epoch, True, stale.update)

    sim.kernel.schedule(50, delayed_copy)
    p.begin_transaction()
    for v in vals[half:]:
        p.produce("out", value=f"{v}-draft")
    p.flush()
    sim.sleep(100)  # the stale EndTxn lands meanwhile
    try:
        p.abort_transaction()  # the app changes its mind: this transaction must vanish
    except KafkaException:
        pass
    committed = [v for _, _, v in sim.read_all("out", "read_committed", process="checker")]
    torn = sum(1 for v in committed if str(v).endswith("-draft"))
    return Outcome(["out"], extra={"torn_txn_records": torn,
                                   "stale_end_txn_error": stale.get("error")})
