"""Oracle: the transactional producer against librdkafka's own tests, with the Java client's
answer to the same injected error asserted beside it where the clients differ.

Cases come from confluentinc/librdkafka ``tests/0105-transactions_mock.c`` (the mock cluster
injects errors into one kind of request: ``rd_kafka_mock_push_request_errors``; here
``oracle_inject.push_errors`` does the same to the simulated coordinators) and
``tests/0103-transactions.c``. Each test names its librdkafka function; the Java answers
cite ``TransactionManager``'s handlers (apache/kafka clients/.../producer/internals/).
"""

from __future__ import annotations

import pytest
from oracle_inject import (
    GROUP,
    TXN,
    error_of,
    flags,
    group_metadata,
    new_producer,
    offsets,
    push_errors,
)

from eoslib import TopicPartition

RETRIABLE_RECOVER = [
    ["COORDINATOR_NOT_AVAILABLE", "COORDINATOR_NOT_AVAILABLE"],  # #0
    ["NOT_COORDINATOR", "NOT_COORDINATOR"],  # #1
    ["COORDINATOR_LOAD_IN_PROGRESS"],  # #2
    ["CONCURRENT_TRANSACTIONS"] * 3,  # #3
]


def _txn_with_offsets(client: str, flush: bool, tv: str = "2"):
    sim, p = new_producer(client, tv)
    p.init_transactions(5)
    p.begin_transaction()
    p.produce("mytopic", value="hi")
    if flush:
        p.flush()
    p.send_offsets_to_transaction(offsets(), group_metadata())
    return sim, p


@pytest.mark.parametrize("client", ["librdkafka", "java"])
@pytest.mark.parametrize("errors", RETRIABLE_RECOVER)
@pytest.mark.parametrize("commit", [True, False])
@pytest.mark.parametrize("flush", [False, True])
def test_endtxn_retriable_errors_auto_recover(client, errors, commit, flush) -> None:
    """0105 do_test_txn_endtxn_errors scenarios #0-#3: EndTxn answered
    COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS or
    CONCURRENT_TRANSACTIONS is retried until it succeeds ("Should auto-recover"), for
    commit and abort, with and without a flush first (rd_kafka_txn_handle_EndTxn: RETRY;
    Java EndTxnHandler: RetriableException -> reenqueue)."""
    sim, p = _txn_with_offsets(client, flush)
    calls = push_errors(sim, "EndTxn", *errors)
    (p.commit_transaction if commit else p.abort_transaction)(5)
    assert len(calls) == len(errors) + 1
    assert p.txn_state == "READY"
    assert sim.cluster.txn_coordinator.txns[TXN].state == \
        ("CompleteCommit" if commit else "CompleteAbort")


# (injected error, librdkafka's (name, retriable, abortable, fatal), Java's)
ENDTXN_FAILURES = [
    # #6, #7, #11: normalised to _FENCED (rd_kafka_txn_normalize_err), fatal; Java:
    # ProducerFencedException ("We could still receive INVALID_PRODUCER_EPOCH from old
    # versioned transaction coordinator, just treat it the same as PRODUCE_FENCED")
    ("INVALID_PRODUCER_EPOCH", ("_FENCED", False, False, True),
     ("PRODUCER_FENCED", False, False, True)),
    ("PRODUCER_FENCED", ("_FENCED", False, False, True),
     ("PRODUCER_FENCED", False, False, True)),
    # #8: fatal for both
    ("TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
     ("TRANSACTIONAL_ID_AUTHORIZATION_FAILED", False, False, True),
     ("TRANSACTIONAL_ID_AUTHORIZATION_FAILED", False, False, True)),
    # #9, #10: librdkafka treats any other error as abortable ("All unhandled errors are
    # permanent"); Java: "Unhandled error in EndTxnResponse" is fatal
    ("GROUP_AUTHORIZATION_FAILED", ("GROUP_AUTHORIZATION_FAILED", False, True, False),
     ("GROUP_AUTHORIZATION_FAILED", False, False, True)),
    ("INVALID_MSG_SIZE", ("INVALID_MSG_SIZE", False, True, False),
     ("INVALID_MSG_SIZE", False, False, True)),
]


