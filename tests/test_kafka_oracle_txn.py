"""Oracle: the transaction coordinator against Kafka 4.1's own code and unit tests.

Each case builds the coordinator state Kafka's test builds and checks the answer
``TransactionCoordinator.endTransaction`` (core/src/main/scala/kafka/coordinator/
transaction/TransactionCoordinator.scala, the TV2 branch: ``retryOnEpochBump``,
``retryOnOverflow``, ``isValidEpoch``) or ``TransactionMetadata`` gives.
"""

from __future__ import annotations

from typing import Any

import pytest

from eoslib import Simulation
from eoslib.txn_coordinator import (
    EPOCH_EXHAUSTED,
    IllegalTransition,
    TransactionCoordinator,
    TxnMetadata,
)

TXN = "txn-oracle"


def coordinator() -> tuple[Simulation, TransactionCoordinator]:
    sim = Simulation(seed=0)
    sim.create_topic("t", 1)
    return sim, sim.cluster.txn_coordinator


def call(fn: Any, *args: Any) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    fn(*args, out.append)
    assert len(out) == 1
    return out[0]


def at_state(tc: TransactionCoordinator, state: str, epoch: int = 5, version: int = 2,
             partitions: bool = True) -> TxnMetadata:
    """A transactional id in ``state`` at ``epoch`` (as Kafka's tests build TransactionMetadata)."""
    tc.next_pid = max(tc.next_pid, 2000)  # ids the coordinator hands out differ from 1000
    meta = TxnMetadata(TXN, 1000, epoch=epoch, state=state, version=version,
                       partitions=[("t", 0)] if partitions else [])
    tc.txns[TXN] = meta
    return meta


def end(tc: TransactionCoordinator, epoch: int, commit: bool, pid: int = 1000) -> dict[str, Any]:
    return call(tc.handle_end_txn, TXN, pid, epoch, commit)


def test_tv2_end_txn_at_the_current_epoch_in_complete_commit_is_not_a_retry() -> None:
    """TV2: epoch == stored epoch in CompleteCommit is the NEXT transaction's EndTxn: a commit
    with nothing added is INVALID_TXN_STATE (``case CompleteCommit`` -> ``isRetry`` false ->
    logInvalidStateTransitionAndReturnError); an abort is a new, empty abort."""
    _, tc = coordinator()
    at_state(tc, "CompleteCommit", epoch=5)
    assert end(tc, 5, commit=True)["error"] == "INVALID_TXN_STATE"
    resp = end(tc, 5, commit=False)
    assert resp["error"] is None and resp["epoch"] == 6
    assert tc.txns[TXN].state == "CompleteAbort"


def test_tv2_retry_with_the_pre_bump_epoch_is_answered_as_a_retry() -> None:
    """TV2: stored epoch == request epoch + 1 is a retry (``retryOnEpochBump``): the same
    result gets OK with the bumped epoch; the other result gets INVALID_TXN_STATE, not
    PRODUCER_FENCED."""
    _, tc = coordinator()
    at_state(tc, "CompleteCommit", epoch=6)
    resp = end(tc, 5, commit=True)
    assert resp["error"] is None and resp["epoch"] == 6
    assert end(tc, 5, commit=False)["error"] == "INVALID_TXN_STATE"
    at_state(tc, "CompleteAbort", epoch=6)
    assert end(tc, 5, commit=True)["error"] == "INVALID_TXN_STATE"
    assert end(tc, 5, commit=False)["error"] is None


@pytest.mark.parametrize(("state", "commit", "error"), [
    ("PrepareCommit", True, "CONCURRENT_TRANSACTIONS"),
    ("PrepareCommit", False, "INVALID_TXN_STATE"),
    ("PrepareAbort", False, "CONCURRENT_TRANSACTIONS"),
    ("PrepareAbort", True, "INVALID_TXN_STATE"),
])
def test_tv2_retry_while_the_markers_are_written(state: str, commit: bool, error: str) -> None:
    """TV2 ``case PrepareCommit | PrepareAbort => retryOnEpochBump``: a retry of the same
    result waits (CONCURRENT_TRANSACTIONS), the other result is INVALID_TXN_STATE."""
    _, tc = coordinator()
    at_state(tc, state, epoch=6)
    assert end(tc, 5, commit)["error"] == error


