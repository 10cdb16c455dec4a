"""Oracle: the partition log and producer state against Kafka's ProducerStateManagerTest.

Each test names the Kafka test it ports (storage/src/test/java/org/apache/kafka/storage/
internals/log/ProducerStateManagerTest.java) and rebuilds its situation on
``eoslib.partition.Partition``; the behaviour is ProducerStateManager.java /
ProducerAppendInfo.java.
"""

from __future__ import annotations

from eoslib import Simulation, TopicPartition
from eoslib.partition import Partition


def part() -> tuple[Simulation, Partition]:
    sim = Simulation(seed=0)
    sim.create_topic("t", 1)
    return sim, sim.cluster.partition("t", 0)


def txn(p: Partition, pid: int, value: str, epoch: int = 5, seq: int = 0) -> int:
    res = p.append_data([(None, value)], producer_id=pid, epoch=epoch, base_seq=seq,
                        transactional=True)
    assert res.error is None, res
    return res.base_offset


def test_coordinator_fencing() -> None:
    """testCoordinatorFencing: a marker with the current or a newer coordinator epoch is
    written; an older one is TransactionCoordinatorFencedException."""
    _, p = part()
    txn(p, 1, "a")
    assert p.append_marker(1, 5, "COMMIT", coordinator_epoch=1).error is None
    assert p.producers[1].coordinator_epoch == 1
    assert p.append_marker(1, 5, "COMMIT", coordinator_epoch=1).error is None
    assert p.append_marker(1, 5, "COMMIT", coordinator_epoch=2).error is None
    leo = p.leo
    res = p.append_marker(1, 5, "COMMIT", coordinator_epoch=1)
    assert res.error == "TRANSACTION_COORDINATOR_FENCED"
    assert p.leo == leo  # nothing written


def test_old_epoch_for_control_record() -> None:
    """testOldEpochForControlRecord: a marker with an older producer epoch is
    InvalidProducerEpochException."""
    _, p = part()
    txn(p, 1, "a", epoch=5)
    assert p.append_marker(1, 3, "COMMIT").error == "INVALID_PRODUCER_EPOCH"


def test_control_record_bumps_producer_epoch() -> None:
    """testControlRecordBumpsProducerEpoch: an ABORT at epoch 1 bumps the producer's epoch,
    clears its sequences; a write at the new epoch from sequence 0 is accepted."""
    _, p = part()
    assert p.append_data([(None, "a")], producer_id=1, epoch=0, base_seq=0).error is None
    assert p.append_marker(1, 1, "ABORT").error is None
    e = p.producers[1]
    assert e.epoch == 1 and e.current_txn_first_offset is None and e.last_seq == -1
    assert p.append_data([(None, "b")], producer_id=1, epoch=1, base_seq=0).error is None


def test_producer_state_after_fencing_abort_marker() -> None:
    """testProducerStateAfterFencingAbortMarker: an ABORT at epoch + 1 ends the open
    transaction (no current transaction first offset)."""
    _, p = part()
    txn(p, 1, "a", epoch=5)
    assert p.append_marker(1, 6, "ABORT").error is None
    assert p.producers[1].current_txn_first_offset is None
    assert p.lso == p.hw


def test_non_transactional_append_with_ongoing_transaction() -> None:
    """testNonTransactionalAppendWithOngoingTransaction: InvalidTxnStateException."""
    _, p = part()
    txn(p, 1, "a", epoch=5)
    res = p.append_data([(None, "b")], producer_id=1, epoch=5, base_seq=1)
    assert res.error == "INVALID_TXN_STATE"


def test_last_stable_offset_completed_txn() -> None:
    """testLastStableOffsetCompletedTxn: the aborted index's last stable offset of a completed
    transaction is the first offset of the next incomplete transaction of ANOTHER producer,
    else the marker offset + 1 (ProducerStateManager.lastStableOffset)."""
    _, p = part()
    start1 = txn(p, 1, "a")
    start2 = txn(p, 2, "b")
    start3 = txn(p, 3, "c")
    assert (start1, start2, start3) == (0, 1, 2)
    p.append_marker(1, 5, "ABORT")
    assert p.aborted[-1].last_stable_offset == start2
    assert p.lso == start2
    p.append_marker(3, 5, "ABORT")
    assert p.aborted[-1].last_stable_offset == start2
    marker2 = p.append_marker(2, 5, "ABORT").base_offset
    assert p.aborted[-1].last_stable_offset == marker2 + 1
    assert p.lso == p.hw == marker2 + 1


def test_skip_empty_transactions() -> None:
    """testSkipEmptyTransactions: markers of a producer with no open transaction complete
    nothing (no aborted-index entry); the first unstable offset is the open one's."""
    _, p = part()
    first = txn(p, 1, "a", seq=0)
    p.append_marker(1, 5, "COMMIT")
    p.append_marker(1, 5, "COMMIT")  # empty
    p.append_marker(1, 5, "ABORT")  # empty: no index entry
    assert p.aborted == []
    txn(p, 1, "b", seq=1)
    p.append_marker(1, 5, "ABORT")
    assert len(p.aborted) == 1 and p.aborted[0].first_offset > first
    open_at = txn(p, 1, "c", seq=2)
    assert p.lso == open_at


def test_first_unstable_offset() -> None:
    """testFirstUnstableOffset: the LSO is the first offset of the earliest open transaction
    and moves to the next one when it completes."""
    _, p = part()
    a = txn(p, 1, "a")
    b = txn(p, 2, "b")
    assert p.lso == a
    p.append_marker(1, 5, "COMMIT")
    assert p.lso == b
    p.append_marker(2, 5, "COMMIT")
    assert p.lso == p.hw