@pytest.mark.parametrize(("error", "rdk", "java"), ENDTXN_FAILURES)
@pytest.mark.parametrize("commit", [True, False])
def test_endtxn_errors_are_classified_per_client(error, rdk, java, commit) -> None:
    """0105 do_test_txn_endtxn_errors scenarios #6-#11: the error's class as
    rd_kafka_error_is_fatal/txn_requires_abort/is_retriable report it; then the test's own
    recovery: an abortable error is followed by a successful abort_transaction()."""
    for client, expected in (("librdkafka", rdk), ("java", java)):
        sim, p = _txn_with_offsets(client, flush=True)
        push_errors(sim, "EndTxn", error)
        err = error_of(p.commit_transaction if commit else p.abort_transaction)
        assert flags(err) == expected, client
        if err.txn_requires_abort():
            p.abort_transaction(5)
            assert p.txn_state == "READY"
        elif err.fatal():
            assert p.txn_state == "FATAL_ERROR"
            assert error_of(p.begin_transaction).fatal()


@pytest.mark.parametrize("client", ["librdkafka", "java"])
@pytest.mark.parametrize("error", ["UNKNOWN_PRODUCER_ID", "INVALID_PRODUCER_ID_MAPPING"])
def test_endtxn_commit_unknown_producer_id_is_abortable_and_the_abort_bumps_the_epoch(
        client, error) -> None:
    """0105 do_test_txn_endtxn_errors #4/#5 (commit): abortable, not retriable, not fatal;
    the abort that follows completes with an epoch bump ("the abort is auto-recovering thru
    epoch bump": rd_kafka_txn_handle_EndTxn require_bump ->
    rd_kafka_txn_set_abortable_error0(..., requires_epoch_bump); Java EndTxnHandler
    abortableErrorIfPossible -> epochBumpRequired -> InitProducerId with the current
    producer id and epoch, KIP-360). Java on a TV1 cluster (on a TV2 cluster the EndTxn
    itself bumps the epoch, KIP-890: see the test below)."""
    sim, p = _txn_with_offsets(client, flush=True, tv="1")
    e0 = p.epoch
    push_errors(sim, "EndTxn", error)
    err = error_of(p.commit_transaction)
    assert flags(err) == (error, False, True, False)
    bumps = push_errors(sim, "InitProducerId")
    p.abort_transaction(5)
    assert len(bumps) == 1 and bumps[0][4:6] == (p.pid, e0)  # InitProducerId(pid, epoch)
    assert p.epoch == e0 + 1  # TV1: the abort keeps the epoch, the KIP-360 bump adds one
    assert p.txn_state == "READY"
    p.begin_transaction()
    p.produce("mytopic", value="after")
    p.commit_transaction(5)
    assert [v for _, _, v in sim.read_all("mytopic")] == ["after"]


def test_java_tv2_abort_bumps_the_epoch_with_end_txn_itself() -> None:
    """KIP-890 (TV2): every EndTxn bumps the epoch, so after an abortable error the Java
    client's abort needs no InitProducerId: the EndTxn response carries the next epoch
    (TransactionManager adopts the EndTxn response's producer id and epoch)."""
    sim, p = _txn_with_offsets("java", flush=True, tv="2")
    e0 = p.epoch
    push_errors(sim, "EndTxn", "UNKNOWN_PRODUCER_ID")
    assert error_of(p.commit_transaction).txn_requires_abort()
    bumps = push_errors(sim, "InitProducerId")
    p.abort_transaction(5)
    assert bumps == [] and p.epoch == e0 + 1