@pytest.mark.parametrize("state", ["PrepareCommit", "PrepareAbort"])
def test_tv2_current_epoch_in_a_prepare_state_is_fenced(state: str) -> None:
    """TV2: in a Prepare state only a retry (epoch + 1 stored) is valid; the stored epoch
    itself is PRODUCER_FENCED (``isValidEpoch`` false)."""
    _, tc = coordinator()
    at_state(tc, state, epoch=6)
    assert end(tc, 6, commit=True)["error"] == "PRODUCER_FENCED"
    assert end(tc, 4, commit=True)["error"] == "PRODUCER_FENCED"


def test_tv2_empty_abort_from_empty_bumps_and_commit_is_invalid() -> None:
    """TV2 ``case Empty``: ABORT -> PrepareAbort with no partitions (TransactionState
    PREPARE_ABORT accepts Empty under TV2); COMMIT -> INVALID_TXN_STATE."""
    _, tc = coordinator()
    at_state(tc, "Empty", epoch=3, partitions=False)
    assert end(tc, 3, commit=True)["error"] == "INVALID_TXN_STATE"
    resp = end(tc, 3, commit=False)
    assert resp["error"] is None and resp["epoch"] == 4


def test_tv2_epoch_exhaustion_rotates_the_producer_id() -> None:
    """TV2 at epoch 32766 (``isProducerEpochExhausted``): EndTxn allocates a new producer id;
    the markers carry (old id, 32767), Complete* moves to (new id, 0), and a retry at
    (old id, 32766) is recognised (``retryOnOverflow``) and answered with the new id."""
    sim, tc = coordinator()
    meta = at_state(tc, "Ongoing", epoch=EPOCH_EXHAUSTED)
    resp = end(tc, EPOCH_EXHAUSTED, commit=True)
    assert resp["error"] is None
    sim.sleep(50)
    markers = [b for b in sim.cluster.partition("t", 0).log if b.control]
    assert [(b.producer_id, b.epoch) for b in markers] == [(1000, 32767)]
    assert meta.state == "CompleteCommit" and meta.producer_id != 1000 and meta.epoch == 0
    assert meta.previous_producer_id == 1000
    retry = end(tc, EPOCH_EXHAUSTED, commit=True, pid=1000)
    assert retry == {"error": None, "pid": meta.producer_id, "epoch": 0}
    assert end(tc, 7, commit=True, pid=1000)["error"] == "INVALID_PRODUCER_ID_MAPPING"


def test_tv1_end_txn_keeps_strict_epoch_equality() -> None:
    """TV1 (endTransactionWithTV1): the epoch must equal the stored one; Complete{same}
    at that epoch is an idempotent retry (OK)."""
    _, tc = coordinator()
    at_state(tc, "CompleteCommit", epoch=5, version=1)
    assert end(tc, 5, commit=True)["error"] is None
    assert end(tc, 4, commit=True)["error"] == "PRODUCER_FENCED"
    assert end(tc, 5, commit=False)["error"] == "INVALID_TXN_STATE"


def test_prepare_epoch_fence_is_not_written_to_the_transaction_log() -> None:
    """``TransactionMetadata.prepareFenceProducerEpoch`` only sets a pending in-memory state;
    the record written is the PrepareAbort with the bumped epoch."""
    sim, tc = coordinator()
    p = sim.Producer({"transactional.id": TXN, "transaction.timeout.ms": 1000})
    p.init_transactions()
    p.begin_transaction()
    p.produce("t", value="a", partition=0)
    p.flush()
    sim.sleep(12_000)  # past the timeout and one periodic check
    logged = [r["state"] for r in tc.log]
    assert "PrepareEpochFence" not in logged
    assert logged[-2:] == ["PrepareAbort", "CompleteAbort"]
    assert [s for _, _, _, s in tc.state_history].count("PrepareEpochFence") == 1
    # a successor loading the log never sees the in-memory state
    assert tc.successor().txns[TXN].state == "CompleteAbort"


