"""Oracle: the clients against Kafka's own client tests, the Java client as Kafka's tests
assert it and librdkafka beside it where the two differ.

``TransactionManagerTest`` (apache/kafka clients/src/test/java/org/apache/kafka/clients/
producer/internals/) and ``ConsumerCoordinatorTest`` (clients/src/test/java/org/apache/
kafka/clients/consumer/internals/). Errors are injected into one kind of request as
``MockClient.prepareResponse`` does (``oracle_inject.push_errors``).
"""

from __future__ import annotations

import pytest
from oracle_inject import (
    TXN,
    error_of,
    flags,
    group_metadata,
    new_producer,
    offsets,
    push_errors,
)

from eoslib import Simulation, TopicPartition

CLIENTS = ["java", "librdkafka"]


def _in_txn(client: str, tv: str = "2"):
    sim, p = new_producer(client, tv)
    p.init_transactions(5)
    p.begin_transaction()
    return sim, p


# ----------------------------------------------------------- TransactionManagerTest
@pytest.mark.parametrize("client", CLIENTS)
def test_initialize_transactions_twice_raises_error(client) -> None:
    """testInitializeTransactionsTwiceRaisesError: IllegalStateException (Java; "Invalid
    transition attempted from state READY to state INITIALIZING"); librdkafka: _STATE."""
    _, p = new_producer(client)
    p.init_transactions(5)
    err = error_of(p.init_transactions)
    assert err.name() == "_STATE" and not err.fatal()
    if client == "java":
        assert "from state READY to state INITIALIZING" in err.str()


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("error", ["FENCED_INSTANCE_ID", "UNKNOWN_MEMBER_ID",
                                   "ILLEGAL_GENERATION"])
def test_group_metadata_errors_in_txn_offset_commit_are_abortable(client, error) -> None:
    """testFencedInstanceIdInTxnOffsetCommitByGroupMetadata,
    testUnknownMemberIdInTxnOffsetCommitByGroupMetadata,
    testIllegalGenerationInTxnOffsetCommitByGroupMetadata: abortable (Java:
    FencedInstanceIdException / CommitFailedException; librdkafka
    rd_kafka_txn_handle_TxnOffsetCommit: PERMANENT); the abort succeeds."""
    sim, p = _in_txn(client)
    p.produce("mytopic", value="x")
    push_errors(sim, "TxnOffsetCommit", error)
    err = error_of(lambda: p.send_offsets_to_transaction(offsets(), group_metadata()))
    assert flags(err) == (error, False, True, False)
    p.abort_transaction(5)
    assert p.txn_state == "READY"


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("request_name", ["AddOffsetsToTxn", "AddPartitionsToTxn"])
def test_invalid_txn_state_is_fatal(client, request_name) -> None:
    """testInvalidTxnStateFailureInAddOffsetsToTxn, testInvalidTxnStateInAddPartitions:
    INVALID_TXN_STATE is fatal (Java fatalError; librdkafka: in the FATAL lists of
    rd_kafka_txn_handle_AddOffsetsToTxn and _AddPartitionsToTxn)."""
    sim, p = _in_txn(client)
    push_errors(sim, request_name, "INVALID_TXN_STATE")
    if request_name == "AddOffsetsToTxn":
        err = error_of(lambda: p.send_offsets_to_transaction(offsets(), group_metadata()))
    else:
        p.produce("mytopic", value="x")
        err = error_of(lambda: p.commit_transaction(5))
    assert flags(err) == ("INVALID_TXN_STATE", False, False, True)
    assert p.txn_state == "FATAL_ERROR"


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("error", ["PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH"])
@pytest.mark.parametrize("request_name", ["InitProducerId", "AddPartitionsToTxn",
                                          "AddOffsetsToTxn", "EndTxn"])
def test_fencing_errors_are_fatal_on_every_coordinator_request(client, error,
                                                               request_name) -> None:
    """testProducerFencedExceptionInInitProducerId, testProducerFencedInAddPartitionToTxn,
    testProducerFencedInAddOffSetsToTxn and the testInvalidProducerEpochConvertToProducer
    FencedIn* cases: Java converts INVALID_PRODUCER_EPOCH to ProducerFencedException, fatal.
    librdkafka reports both as _FENCED, fatal (rd_kafka_txn_normalize_err; the broker
    answers its v0/v1 requests INVALID_PRODUCER_EPOCH, KafkaApis)."""
    sim, p = new_producer(client)
    name = "PRODUCER_FENCED" if client == "java" else "_FENCED"
    if request_name == "InitProducerId":
        push_errors(sim, request_name, error)
        assert flags(error_of(lambda: p.init_transactions(5))) == (name, False, False, True)
        return
    p.init_transactions(5)
    p.begin_transaction()
    push_errors(sim, request_name, error)
    if request_name == "AddOffsetsToTxn":
        err = error_of(lambda: p.send_offsets_to_transaction(offsets(), group_metadata()))
    else:
        p.produce("mytopic", value="x")
        err = error_of(lambda: p.commit_transaction(5))
    assert flags(err) == (name, False, False, True)
    assert error_of(p.abort_transaction).fatal()