def test_endtxn_abort_unknown_producer_id_recovers_with_a_new_producer_id() -> None:
    """0105 do_test_txn_endtxn_errors #4 (abort): "the abort is auto-recovering thru epoch
    bump": librdkafka skips to InitProducerId with its producer id and epoch
    (rd_kafka_txn_handle_EndTxn: require_bump && !is_commit ->
    rd_kafka_idemp_drain_epoch_bump0). UNKNOWN_PRODUCER_ID means the coordinator lost the
    id; Kafka's coordinator then answers the bump with a new producer id
    (TransactionCoordinator.handleInitProducerId, isValidProducerId case 1: "a producer
    recovering from an UNKNOWN_PRODUCER_ID error")."""
    sim, p = _txn_with_offsets("librdkafka", flush=True)
    old_pid = p.pid
    tc = sim.cluster.txn_coordinator
    push_errors(sim, "EndTxn", "UNKNOWN_PRODUCER_ID")
    del tc.txns[TXN]  # the coordinator lost the transactional id's state
    p.abort_transaction(5)
    assert p.txn_state == "READY" and p.pid != old_pid and p.epoch == 0


@pytest.mark.parametrize("client", ["librdkafka", "java"])
def test_requires_abort_errors(client) -> None:
    """0105 do_test_txn_requires_abort_errors: (1) a produce failing
    TOPIC_AUTHORIZATION_FAILED makes the next transactional call fail abortable; (2) the
    same on AddPartitionsToTxn fails the commit; (3) AddOffsetsToTxn
    GROUP_AUTHORIZATION_FAILED fails send_offsets_to_transaction with that code; every time
    abort_transaction() recovers (rd_kafka_handle_Produce_error: permanent ->
    rd_kafka_txn_set_abortable_error; rd_kafka_txn_handle_AddPartitionsToTxn /
    AddOffsetsToTxn: default PERMANENT). Java: the same three are abortable
    (maybeTransitionToErrorState; AddPartitionsToTxnHandler "Could not add partitions";
    AddOffsetsToTxnHandler GROUP_AUTHORIZATION_FAILED)."""
    sim, p = new_producer(client)
    p.init_transactions(5)
    # 1. fail on produce
    p.begin_transaction()
    push_errors(sim, "Produce", "TOPIC_AUTHORIZATION_FAILED")
    p.produce("mytopic", value="hi")
    p.flush(5)
    err = error_of(lambda: p.send_offsets_to_transaction(offsets(), group_metadata()))
    assert err is not None and err.txn_requires_abort(), client
    p.abort_transaction()
    # 2. fail on AddPartitionsToTxn
    p.begin_transaction()
    push_errors(sim, "AddPartitionsToTxn", "TOPIC_AUTHORIZATION_FAILED")
    p.produce("mytopic", value="hi")
    err = error_of(lambda: p.commit_transaction(5))
    assert err is not None and err.txn_requires_abort(), client
    p.abort_transaction()
    # 3. fail on AddOffsetsToTxn
    p.begin_transaction()
    p.produce("mytopic", value="hi")
    push_errors(sim, "AddOffsetsToTxn", "GROUP_AUTHORIZATION_FAILED")
    err = error_of(lambda: p.send_offsets_to_transaction(offsets(), group_metadata()))
    assert err.name() == "GROUP_AUTHORIZATION_FAILED" and err.txn_requires_abort()
    assert error_of(lambda: p.commit_transaction(5)) is not None
    p.abort_transaction()
    assert p.txn_state == "READY"
    assert sim.read_all("mytopic") == []