def test_tv2_producer_adopts_the_rotated_producer_id() -> None:
    """After the EndTxn that exhausts the epoch, the producer continues as (new id, epoch 0)
    (TransactionManager: EndTxn response's producer id and epoch, KIP-890)."""
    sim, tc = coordinator()
    p = sim.Producer({"transactional.id": TXN, "client": "java"})  # TV2: the Java client
    p.init_transactions()
    tc.txns[TXN].epoch = p.epoch = EPOCH_EXHAUSTED
    old = p.pid
    p.begin_transaction()
    p.produce("t", value="a", partition=0)
    p.commit_transaction()
    sim.sleep(50)
    assert (p.pid, p.epoch) == (tc.txns[TXN].producer_id, 0) and p.pid != old
    p.begin_transaction()
    p.produce("t", value="b", partition=0)
    p.commit_transaction()
    sim.sleep(50)
    assert [v for _, _, v in sim.read_all("t")] == ["a", "b"]


# ---- ported from TransactionCoordinatorTest (core/src/test/scala/unit/kafka/coordinator/
# transaction/TransactionCoordinatorTest.scala); requestEpoch(TV2) = stored epoch - 1, as there

def request_epoch(stored: int, version: int) -> int:
    return stored - 1 if version == 2 else stored


@pytest.mark.parametrize("version", [1, 2])
def test_should_reply_with_producer_fenced_on_end_txn_when_epoch_is_not_same(version: int) -> None:
    """shouldReplyWithProducerFencedOnEndTxnWhenEpochIsNotSameAsTransaction."""
    _, tc = coordinator()
    at_state(tc, "Ongoing", epoch=5, version=version)
    assert end(tc, 0, commit=True)["error"] == "PRODUCER_FENCED"


@pytest.mark.parametrize("version", [1, 2])
def test_should_reply_with_invalid_pid_mapping_when_pid_does_not_match(version: int) -> None:
    """shouldReplyWithInvalidPidMappingOnEndTxnWhenPidDosentMatchMapped."""
    _, tc = coordinator()
    at_state(tc, "Ongoing", epoch=5, version=version)
    assert end(tc, 5, commit=True, pid=999)["error"] == "INVALID_PRODUCER_ID_MAPPING"


@pytest.mark.parametrize("version", [1, 2])
def test_should_return_ok_on_end_txn_when_complete_commit_and_commit(version: int) -> None:
    """shouldReturnOkOnEndTxnWhenStatusIsCompleteCommitAndResultIsCommit (and the abort twin
    shouldReturnOkOnEndTxnWhenStatusIsCompleteAbortAndResultIsAbort)."""
    _, tc = coordinator()
    at_state(tc, "CompleteCommit", epoch=5, version=version)
    assert end(tc, request_epoch(5, version), commit=True)["error"] is None
    at_state(tc, "CompleteAbort", epoch=5, version=version)
    assert end(tc, request_epoch(5, version), commit=False)["error"] is None


@pytest.mark.parametrize("version", [1, 2])
def test_should_return_invalid_txn_state_when_complete_and_result_differs(version: int) -> None:
    """shouldReturnInvalidTxnRequestOnEndTxnRequestWhenStatusIsCompleteAbortAndResultIsNotAbort
    and ...CompleteCommitAndResultIsNotCommit."""
    _, tc = coordinator()
    at_state(tc, "CompleteAbort", epoch=5, version=version)
    assert end(tc, request_epoch(5, version), commit=True)["error"] == "INVALID_TXN_STATE"
    at_state(tc, "CompleteCommit", epoch=5, version=version)
    assert end(tc, request_epoch(5, version), commit=False)["error"] == "INVALID_TXN_STATE"


