"""Behaviours fixed to match Kafka's source (issue: fidelity at breadth), one exact
situation each, with the Kafka class the rule lives in."""

from __future__ import annotations

import pytest

from eoslib import KafkaException, Simulation, TopicPartition
from eoslib.partition import Partition


def _filled(n: int = 5) -> Simulation:
    sim = Simulation(seed=1)
    sim.create_topic("t", partitions=1)
    p = sim.Producer({"enable.idempotence": True})
    for i in range(n):
        p.produce("t", value=f"v{i}")
    p.flush()
    return sim


@pytest.mark.parametrize("reset, got, position", [("earliest", ["v0"], 1), ("latest", [], 5)])
def test_offset_out_of_range_applies_auto_offset_reset(reset: str, got: list[str],
                                                        position: int) -> None:
    """Java ``FetchCollector.handleInitializeErrors`` -> ``requestOffsetReset``; librdkafka
    ``rd_kafka_offset_reset``: a position past the log end is reset, not stuck."""
    sim = _filled()
    c = sim.Consumer({"group.id": "g", "auto.offset.reset": reset,
                      "enable.auto.commit": False})
    c.assign([TopicPartition("t", 0, 0)])
    c.seek(TopicPartition("t", 0, 100))  # beyond the log end (5)
    # the fetch answers OFFSET_OUT_OF_RANGE, the reset applies, the consumer reads on
    assert [m.value() for m in c.consume(1, timeout=1.0)] == got
    assert c.position([TopicPartition("t", 0)])[0].offset == position


def test_offset_out_of_range_with_reset_none_reaches_the_application() -> None:
    """Java: ``OffsetOutOfRangeException`` from ``poll()`` when auto.offset.reset=none."""
    sim = _filled()
    c = sim.Consumer({"group.id": "g", "auto.offset.reset": "none",
                      "enable.auto.commit": False})
    c.assign([TopicPartition("t", 0, 0)])
    c.seek(TopicPartition("t", 0, 100))
    with pytest.raises(KafkaException, match="OFFSET_OUT_OF_RANGE"):
        for _ in range(3):
            c.consume(1, timeout=1.0)


def test_an_idempotent_producer_gets_its_id_while_the_coordinator_is_down() -> None:
    """``TransactionCoordinator.handleInitProducerId`` with ``transactionalId == null``:
    any broker allocates the id; the transaction coordinator's state does not matter."""
    sim = Simulation(seed=1)
    sim.create_topic("t", partitions=1)
    sim.crash_txn_coordinator(downtime_ms=60_000)
    p = sim.Producer({"enable.idempotence": True})
    p.produce("t", value="x")
    p.flush(timeout=5.0)
    assert sim.now < 1_000, "the producer waited for the transaction coordinator"
    assert [v for _, _, v in sim.read_all("t")] == ["x"]


def test_init_producer_id_with_a_timeout_of_zero_is_invalid() -> None:
    """``TransactionCoordinator.isValidTransactionTimeoutMs``: 0 < timeout <= max."""
    sim = Simulation(seed=1)
    got: dict = {}
    sim.cluster.txn_coordinator.handle_init_producer_id("t-id", 0, got.update)
    assert got == {"error": "INVALID_TRANSACTION_TIMEOUT"}


def test_a_non_transactional_append_during_an_open_transaction_is_invalid() -> None:
    """``ProducerStateManagerTest.testNonTransactionalAppendWithOngoingTransaction``:
    ``InvalidTxnStateException``."""
    sim = Simulation(seed=1)
    part: Partition = sim.create_topic("t", partitions=1)[0]
    ok = part.append_data([(None, "a")], producer_id=7, epoch=0, base_seq=0,
                          transactional=True)
    assert ok.error is None
    bad = part.append_data([(None, "b")], producer_id=7, epoch=0, base_seq=1,
                           transactional=False)
    assert bad.error == "INVALID_TXN_STATE" and "still open" in bad.reason
    assert part.leo == 1


def test_an_auto_committing_consumer_commits_before_its_partitions_are_revoked() -> None:
    """Java ``ConsumerCoordinator.onJoinPrepare`` -> ``maybeAutoCommitOffsetsSync``: before
    a rebalance revokes its partitions, the consumer commits what it consumed, so the new
    owner does not re-read it."""
    sim = _filled(8)
    conf = {"group.id": "g", "enable.auto.commit": True, "auto.commit.interval.ms": 60_000,
            "auto.offset.reset": "earliest"}
    a = sim.Consumer(conf)
    a.subscribe(["t"])
    assert [m.value() for m in a.consume(3, timeout=1.0)] == ["v0", "v1", "v2"]
    b = sim.Consumer(conf)
    b.subscribe(["t"])  # joins: a rebalance; the one partition goes to one of them
    got = b.consume(8, timeout=5.0) + a.consume(8, timeout=5.0)
    assert [m.value() for m in got][:1] == ["v3"]  # nobody re-reads v0..v2
    probe = sim.Consumer({"group.id": "g", "enable.auto.commit": False})
    assert probe.committed([TopicPartition("t", 0)])[0].offset >= 3