def test_recoverable_errors_on_every_request() -> None:
    """0105 do_test_txn_recoverable_errors: retriable errors injected into InitProducerId,
    Produce (NOT_ENOUGH_REPLICAS), TxnOffsetCommit (NOT_COORDINATOR,
    CONCURRENT_TRANSACTIONS) and EndTxn are retried; the transaction commits."""
    sim, p = new_producer("librdkafka")
    push_errors(sim, "InitProducerId", "COORDINATOR_NOT_AVAILABLE", "NOT_COORDINATOR",
                "COORDINATOR_LOAD_IN_PROGRESS")
    p.init_transactions(5)
    p.begin_transaction()
    p.produce("mytopic", value="hi", partition=0)
    p.flush()
    push_errors(sim, "Produce", "NOT_ENOUGH_REPLICAS")
    p.produce("mytopic", value="hi2", partition=0)
    p.flush()
    push_errors(sim, "TxnOffsetCommit", "NOT_COORDINATOR", "CONCURRENT_TRANSACTIONS")
    p.send_offsets_to_transaction(offsets(), group_metadata())
    push_errors(sim, "EndTxn", "COORDINATOR_NOT_AVAILABLE", "NOT_COORDINATOR",
                "COORDINATOR_LOAD_IN_PROGRESS")
    p.commit_transaction(5)
    assert [v for _, _, v in sim.read_all("mytopic")] == ["hi", "hi2"]
    assert sim.cluster.group_coordinator.group(GROUP).committed == {("srctopic4", 3): 12}


def test_send_offsets_concurrent_transactions_is_retried() -> None:
    """0105 do_test_txns_send_offsets_concurrent_is_retried: AddOffsetsToTxn answered
    CONCURRENT_TRANSACTIONS six times "eventually succeed[s] due to infinite retries"
    (rd_kafka_txn_handle_AddOffsetsToTxn: RETRY)."""
    sim, p = new_producer("librdkafka")
    p.init_transactions(5)
    p.begin_transaction()
    p.produce("mytopic", value="hi")
    p.flush(5)
    calls = push_errors(sim, "AddOffsetsToTxn", *["CONCURRENT_TRANSACTIONS"] * 6)
    p.send_offsets_to_transaction(offsets(), group_metadata())
    assert len(calls) == 7
    p.commit_transaction(5)


@pytest.mark.parametrize("client", ["librdkafka", "java"])
def test_send_offsets_with_no_valid_offset(client) -> None:
    """0105 do_test_txns_send_offsets_non_eligible: offsets without a valid offset (-1):
    librdkafka returns at once and sends nothing ("No valid offsets, e.g., nothing was
    consumed, this is not an error, do nothing", rd_kafka_send_offsets_to_transaction),
    and the call is repeatable; Java sends AddOffsetsToTxn and an empty TxnOffsetCommit."""
    sim, p = new_producer(client)
    p.init_transactions(5)
    p.begin_transaction()
    p.produce("mytopic", value="hi")
    calls = push_errors(sim, "AddOffsetsToTxn")
    for _ in range(2):
        p.send_offsets_to_transaction([TopicPartition("srctopic4", 3, -1)], group_metadata())
    assert len(calls) == (0 if client == "librdkafka" else 2)
    p.commit_transaction(5)


def _delayed_endtxn(client: str, commit: bool):
    sim, p = new_producer(client)
    p.init_transactions(5)
    p.begin_transaction()
    p.produce("mytopic", value="hi")
    p.flush(5)
    push_errors(sim, "EndTxn", None, delay_ms=1200)  # the mock's request RTT
    return sim, p


@pytest.mark.parametrize("commit", [True, False])
def test_resumable_calls_timeout_and_conflict(commit) -> None:
    """0105 do_test_txn_resumable_calls_timeout: an EndTxn answered after 1200 ms makes
    commit_transaction(0.1 s) (or abort) return a retriable timeout; the other API then
    answers _CONFLICT (rd_kafka_txn_curr_api_begin: "Conflicting %s API call is already in
    progress", retriable); calling the same API again resumes and completes it
    (rd_kafka_txn_curr_api_return with resumable=true)."""
    sim, p = _delayed_endtxn("librdkafka", commit)
    same, other = ((p.commit_transaction, p.abort_transaction) if commit
                   else (p.abort_transaction, p.commit_transaction))
    err = error_of(lambda: same(0.1))
    assert flags(err) == ("_TIMED_OUT", True, False, False)
    name = "commit_transaction" if commit else "abort_transaction"
    conflict = error_of(lambda: other(-1))
    assert flags(conflict) == ("_CONFLICT", True, False, False)
    assert f"Conflicting {name} API call is already in progress" in conflict.str()
    while (err := error_of(lambda: same(0.1))) is not None:
        assert err.retriable()
    assert p.txn_state == "READY"
    tc = sim.cluster.txn_coordinator
    assert tc.txns[TXN].state == ("CompleteCommit" if commit else "CompleteAbort")