@pytest.mark.parametrize("version", [1, 2])
def test_should_return_concurrent_transactions_when_prepare_commit(version: int) -> None:
    """shouldReturnConcurrentTransactionsOnEndTxnRequestWhenStatusIsPrepareCommit and
    shouldReturnInvalidTxnRequestOnEndTxnRequestWhenStatusIsPrepareAbort."""
    _, tc = coordinator()
    at_state(tc, "PrepareCommit", epoch=5, version=version)
    assert end(tc, request_epoch(5, version), commit=True)["error"] == "CONCURRENT_TRANSACTIONS"
    at_state(tc, "PrepareAbort", epoch=5, version=version)
    assert end(tc, request_epoch(5, version), commit=True)["error"] == "INVALID_TXN_STATE"


def test_should_return_ok_on_end_txn_v2_if_retry_epoch_overflow() -> None:
    """shouldReturnOkOnEndTxnV2IfEndTxnV2RetryEpochOverflow: in PrepareCommit at 32767 with a
    rotation pending a retry at 32766 waits; once CompleteCommit at (new id, 0) it is OK with
    the new id and epoch 0."""
    sim, tc = coordinator()
    meta = at_state(tc, "Ongoing", epoch=EPOCH_EXHAUSTED)
    end(tc, EPOCH_EXHAUSTED, commit=True)
    assert meta.state == "PrepareCommit" and meta.epoch == 32767
    assert end(tc, EPOCH_EXHAUSTED, commit=True)["error"] == "CONCURRENT_TRANSACTIONS"
    sim.sleep(50)
    resp = end(tc, EPOCH_EXHAUSTED, commit=True, pid=1000)
    assert resp["error"] is None and resp["pid"] not in (1000, -1) and resp["epoch"] == 0


def test_should_accept_init_pid_and_return_next_pid_when_transactional_id_is_null() -> None:
    """shouldAcceptInitPidAndReturnNextPidWhenTransactionalIdIsNull."""
    _, tc = coordinator()
    a = call(tc.handle_init_producer_id, None, 60000)
    b = call(tc.handle_init_producer_id, None, 60000)
    assert a["error"] is None and b["pid"] == a["pid"] + 1 and a["epoch"] == b["epoch"] == 0


def test_should_init_pid_with_epoch_zero_for_new_transactional_id() -> None:
    """shouldInitPidWithEpochZeroForNewTransactionalId."""
    _, tc = coordinator()
    resp = call(tc.handle_init_producer_id, TXN, 60000)
    assert resp["error"] is None and resp["epoch"] == 0
    assert tc.txns[TXN].state == "Empty"


def test_should_generate_new_producer_id_if_epochs_exhausted() -> None:
    """shouldGenerateNewProducerIdIfEpochsExhausted: InitProducerId at epoch 32766 rotates."""
    _, tc = coordinator()
    at_state(tc, "Empty", epoch=EPOCH_EXHAUSTED, partitions=False)
    resp = call(tc.handle_init_producer_id, TXN, 60000)
    assert resp["error"] is None and resp["pid"] != 1000 and resp["epoch"] == 0


@pytest.mark.parametrize("state", ["PrepareCommit", "PrepareAbort"])
def test_should_wait_on_handle_init_pid_while_prepare(state: str) -> None:
    """shouldWaitForCommitToCompleteOnHandleInitPidAndExistingTransactionInPrepareCommitState
    (and ...PrepareAbortState): CONCURRENT_TRANSACTIONS, nothing changes."""
    _, tc = coordinator()
    meta = at_state(tc, state, epoch=5)
    assert call(tc.handle_init_producer_id, TXN, 60000)["error"] == "CONCURRENT_TRANSACTIONS"
    assert (meta.state, meta.epoch) == (state, 5)


def test_should_abort_transaction_on_handle_init_pid_when_ongoing() -> None:
    """shouldAbortTransactionOnHandleInitPidWhenExistingTransactionInOngoingState: the
    ongoing transaction is fenced (epoch + 1) and aborted; the caller gets
    CONCURRENT_TRANSACTIONS and retries."""
    sim, tc = coordinator()
    meta = at_state(tc, "Ongoing", epoch=5)
    assert call(tc.handle_init_producer_id, TXN, 60000)["error"] == "CONCURRENT_TRANSACTIONS"
    assert meta.state == "PrepareAbort" and meta.epoch == 6
    sim.sleep(50)
    resp = call(tc.handle_init_producer_id, TXN, 60000)
    assert resp["error"] is None and resp["epoch"] == 7