@pytest.mark.parametrize("client", CLIENTS)
def test_invalid_producer_epoch_from_produce(client) -> None:
    """testInvalidProducerEpochFromProduce: Java makes the transaction abortable and its
    abort sends EndTxn then InitProducerId (the epoch bump; TV1 here). librdkafka: the same
    answer to a produce is fatal _FENCED ("transactional producer fenced by newer producer
    instance", rd_kafka_handle_Produce_error), no abort."""
    sim, p = _in_txn(client, tv="1")
    push_errors(sim, "Produce", "INVALID_PRODUCER_EPOCH")
    p.produce("mytopic", value="x")
    p.flush(5)
    if client == "librdkafka":
        assert p.txn_state == "FATAL_ERROR" and p.txn_error.name() == "_FENCED"
        return
    assert p.txn_state == "ABORTABLE_ERROR"
    ends, bumps = push_errors(sim, "EndTxn"), push_errors(sim, "InitProducerId")
    p.abort_transaction(5)
    assert len(ends) == 1 and len(bumps) == 1


@pytest.mark.parametrize("during_commit", [True, False])
def test_disallow_commit_allow_abort_on_produce_failure(during_commit: bool) -> None:
    """testDisallowCommitOnProduceFailure / testAllowAbortOnProduceFailure: a produce failing
    OUT_OF_ORDER_SEQUENCE_NUMBER cancels the commit with an exception; the abort succeeds
    and the producer is ready for the next transaction. The abort bumps the epoch (EndTxn
    then InitProducerId(epoch + 1)) only when the failure came while the transaction was
    open, not while it was committing: TransactionManager.maybeTransitionToErrorState sets
    the bump only ``if (needToTriggerEpochBumpFromClient() && !isCompleting())`` (Kafka
    4.1.1; ``canBumpEpoch() && !isCompleting()`` in 3.x); Kafka's first test prepares an
    InitProducerId answer that its abort never asks for. Checked on Kafka 4.1.1:
    tests/test_rules_java_refused_first_batch_on_kafka.py (txn-tv1). (librdkafka: the same
    answer to its head-of-line request is fatal, rd_kafka_handle_idempotent_Produce_error
    r == 0; tests/test_rules_librdkafka_out_of_order.py, and 0105 do_test_out_of_order_seq
    for the abortable r > 0 case in tests/test_kafka_oracle_librdkafka.py.)"""
    client = "java"
    sim, p = _in_txn(client, tv="1")
    e0 = p.epoch
    push_errors(sim, "Produce", "OUT_OF_ORDER_SEQUENCE_NUMBER")
    p.produce("mytopic", value="x")
    if not during_commit:
        p.flush(5)  # the failure arrives while the transaction is open
        assert p.txn_state == "ABORTABLE_ERROR"
    err = error_of(lambda: p.commit_transaction(5))
    assert err is not None and err.txn_requires_abort()
    p.abort_transaction(5)
    assert p.txn_state == "READY" and p.epoch == (e0 if during_commit else e0 + 1)
    p.begin_transaction()
    p.produce("mytopic", value="y")
    p.commit_transaction(5)
    assert [v for _, _, v in sim.read_all("mytopic")] == ["y"]


@pytest.mark.parametrize("client", CLIENTS)
def test_bump_transactional_epoch_on_abortable_error(client) -> None:
    """testBumpTransactionalEpochOnAbortableError: after a produce fails
    TOPIC_AUTHORIZATION_FAILED, Java's abort sends EndTxn then InitProducerId and continues
    at epoch + 1 with sequence 0 (maybeTransitionToErrorState: epochBumpRequired).
    librdkafka does not bump for this error: it is a plain abortable error
    (rd_kafka_txn_set_abortable_error, not ..._with_bump), and abort_transaction() only
    sends EndTxn. The failed message's sequence stays used, so the next transaction's first
    produce meets OUT_OF_ORDER_SEQUENCE_NUMBER with a skipped sequence
    (rd_kafka_handle_idempotent_Produce_error, ``r > 0``: "skipped sequence numbers" ->
    rd_kafka_idemp_drain_epoch_bump): that transaction fails abortable and its abort bumps
    the epoch. (Read from the source; librdkafka's own tests do not commit after such an
    error.)"""
    sim, p = _in_txn(client, tv="1")
    e0 = p.epoch
    p.produce("mytopic", value="a", partition=0)
    p.produce("mytopic", value="b", partition=0)
    p.flush(5)
    push_errors(sim, "Produce", "TOPIC_AUTHORIZATION_FAILED")
    p.produce("mytopic", value="c", partition=0)
    p.flush(5)
    assert p.txn_state == "ABORTABLE_ERROR"
    bumps = push_errors(sim, "InitProducerId")
    p.abort_transaction(5)
    assert len(bumps) == (1 if client == "java" else 0)
    assert p.epoch == (e0 + 1 if client == "java" else e0)
    p.begin_transaction()
    p.produce("mytopic", value="d", partition=0)
    if client == "librdkafka":
        err = error_of(lambda: p.commit_transaction(5))
        assert err.name() == "OUT_OF_ORDER_SEQUENCE_NUMBER" and err.txn_requires_abort()
        p.abort_transaction(5)
        assert len(bumps) == 1 and p.epoch == e0 + 1
        p.begin_transaction()
        p.produce("mytopic", value="d", partition=0)
    p.commit_transaction(5)
    assert [v for _, _, v in sim.read_all("mytopic")] == ["d"]


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("request_name", ["AddPartitionsToTxn", "AddOffsetsToTxn", "EndTxn",
                                          "TxnOffsetCommit", "InitProducerId"])