@pytest.mark.parametrize("commit", [True, False])
def test_java_retry_after_timeout_and_the_other_call(commit) -> None:
    """TransactionManagerTest testRetryCommitTransactionAfterTimeout /
    testRetryAbortTransactionAfterTimeout (resume) and
    testRetryAbortTransactionAfterCommitTimeout / testRetryCommitTransactionAfterAbortTimeout:
    the other call throws IllegalStateException ("Cannot attempt operation `...` because
    the previous call to `...` timed out and must be retried",
    handleCachedTransactionRequestResult): not retriable, unlike librdkafka's _CONFLICT."""
    sim, p = _delayed_endtxn("java", commit)
    same, other = ((p.commit_transaction, p.abort_transaction) if commit
                   else (p.abort_transaction, p.commit_transaction))
    err = error_of(lambda: same(0.1))
    # TimeoutException, named by Errors.forException (errors.timed_out_name)
    assert err.name() == "REQUEST_TIMED_OUT" and err.retriable()
    bad = error_of(lambda: other(5))
    assert bad.name() == "_STATE" and not bad.retriable()
    assert "timed out and must be retried" in bad.str()
    same(5)
    assert p.txn_state == "READY"


def test_resumable_init_transactions() -> None:
    """0105 do_test_txn_resumable_init / do_test_txn_resumable_calls_timeout: with the
    InitProducerId answers delayed, init_transactions(0.1 s) times out (retriable),
    abort_transaction() meanwhile is _CONFLICT, and calling init_transactions() again
    resumes the same initialization (rd_kafka_init_transactions, READY_NOT_ACKED)."""
    sim, p = new_producer("librdkafka")
    calls = push_errors(sim, "InitProducerId", None, None, delay_ms=500)
    err = error_of(lambda: p.init_transactions(0.1))
    assert err.name() == "_TIMED_OUT" and err.retriable()
    assert error_of(lambda: p.abort_transaction()).name() == "_CONFLICT"
    while error_of(lambda: p.init_transactions(0.1)) is not None:
        pass
    assert len(calls) == 1 and p.txn_state == "READY"
    p.begin_transaction()


@pytest.mark.parametrize("error", ["PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH"])
def test_fenced_abort_is_fatal_and_sends_no_epoch_bump(error) -> None:
    """0105 do_test_txn_fenced_abort: a produce failing UNKNOWN_PRODUCER_ID asks for an
    epoch bump at the abort; the abort's EndTxn is fenced: abort_transaction() raises a
    fatal error and the InitProducerId bump is never sent (its injected error stays in the
    stack: "Expected error count 1 for API InitProducerId")."""
    sim, p = new_producer("librdkafka")
    p.init_transactions(5)
    p.begin_transaction()
    p.produce("mytopic", value="hi", partition=0)
    p.flush()
    push_errors(sim, "EndTxn", error)
    bump = push_errors(sim, "InitProducerId", error)
    push_errors(sim, "Produce", "UNKNOWN_PRODUCER_ID")
    p.produce("mytopic", value="hi", partition=0)
    p.flush()
    err = error_of(p.abort_transaction)
    assert err is not None and err.fatal() and err.name() == "_FENCED"
    assert bump == []