# ---- ported from TransactionMetadataTest (core/src/test/scala/unit/kafka/coordinator/
# transaction/TransactionMetadataTest.scala) and the coordinator's use of it

def test_fence_producer_after_epochs_exhausted() -> None:
    """testFenceProducerAfterEpochsExhausted (+ TransactionCoordinatorTest
    .shouldUseLastEpochToFenceWhenEpochsAreExhausted): an Ongoing TV1 transaction at 32766 is
    fenced at 32767 (Short.MaxValue) and aborted with it; the retried InitProducerId gets a new
    producer id with epoch 0."""
    sim, tc = coordinator()
    meta = at_state(tc, "Ongoing", epoch=EPOCH_EXHAUSTED, version=1)
    assert call(tc.handle_init_producer_id, TXN, 60000)["error"] == "CONCURRENT_TRANSACTIONS"
    assert (meta.state, meta.epoch) == ("PrepareAbort", 32767)
    sim.sleep(50)
    markers = [b for b in sim.cluster.partition("t", 0).log if b.control]
    assert [(b.producer_id, b.epoch, b.control) for b in markers] == [(1000, 32767, "ABORT")]
    resp = call(tc.handle_init_producer_id, TXN, 60000)
    assert resp["error"] is None and resp["pid"] != 1000 and resp["epoch"] == 0


def test_fence_producer_not_allowed_if_it_would_overflow() -> None:
    """testFenceProducerNotAllowedIfItWouldOverflow: fencing at Short.MaxValue is an
    IllegalStateException (a coordinator bug, never a client error)."""
    _, tc = coordinator()
    meta = at_state(tc, "Ongoing", epoch=32767, version=1)
    with pytest.raises(IllegalTransition):
        tc._fence_and_abort(meta, "test")


def test_epoch_bump_on_end_txn_overflow() -> None:
    """testEpochBumpOnEndTxnOverflow: TV2 EndTxn at 32766 prepares (old id, 32767) with the
    next producer id set; Complete* moves to (next id, 0) with the old id as previous."""
    sim, tc = coordinator()
    meta = at_state(tc, "Ongoing", epoch=EPOCH_EXHAUSTED)
    end(tc, EPOCH_EXHAUSTED, commit=False)
    assert (meta.state, meta.producer_id, meta.epoch) == ("PrepareAbort", 1000, 32767)
    nxt = meta.next_producer_id
    assert nxt not in (-1, 1000)
    sim.sleep(50)
    assert (meta.state, meta.producer_id, meta.epoch, meta.previous_producer_id) == (
        "CompleteAbort", nxt, 0, 1000)


@pytest.mark.parametrize("version", [1, 2])
def test_add_partitions_already_in_an_ongoing_txn_answers_none_without_a_write(
        version: int) -> None:
    """TransactionCoordinator.handleAddPartitionsToTransaction: ``txnMetadata.state ==
    Ongoing && partitions.subsetOf(txnMetadata.topicPartitions)`` -> ``Left(Errors.NONE)``
    ("this is an optimization: if the partitions are already in the metadata reply OK
    immediately"): nothing is appended to __transaction_state. A partition not yet in the
    transaction is written (prepareAddPartitions -> appendTransactionToLog)."""
    _, tc = coordinator()
    meta = at_state(tc, "Ongoing", epoch=5, version=version)
    before = len(tc.log)
    assert call(tc.handle_add_partitions, TXN, 1000, 5, [("t", 0)])["error"] is None
    assert len(tc.log) == before and meta.state == "Ongoing"
    assert call(tc.handle_add_partitions, TXN, 1000, 5, [("t", 0), ("u", 0)])["error"] is None
    assert len(tc.log) == before + 1 and meta.partitions == [("t", 0), ("u", 0)]