def test_transaction_abortable_exception(client, request_name) -> None:
    """testTransactionAbortableExceptionIn{AddPartitions,AddOffsetsToTxn,EndTxn,
    TxnOffsetCommit,InitProducerId} (KIP-890's TRANSACTION_ABORTABLE): Java makes the
    transaction abortable, and the abort recovers. librdkafka has no case for it: every
    request's default makes it abortable too, except InitProducerId, whose errors it retries
    (rd_kafka_idemp_request_pid_failed)."""
    sim, p = new_producer(client)
    if request_name == "InitProducerId":
        push_errors(sim, request_name, "TRANSACTION_ABORTABLE")
        err = error_of(lambda: p.init_transactions(5))
        if client == "librdkafka":
            assert err is None and p.txn_state == "READY"
        else:
            assert flags(err)[:3] == ("TRANSACTION_ABORTABLE", False, True)
        return
    p.init_transactions(5)
    p.begin_transaction()
    p.produce("mytopic", value="x")
    push_errors(sim, request_name, "TRANSACTION_ABORTABLE")
    if request_name in ("AddOffsetsToTxn", "TxnOffsetCommit"):
        err = error_of(lambda: p.send_offsets_to_transaction(offsets(), group_metadata()))
    else:
        err = error_of(lambda: p.commit_transaction(5))
    assert flags(err) == ("TRANSACTION_ABORTABLE", False, True, False)
    p.abort_transaction(5)
    assert p.txn_state == "READY"


@pytest.mark.parametrize("client", CLIENTS)
def test_retriable_errors_and_coordinator_not_available(client) -> None:
    """testRetriableErrors / testCoordinatorNotAvailable: COORDINATOR_NOT_AVAILABLE,
    NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS and CONCURRENT_TRANSACTIONS on
    AddPartitionsToTxn are retried until the partition is added."""
    sim, p = _in_txn(client)
    calls = push_errors(sim, "AddPartitionsToTxn", "COORDINATOR_NOT_AVAILABLE",
                        "NOT_COORDINATOR", "COORDINATOR_LOAD_IN_PROGRESS",
                        "CONCURRENT_TRANSACTIONS")
    p.produce("mytopic", value="x")
    p.commit_transaction(10)
    assert len(calls) == 5
    assert [v for _, _, v in sim.read_all("mytopic")] == ["x"]


@pytest.mark.parametrize("client", CLIENTS)
def test_producer_close_in_a_transaction(client) -> None:
    """Java KafkaProducer.close(): "Aborting incomplete transaction due to shutdown"
    (Sender.run): the coordinator gets an EndTxn(abort) at once. librdkafka's
    rd_kafka_destroy sends nothing: the transaction stays open until the coordinator times
    it out (transaction.timeout.ms)."""
    sim, p = _in_txn(client)
    p.produce("mytopic", value="x")
    p.flush(5)
    p.close()
    state = sim.cluster.txn_coordinator.txns[TXN].state
    assert state == ("CompleteAbort" if client == "java" else "Ongoing")


# ---------------------------------------------------------- ConsumerCoordinatorTest
def _member(client: str, **conf):
    sim = Simulation(seed=0)
    sim.create_topic("t", 1)
    sim.cluster.partition("t", 0).append_data([(None, "v0"), (None, "v1")])
    c = sim.Consumer({"group.id": "g", "client": client, "enable.auto.commit": False,
                      "auto.offset.reset": "earliest", "request.timeout.ms": 1000,
                      "socket.timeout.ms": 1000, **conf})
    c.subscribe(["t"])
    assert len(c.consume(2, timeout=5.0)) == 2
    return sim, c