def test_pending_offsets_materialise_when_the_marker_reaches_consumer_offsets() -> None:
    """Pending transactional offsets become committed when the COMMIT marker is written to
    the group's ``__consumer_offsets`` partition (GroupMetadata.completePendingTxnOffsetCommit
    via GroupCoordinator.scheduleHandleTxnCompletion on the marker), not when EndTxn is
    answered."""
    sim, _ = part()
    sim.create_topic("in", 1)
    c = sim.Consumer({"group.id": "g", "enable.auto.commit": False})
    prod = sim.Producer({"transactional.id": "x"})
    prod.init_transactions()
    prod.begin_transaction()
    prod.produce("t", value="a", partition=0)
    prod.send_offsets_to_transaction([TopicPartition("in", 0, 7)], c.consumer_group_metadata())
    gc = sim.cluster.group_coordinator
    tc = sim.cluster.txn_coordinator
    seen: list[tuple[str, object]] = []
    orig = gc.complete_txn_offsets

    def spy(pid: int, commit: bool, index: int) -> None:
        # called when the marker has been written: the marker is in the log already
        offsets = sim.cluster.partition("__consumer_offsets", index)
        seen.append((tc.txns["x"].state, offsets.log[-1].control))
        orig(pid, commit, index)

    gc.complete_txn_offsets = spy  # type: ignore[method-assign]
    prod.commit_transaction()
    sim.sleep(100)
    assert seen == [("PrepareCommit", "COMMIT")]
    probe = sim.Consumer({"group.id": "g", "enable.auto.commit": False})
    assert probe.committed([TopicPartition("in", 0)])[0].offset == 7


# ---- ported from UnifiedLogTest (core/src/test/scala/unit/kafka/log/UnifiedLogTest.scala)

def test_transaction_index_updated() -> None:
    """testTransactionIndexUpdated: four producers' transactions mixed with plain data; the
    aborted index holds exactly AbortedTxn(pid1, 0, 29, 8) and AbortedTxn(pid2, 8, 74, 36)."""
    _, p = part()
    seq = {1: 0, 2: 0, 3: 0, 4: 0}

    def tx(pid: int, n: int) -> None:
        res = p.append_data([(None, f"{pid}")] * n, producer_id=pid, epoch=0,
                            base_seq=seq[pid], transactional=True)
        assert res.error is None, res
        seq[pid] += n

    def plain(n: int) -> None:
        p.append_data([(None, "x")] * n)

    tx(1, 5)
    plain(3)
    tx(2, 2)
    tx(1, 4)
    tx(3, 3)
    plain(2)
    tx(1, 10)
    assert p.append_marker(1, 0, "ABORT").base_offset == 29
    tx(2, 6)
    tx(4, 3)
    plain(10)
    tx(3, 9)
    p.append_marker(3, 0, "COMMIT")
    tx(4, 8)
    tx(2, 7)
    assert p.append_marker(2, 0, "ABORT").base_offset == 74
    plain(10)
    tx(4, 4)
    p.append_marker(4, 0, "COMMIT")
    assert [(a.producer_id, a.first_offset, a.last_offset, a.last_stable_offset)
            for a in p.aborted] == [(1, 0, 29, 8), (2, 8, 74, 36)]
    assert p.lso == p.leo == 90


def test_zombie_coordinator_fenced_empty_transaction() -> None:
    """testZombieCoordinatorFencedEmptyTransaction: after markers from coordinator epoch 2,
    an (empty) ABORT from coordinator epoch 1 is TransactionCoordinatorFencedException."""
    _, p = part()
    txn(p, 1, "a", epoch=0)
    p.append_marker(1, 0, "COMMIT")
    assert p.append_marker(1, 0, "ABORT", coordinator_epoch=2).error is None
    assert p.append_marker(1, 0, "ABORT", coordinator_epoch=2).error is None
    assert p.append_marker(1, 0, "ABORT", coordinator_epoch=1).error == \
        "TRANSACTION_COORDINATOR_FENCED"


def test_end_txn_with_fenced_producer_epoch() -> None:
    """testEndTxnWithFencedProducerEpoch: a marker at epoch 4 after one at 5 is
    InvalidProducerEpochException."""
    _, p = part()
    assert p.append_marker(1, 5, "ABORT", coordinator_epoch=1).error is None
    assert p.append_marker(1, 4, "ABORT", coordinator_epoch=1).error == "INVALID_PRODUCER_EPOCH"


def test_last_stable_offset_with_mixed_producer_data() -> None:
    """testLastStableOffsetWithMixedProducerData: plain data between two producers'
    transactions does not move the first unstable offset; the abort of the first moves it to
    the second's first offset; the commit of the second leaves none."""
    _, p = part()
    first = p.append_data([(None, v) for v in "abc"], producer_id=137, epoch=5, base_seq=0,
                          transactional=True).base_offset
    assert p.lso == first
    p.append_data([(None, v) for v in "ghi"])
    second = p.append_data([(None, v) for v in "def"], producer_id=983, epoch=5, base_seq=0,
                           transactional=True).base_offset
    assert p.lso == first
    p.append_marker(137, 5, "ABORT")
    assert p.lso == second
    p.append_marker(983, 5, "COMMIT")
    assert p.lso == p.hw == p.leo
