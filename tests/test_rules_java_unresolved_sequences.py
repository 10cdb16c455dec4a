"""Oracle: the simulator's Java producer when a batch expires at ``delivery.timeout.ms``
while its request is in flight or while it waits to be retried, and the sequence it
leaves unresolved (Kafka 4.1.1 kafka-clients: ``Sender.getExpiredInflightBatches``,
``Sender.sendProducerData`` -> ``TransactionManager.markSequenceUnresolved``,
``RecordAccumulator.shouldStopDrainBatchesForPartition``,
``TransactionManager.maybeResolveSequences``, ``TransactionManager.canRetry``), ported from
Kafka's ``SenderTest`` (apache/kafka clients/src/test/java/org/apache/kafka/clients/
producer/internals/SenderTest.java). The real-broker twin of the in-flight expiry is
``tests/test_rules_java_refused_first_batch_on_kafka.py``
(``test_real_java_expires_a_batch_in_flight_and_bumps_the_epoch``).

Kafka's tests answer each Produce request by hand; :class:`MockBroker` (from
``test_rules_java_out_of_order_oracle.py``) holds every request to topic ``t`` until the
test answers it. Backoffs are constant here (``retry.backoff.max.ms`` =
``retry.backoff.ms``: no jitter), so every moment below is exact.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_rules_java_out_of_order_oracle import TP, MockBroker, _producer

from eoslib import Simulation

#: a retry leaves 100 ms after the refusal; the 1,500 ms deadline comes before its request
#: could time out (100 + 1,500 ms); linger 0 + request.timeout.ms <= delivery.timeout.ms,
#: as Java requires
IN_FLIGHT_CONF = {"delivery.timeout.ms": 1500, "request.timeout.ms": 1500,
                  "retry.backoff.ms": 100, "retry.backoff.max.ms": 100}
EXPIRED = "Expiring 1 record(s) for t-0:1500 ms has passed since batch creation"


def _retry_held_past_its_deadline(**conf: Any) -> tuple[Simulation, Any, MockBroker,
                                                        dict[str, Any], dict[str, str]]:
    """r1 (seq 0) is refused NOT_LEADER_OR_FOLLOWER, its retry (100 ms later) is held
    past the 1,500 ms delivery timeout."""
    sim, p, broker, done, messages = _producer(**{**IN_FLIGHT_CONF, **conf})
    p.send("r1")
    broker.wait(1)
    broker.respond(0, "NOT_LEADER_OR_FOLLOWER")
    broker.wait(2)
    assert p._inflight_tp[TP] == 1 and "r1" not in done
    sim.sleep(1500 - sim.kernel.now)
    p.poll(0)
    return sim, p, broker, done, messages


def test_an_in_flight_retry_expires_at_delivery_timeout_and_its_late_error_is_ignored(
) -> None:
    """testExpiredBatchDoesNotRetry (there the first request; here its retry, whose
    deadline comes before its request timeout): the batch fails with the TimeoutException
    at delivery.timeout.ms while its request is in flight (getExpiredInflightBatches); the
    broker's later retriable answer is ignored: nothing is sent again (Sender.canRetry:
    ``!batch.isDone()``). Not idempotent: no sequence, nothing to resolve."""
    sim, p, broker, done, messages = _retry_held_past_its_deadline(**{
        "enable.idempotence": False})
    assert done == {"r1": (-1, "REQUEST_TIMED_OUT")} and messages["r1"] == EXPIRED
    assert p._inflight_tp[TP] == 0 and p._inflight_broker[0] == 1  # the request is out
    assert [e["label"] for e in sim.kernel.trace if e["kind"] == "error"][-1] == \
        "delivery.timeout.ms (1500 ms) passed while in flight"
    broker.respond(1, "NOT_LEADER_OR_FOLLOWER")  # the late answer
    sim.sleep(500)
    assert len(broker.held) == 2 and p._inflight_broker[0] == 0
    assert p.stats["failed"] == 1 and p.epoch == -1 and not p._unresolved


def test_an_expired_retry_with_nothing_else_in_flight_bumps_the_epoch() -> None:
    """The real run's case (Kafka 4.1.1, module doc of the twin): the expired retry marks
    its sequence unresolved (``inRetry()``); with nothing else in flight the sender's next
    loop finds next sequence 1 after last acked -1 and, idempotent, bumps its epoch
    ("No inflight batches remaining for T-0, last ack'd sequence for partition is -1,
    next sequence is 1. Going to bump epoch and reset sequence numbers."). A late success
    for the expired batch reports nothing (its callback already ran), and the next record
    goes out as epoch 1, sequence 0."""
    sim, p, broker, done, _ = _retry_held_past_its_deadline()
    assert done == {"r1": (-1, "REQUEST_TIMED_OUT")} and p.epoch == 1
    assert not p._unresolved and p._next_seq.get(TP, 0) == 0
    assert [e["label"] for e in sim.kernel.trace if e["kind"] == "fence"] == [
        "bumped own epoch to 1 (KIP-360); sequences restart at 0: \"No inflight batches "
        "remaining for t-0, last ack'd sequence for partition is -1, next sequence is 1. "
        "Going to bump epoch and reset sequence numbers.\""]
    broker.respond(1, base_offset=0)  # the late answer: appended after all
    assert done == {"r1": (-1, "REQUEST_TIMED_OUT")} and p.stats["acked"] == 0
    p.send("r2")
    broker.wait(3)
    assert broker.request(2) == (1, 0, 1)


def test_a_retry_expired_in_flight_resolves_if_a_later_batch_succeeds() -> None:
    """testExpiryOfFirstBatchShouldNotCauseUnresolvedSequencesIfFutureBatchesSucceed, with
    the first batch's retry expiring in flight rather than in its backoff: r2 (seq 1) went
    out behind the retry, so the partition stays unresolved and r3 is not drained; the
    retry's late success only moves the last acked sequence (completeBatch ->
    handleCompletedBatch; no callback: the batch is done); when r2 succeeds (lastAcked 1,
    next 2) the sequence resolves without a bump and r3 goes out as seq 2."""
    sim, p, broker, done, _ = _producer(**IN_FLIGHT_CONF)
    p.send("r1")
    broker.wait(1)
    broker.respond(0, "NOT_LEADER_OR_FOLLOWER")
    broker.wait(2)  # r1's retry, held
    p.send("r2")  # a new batch is drained while the retry is in flight
    sim.sleep(1500 - sim.kernel.now)
    p.poll(0)
    assert done == {"r1": (-1, "REQUEST_TIMED_OUT")} and p._inflight_tp[TP] == 1
    assert p._unresolved == {TP: 1} and p.epoch == 0
    p.send("r3")
    sim.sleep(20)
    assert [b.base_seq for b in p._queue[TP]] == [-1]
    broker.respond(1, base_offset=0)  # the late answer: r1 was appended after all
    assert p._last_acked_seq[TP] == 0 and done == {"r1": (-1, "REQUEST_TIMED_OUT")}
    broker.wait(3)
    assert broker.request(2) == (0, 1, 1)
    broker.respond(2, base_offset=1)
    assert done["r2"] == (1, None) and not p._unresolved and p.epoch == 0
    broker.wait(4)
    assert broker.request(3) == (0, 2, 1)


#: SenderTest's delivery timeout (1,500 ms), with a constant 700 ms backoff: r1's retry
#: (refused at 1,001 ms) would leave at 1,701, after its deadline, so it expires in its
#: backoff; r2's (created at 1,000) leaves before its own deadline at 2,500
BACKOFF_CONF = {"delivery.timeout.ms": 1500, "request.timeout.ms": 1400,
                "retry.backoff.ms": 700, "retry.backoff.max.ms": 700}


def _first_expired_in_backoff_second_in_flight(**conf: Any) -> tuple[
        Simulation, Any, MockBroker, dict[str, Any], dict[str, str]]:
    sim, p, broker, done, messages = _producer(**{**BACKOFF_CONF, **conf})
    p.send("r1")
    broker.wait(1)
    sim.sleep(1000)
    p.send("r2")
    sim.sleep(1)
    broker.respond(0, "NOT_LEADER_OR_FOLLOWER")  # (the broker then reads r2)
    broker.wait(2)
    sim.sleep(1500 - sim.kernel.now)  # now expire the first batch
    p.poll(0)
    assert done == {"r1": (-1, "REQUEST_TIMED_OUT")} and p._unresolved == {TP: 1}
    return sim, p, broker, done, messages


def test_expiry_of_first_batch_should_cause_epoch_bump_if_future_batches_fail() -> None:
    """testExpiryOfFirstBatchShouldCauseEpochBumpIfFutureBatchesFail: r1 expires in its
    backoff (unresolved, next sequence 1), r3 waits undrained; r2 (seq 1) gets
    OUT_OF_ORDER_SEQUENCE_NUMBER. canRetry: with an unresolved sequence the batch right
    after it (isNextSequenceForUnresolvedPartition) asks for an epoch bump and is retried:
    the epoch is 1, nothing is unresolved, and r2 and r3 go out as sequences 0 and 1."""
    sim, p, broker, done, _ = _first_expired_in_backoff_second_in_flight()
    p.send("r3")
    sim.sleep(20)
    assert len(broker.held) == 2 and [b.base_seq for b in p._queue[TP]] == [-1]
    broker.respond(1, "OUT_OF_ORDER_SEQUENCE_NUMBER")
    assert p.epoch == 1 and not p._unresolved
    assert [b.base_seq for b in p._queue[TP]] == [-1, -1]  # r2 requeued, then r3
    sim.sleep(700)
    broker.wait(3)
    assert broker.request(2) == (1, 0, 1) and p._inflight_tp[TP] == 2  # r3 behind it
    broker.respond(2, base_offset=1)
    broker.wait(4)
    assert broker.request(3) == (1, 1, 1) and done == {"r1": (-1, "REQUEST_TIMED_OUT"),
                                                       "r2": (1, None)}


def _transactional(tv: str) -> tuple[Simulation, Any, MockBroker, dict[str, Any]]:
    sim = Simulation(seed=0, cluster={"transaction.version": tv})
    sim.create_topic("t", 1)
    p = sim.Producer({"client": "java", "transactional.id": "txn", "linger.ms": 0,
                      "max.in.flight.requests.per.connection": 5, **IN_FLIGHT_CONF})
    p.init_transactions()
    p.begin_transaction()
    broker = MockBroker(sim, p)
    done: dict[str, Any] = {}

    def send(value: str) -> None:
        p.produce("t", value=value, on_delivery=lambda err, msg: done.__setitem__(
            value, (msg.offset(), err.name() if err else None)))
    p.send = send  # type: ignore[attr-defined]
    return sim, p, broker, done


def test_unresolved_sequences_are_not_fatal_for_a_transactional_producer() -> None:
    """testUnresolvedSequencesAreNotFatal and maybeResolveSequences' transactional branch:
    the expired retry leaves the transaction abortable (TimeoutException), not fatal; with
    nothing acknowledged after it the sequence cannot resolve, and the producer takes
    TransactionManager's abortable error "The client hasn't received acknowledgment for
    some previously sent messages and can no longer retry them. It is safe to abort the
    transaction and continue." At transaction.version 1 the abort must bump the epoch from
    the client (needToTriggerEpochBumpFromClient); at 2 the coordinator bumps it at EndTxn,
    so the client does not ask for it."""
    for tv, bump in (("1", True), ("2", False)):  # bump: the client must ask for it
        sim, p, broker, done = _transactional(tv)
        p.send("r1")
        broker.wait(1)
        broker.respond(0, "NOT_LEADER_OR_FOLLOWER")
        broker.wait(2)
        sim.sleep(2000)  # the retry is held past its deadline
        p.poll(0)
        assert done == {"r1": (-1, "REQUEST_TIMED_OUT")}, tv
        assert p.txn_state == "ABORTABLE_ERROR" and not p._unresolved, tv
        err = p.txn_error
        assert err is not None and err.txn_requires_abort() and not err.fatal()
        assert err.str().startswith("The client hasn't received acknowledgment for some "
                                    "previously sent messages"), (tv, err.str())
        if bump:  # (at 2 the flag is not read: EndTxn's answer brings the new epoch)
            assert p._bump_on_abort, tv


def test_idempotence_with_multiple_inflights_retried_in_order() -> None:
    """testIdempotenceWithMultipleInflightsRetriedInOrder: r1-r3 (seq 0-2) in flight; r1
    fails with a retriable error, r2 and r3 then with OUT_OF_ORDER_SEQUENCE_NUMBER. r1's
    retry goes out while r3 is still in flight ("re send request 1, receive response 2"):
    a retry is drained when its sequence is the partition's first in flight
    (RecordAccumulator.shouldStopDrainBatchesForPartition: ``first.baseSequence() !=
    firstInFlightSequence`` stops the others), so retries go one at a time, in sequence
    order; r4, queued behind them, waits ("it shouldn't be sent until the first 3
    complete") and goes out as seq 3 once they have."""
    sim, p, broker, done, _ = _producer()
    p.send("r1")
    broker.wait(1)
    for v in ("r2", "r3"):
        p.send(v)
        sim.sleep(1)
    assert p._inflight_tp[TP] == 3 and p._next_seq[TP] == 3
    broker.respond(0, "NOT_LEADER_OR_FOLLOWER")
    p.send("r4")
    assert p._inflight_tp[TP] == 2
    broker.wait(2)
    broker.respond(1, "OUT_OF_ORDER_SEQUENCE_NUMBER")  # r2: 1 is not lastAcked (-1) + 1
    sim.sleep(150)  # r1's backoff (100 ms, +-20%)
    retried = [e["label"] for e in sim.kernel.trace if e["kind"] == "retry"]
    assert retried == ["r1 seq=0 -> t-0"] and p._inflight_tp[TP] == 2  # r3 still out
    broker.wait(3)
    broker.respond(2, "OUT_OF_ORDER_SEQUENCE_NUMBER")  # r3
    broker.wait(4)
    assert broker.request(3) == (0, 0, 1) and p._inflight_tp[TP] == 1
    assert p._next_seq[TP] == 3 and p._last_acked_seq.get(TP) is None  # r4 undrained
    for i, (seq, off) in enumerate([(0, 0), (1, 1), (2, 2), (3, 3)], start=3):
        assert broker.request(i) == (0, seq, 1)
        broker.respond(i, base_offset=off)
        if i < 6:
            sim.sleep(200)
            broker.wait(i + 2)
    assert done == {"r1": (0, None), "r2": (1, None), "r3": (2, None), "r4": (3, None)}
    assert p.epoch == 0 and p._last_acked_seq[TP] == 3


@pytest.mark.parametrize("tv", ["1", "2"])
def test_a_transactional_batch_expiring_in_flight_fails_the_commit_and_the_abort_recovers(
        tv: str) -> None:
    """A transactional Java producer's only record is refused, its retry held past
    delivery.timeout.ms: the batch expires in flight, nothing after it was acknowledged, so
    the sequence cannot resolve and commitTransaction fails with TransactionManager's
    abortable error (maybeResolveSequences runs before the pending commit is failed in
    Sender.runOnce, so its error is the one the application sees). The abort bumps the
    epoch (transaction.version 1: InitProducerId from the client; 2: EndTxn), and the next
    transaction's record goes out as sequence 0 under the new epoch and commits."""
    from oracle_inject import push_errors

    from eoslib import KafkaException

    sim = Simulation(seed=0, cluster={"transaction.version": tv})
    sim.create_topic("t", 1)
    p = sim.Producer({"client": "java", "transactional.id": "x", "linger.ms": 0,
                      "delivery.timeout.ms": 3000, "request.timeout.ms": 3000,
                      "retry.backoff.ms": 250})
    p.init_transactions()
    p.begin_transaction()
    push_errors(sim, "Produce", "NOT_ENOUGH_REPLICAS", "DROP")
    reports: list[tuple[str, str | None]] = []
    p.produce("t", value="a", on_delivery=lambda e, m: reports.append(
        (m.value(), e.name() if e else None)))
    with pytest.raises(KafkaException) as raised:
        p.commit_transaction()
    err = raised.value.args[0]
    assert err.txn_requires_abort() and not err.fatal()
    assert err.str().startswith("The client hasn't received acknowledgment")
    assert reports == [("a", "REQUEST_TIMED_OUT")]
    p.abort_transaction()
    assert p.epoch == 1
    p.begin_transaction()
    p.produce("t", value="b")
    p.commit_transaction()
    data = [(b.records, b.epoch, b.base_seq) for b in sim.cluster.partition("t", 0).log
            if not b.control]
    assert data == [([(None, "b")], 1, 0)]


def test_a_batch_that_cannot_be_sent_still_expires_at_its_deadline() -> None:
    """RecordAccumulator.expiredBatches expires every deque's head at its delivery timeout,
    sendable or not, and Sender.sendProducerData polls no longer than the next expiry: with
    max.in.flight 1, r2 waits behind r1's retry, whose request keeps the connection's only
    slot after r1 expired in flight (until its request timeout, 1,605 ms); r2 fails at its
    own deadline (1,550 ms), never sent."""
    sim, p, broker, done, messages = _producer(**{
        **IN_FLIGHT_CONF, "enable.idempotence": False,
        "max.in.flight.requests.per.connection": 1})
    failed_at: dict[str, float] = {}
    p.send("r1")
    broker.wait(1)
    broker.respond(0, "NOT_LEADER_OR_FOLLOWER")  # r1 backs off 100 ms
    sim.sleep(50 - sim.kernel.now)
    p.send("r2")  # queued behind r1
    broker.wait(2)  # r1's retry, held: the connection's one slot
    while len(done) < 2:
        sim.sleep(1)
        p.poll(0)
        for v in done:
            failed_at.setdefault(v, sim.kernel.now)
    assert failed_at == {"r1": 1500, "r2": 1550} and len(broker.held) == 2
    assert messages == {"r1": EXPIRED, "r2": EXPIRED}