def _drop_commits(sim: Simulation, n: int) -> None:
    """The next ``n`` OffsetCommit requests are lost (the client times out)."""
    from eoslib.faults import FaultPlan

    done = sim.injector.counts.get("offset_commit", 0)
    sim.injector.plan = FaultPlan.from_dict(
        {"drop": [f"offset_commit.request.{done + i}" for i in range(1, n + 1)]})


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("error", ["NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE",
                                   "UNKNOWN_TOPIC_OR_PART", "COORDINATOR_LOAD_IN_PROGRESS"])
def test_commit_offset_sync_retries_retriable_errors(client, error) -> None:
    """testCommitOffsetSyncNotCoordinator, testCommitOffsetSyncCoordinatorNotAvailable,
    testRetryCommitUnknownTopicOrPartition: commitSync retries and succeeds
    (OffsetCommitResponseHandler: retriable; librdkafka rd_kafka_handle_OffsetCommit_error:
    RETRY)."""
    sim, c = _member(client)
    calls = push_errors(sim, "OffsetCommit", error)
    assert c.commit(asynchronous=False) == [TopicPartition("t", 0, 2)]
    assert len(calls) == 2
    assert sim.cluster.group_coordinator.group("g").committed[("t", 0)] == 2


@pytest.mark.parametrize("client", CLIENTS)
def test_commit_offset_sync_coordinator_disconnected(client) -> None:
    """testCommitOffsetSyncCoordinatorDisconnected: the first request gets no answer; the
    synchronous commit retries and succeeds."""
    sim, c = _member(client)
    _drop_commits(sim, 1)
    assert c.commit(asynchronous=False) == [TopicPartition("t", 0, 2)]
    assert sim.injector.counts["offset_commit"] == 2


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("error", ["ILLEGAL_GENERATION", "UNKNOWN_MEMBER_ID",
                                   "REBALANCE_IN_PROGRESS"])
def test_commit_offset_non_retriable_group_errors(client, error) -> None:
    """testCommitOffsetIllegalGeneration, testCommitOffsetUnknownMemberId,
    testCommitOffsetRebalanceInProgress: raised at once, not retried (CommitFailedException
    / RebalanceInProgressException; librdkafka: PERMANENT)."""
    sim, c = _member(client)
    calls = push_errors(sim, "OffsetCommit", error)
    err = error_of(lambda: c.commit(asynchronous=False))
    assert err.name() == error and not err.retriable()
    assert len(calls) == 1


@pytest.mark.parametrize("client", CLIENTS)
def test_commit_offset_request_sync_with_fenced_instance_id(client) -> None:
    """testCommitOffsetRequestSyncWithFencedInstanceIdException: FencedInstanceIdException
    (Java); librdkafka makes it a fatal error of the consumer
    (rd_kafka_handle_OffsetCommit_error: PERMANENT | FATAL -> rd_kafka_set_fatal_error)."""
    sim, c = _member(client, **{"group.instance.id": "i1"})
    push_errors(sim, "OffsetCommit", "FENCED_INSTANCE_ID")
    err = error_of(lambda: c.commit(asynchronous=False))
    assert err.name() == "FENCED_INSTANCE_ID"
    assert err.fatal() == (client == "librdkafka")


def test_commit_offset_async_not_coordinator() -> None:
    """testCommitOffsetAsyncNotCoordinator: commitAsync is not retried (its callback gets a
    RetriableCommitFailedException); librdkafka retries the request (rd_kafka_buf_retry)."""
    for client, attempts in (("java", 1), ("librdkafka", 2)):
        sim, c = _member(client)
        calls = push_errors(sim, "OffsetCommit", "NOT_COORDINATOR")
        c.commit(asynchronous=True)
        sim.sleep(2000)
        assert len(calls) == attempts, client


@pytest.mark.parametrize("client", CLIENTS)
def test_close_commits_and_does_not_raise_when_the_commit_gets_no_answer(client) -> None:
    """testCloseDynamicAssignment / testCloseNoResponseForCommit: close() with auto-commit
    commits the consumed offsets synchronously and leaves the group; a commit that gets no
    answer does not make close() raise (maybeAutoCommitOffsetsSync: "we do not propagate the
    exception")."""
    sim, c = _member(client, **{"enable.auto.commit": True, "auto.commit.interval.ms": 60000})
    c.close()
    assert sim.cluster.group_coordinator.group("g").committed[("t", 0)] == 2
    assert not sim.cluster.group_coordinator.group("g").members
    sim2, c2 = _member(client, **{"enable.auto.commit": True,
                                  "auto.commit.interval.ms": 60000,
                                  "default.api.timeout.ms": 3000})
    _drop_commits(sim2, 10)
    c2.close()  # no exception
    assert c2.closed