def test_commit_after_message_timeout_needs_an_abort() -> None:
    """0105 do_test_commit_after_msg_timeout: a message that times out in the transaction
    (its produce never answered) fails the commit as abortable; abort_transaction() then
    succeeds and the next transaction commits (rd_kafka_broker_produce_toppar: timed-out
    messages -> rd_kafka_idemp_drain_epoch_bump -> abortable error with bump)."""
    sim, p = new_producer("librdkafka", **{"transaction.timeout.ms": 5000,
                                           "socket.timeout.ms": 1000})
    p.init_transactions(5)
    p.begin_transaction()
    e0 = p.epoch
    push_errors(sim, "Produce", *["DROP"] * 20)
    p.produce("mytopic", value="lost", partition=0)
    err = error_of(lambda: p.commit_transaction(10))
    assert err is not None and err.txn_requires_abort() and not err.fatal()
    push_errors(sim, "Produce")  # answered again
    sim.cluster.handle_produce = type(sim.cluster).handle_produce.__get__(sim.cluster)
    p.abort_transaction(10)
    assert p.epoch == e0 + 1  # the bump the timeout asked for
    p.begin_transaction()
    p.produce("mytopic", value="ok", partition=0)
    p.commit_transaction(10)
    assert [v for _, _, v in sim.read_all("mytopic")] == ["ok"]


def test_0103_misuse_txn() -> None:
    """0103 do_test_misuse_txn: transaction.timeout.ms above the broker's maximum makes
    init_transactions() fail fatally with INVALID_TRANSACTION_TIMEOUT
    (rd_kafka_idemp_check_error); a second init_transactions() gives _STATE, before and
    inside a transaction; an init_transactions() that times out is retriable and the next
    call succeeds; while it is pending, begin_transaction() is _CONFLICT."""
    sim, p = new_producer("librdkafka", **{"transaction.timeout.ms": 2147483647})
    err = error_of(lambda: p.init_transactions(10))
    assert flags(err) == ("INVALID_TRANSACTION_TIMEOUT", False, False, True)
    sim, p = new_producer("librdkafka")
    p.init_transactions(30)
    assert error_of(lambda: p.init_transactions(0.001)).name() == "_STATE"
    p.begin_transaction()
    assert error_of(lambda: p.init_transactions(3)).name() == "_STATE"
    sim, p = new_producer("librdkafka")
    err = error_of(lambda: p.init_transactions(0.001))
    assert flags(err) == ("_TIMED_OUT", True, False, False)
    assert error_of(p.begin_transaction).name() == "_CONFLICT"
    p.init_transactions(30)
    assert error_of(lambda: p.init_transactions(5)).name() == "_STATE"
    p.begin_transaction()


@pytest.mark.parametrize("produce_after_fence", [False, True])
@pytest.mark.parametrize("client", ["librdkafka", "java"])
def test_0103_fenced_txn(client, produce_after_fence) -> None:
    """0103 do_test_fenced_txn: p2's init_transactions() fences p1; p1's commit then fails
    fatal, not abortable, not retriable: _FENCED (the broker answers librdkafka's EndTxn v1
    INVALID_PRODUCER_EPOCH, normalised; after a produce, rd_kafka_handle_Produce_error
    raises it at once). Java: the EndTxn gets PRODUCER_FENCED (fatal); after a produce
    the batch fails INVALID_PRODUCER_EPOCH first, which Java makes abortable (2.7+)."""
    sim, p1 = new_producer(client)
    p2 = sim.Producer({"transactional.id": TXN, "client": client})
    p1.init_transactions(30)
    p1.begin_transaction()
    for i in range(10):
        p1.produce("mytopic", value=f"a{i}")
    p1.flush()
    p2.init_transactions(30)
    if produce_after_fence:
        for i in range(10):
            p1.produce("mytopic", value=f"b{i}")
    err = error_of(lambda: p1.commit_transaction(30))
    if client == "java" and produce_after_fence:
        assert flags(err) == ("INVALID_PRODUCER_EPOCH", False, True, False)
        err = error_of(lambda: p1.abort_transaction(30))
        assert flags(err) == ("PRODUCER_FENCED", False, False, True)
        return
    assert flags(err) == (("_FENCED" if client == "librdkafka" else "PRODUCER_FENCED"),
                          False, False, True)
    assert p1.txn_state == "FATAL_ERROR"
    assert sim.read_all("mytopic") == []