def test_transaction_version_is_a_cluster_feature() -> None:
    """Kafka 4.x: ``transaction.version`` is finalized on the cluster (kafka-features.sh);
    a client uses TV2 only where the cluster has it. The course key sets the cluster's."""
    from eoslib.scenarios import run_scenario

    java = {"transactional.id": "x", "client": "java"}  # TV2 is the Java client's
    sim = Simulation(seed=1, cluster={"transaction.version": "1"})
    assert sim.Producer(java).transaction_version == 1
    assert Simulation(seed=1).Producer(java).transaction_version == 2
    # librdkafka speaks TV1 on any cluster (EndTxn v0-1 only, rd_kafka_EndTxnRequest)
    assert Simulation(seed=1).Producer({"transactional.id": "x"}).transaction_version == 1
    for tv, torn in (("1", 5), ("2", 0)):
        r = run_scenario("delayed-end-txn", seed=0, config={"transaction.version": tv,
                                                            "client": "java"})
        assert r.config["transaction.version"] == tv
        assert r.counts["torn_txn_records"] == torn


# The librdkafka deviation once documented here (a purged retry that may have landed: the
# simulator bumped the epoch at the abort) was checked on Kafka 4.1.1 with librdkafka 2.16:
# librdkafka reuses the sequence and the next record is lost. The simulator now does the
# same; see tests/test_rules_librdkafka_on_kafka.py (simulated and real-broker tests).


@pytest.mark.parametrize("isolation", ["read_uncommitted", "read_committed"])
def test_an_empty_fetch_is_parked_until_data_is_readable(isolation: str) -> None:
    """Kafka parks a fetch that finds nothing (``ReplicaManager.fetchMessages`` ->
    ``DelayedFetch``) and answers as soon as ``fetch.min.bytes`` (1) is readable below the
    HW (read_uncommitted) or the LSO (read_committed) (``DelayedFetch.tryComplete``), or at
    ``fetch.max.wait.ms``. A record committed 100 ms into the wait reaches the consumer then,
    not 500 ms later."""
    sim = Simulation(seed=1)
    sim.create_topic("t", partitions=1)
    c = sim.Consumer({"group.id": "g", "isolation.level": isolation,
                      "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.assign([TopicPartition("t", 0, 0)])
    assert c.consume(1, timeout=0.05) == []  # a fetch is now parked at the broker
    p = sim.Producer({"transactional.id": "tx"})
    p.init_transactions()
    p.begin_transaction()
    p.produce("t", value="v")
    p.commit_transaction()
    t_commit = sim.now
    got = c.consume(1, timeout=5.0)
    assert [m.value() for m in got] == ["v"]
    assert sim.now - t_commit < 20  # answered at the commit, not at fetch.max.wait.ms


@pytest.mark.parametrize("client, answer, name, how", [
    ("librdkafka", "INVALID_PRODUCER_EPOCH", "_FENCED", "fatal"),
    ("java", "PRODUCER_FENCED", "PRODUCER_FENCED", "ProducerFencedException")])
def test_a_fenced_producer_names_the_answer_it_got_and_the_error_it_raises(
        client: str, answer: str, name: str, how: str) -> None:
    """``zombie-fencing``: the zombie's AddOffsetsToTxn is refused. librdkafka sends it as
    v0, and the broker answers a request older than v2 INVALID_PRODUCER_EPOCH, not
    PRODUCER_FENCED ("For older clients, they could not understand the new PRODUCER_FENCED
    error code", ``KafkaApis.handleAddOffsetsToTxnRequest``; ``rd_kafka_AddOffsetsToTxn``
    sends v0..0); the client raises ``_FENCED``, fatal (``rd_kafka_txn_normalize_err``,
    src/rdkafka_txnmgr.c). Java sends the latest version and gets PRODUCER_FENCED
    (``ProducerFencedException``). The trace's answer and the fence label say exactly
    that, and the history records the client's error."""
    from eoslib.scenarios import run_scenario

    r = run_scenario("zombie-fencing", seed=1, config={"transactions": True, "client": client})
    lane = "app-a-producer"
    fence = next(ev for ev in r.trace if ev["lane"] == lane and ev["kind"] == "fence")
    reply = [ev for ev in r.trace if ev["lane"] == lane and ev["kind"] == "response"
             and ev["i"] < fence["i"]][-1]
    assert reply["label"] == f"AddOffsetsToTxn response: {answer}"
    assert fence["label"] == f"fenced: {name} ({how}): AddOffsetsToTxn answered {answer}"
    (op,) = [op for op in r.history.ops if op.f == "fenced"]
    assert (op.value["error"], op.value["request"], op.value["reply"]) == (
        name, "AddOffsetsToTxn", answer)
