"""Oracle: the simulator's Java idempotent producer against Kafka's own ``SenderTest`` cases
about a partition's first request failing while a later one succeeds, and about
OUT_OF_ORDER_SEQUENCE_NUMBER (apache/kafka clients/src/test/java/org/apache/kafka/clients/
producer/internals/SenderTest.java).

Kafka's tests answer each Produce request by hand (``MockClient.respondToRequest``), so the
answers need not be what a broker would say. :class:`MockBroker` does the same here: it holds
every Produce request to the topic until the test answers it. What a real broker answers in
the same situation is in ``tests/test_rules_java_refused_first_batch_on_kafka.py`` (Kafka
4.1.1: the retried first batch gets OUT_OF_ORDER_SEQUENCE_NUMBER, and the Java client
retries it, ``TransactionManager.canRetry``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eoslib import Simulation

TP = ("t", 0)


class MockBroker:
    """Holds every Produce request to topic ``t`` until :meth:`respond` answers it."""

    def __init__(self, sim: Simulation, producer: Any) -> None:
        self.sim, self.producer = sim, producer
        self.held: list[tuple[dict[str, Any], Callable[[dict[str, Any]], None]]] = []
        orig = sim.cluster.handle_produce

        def handle(req: dict[str, Any], broker: int, respond: Any) -> None:
            if (req["topic"], req["partition"]) != TP:
                return orig(req, broker, respond)
            self.held.append((req, respond))

        sim.cluster.handle_produce = handle  # type: ignore[method-assign]

    def request(self, i: int) -> tuple[int, int, int]:
        """(epoch, base sequence, records) of the ``i``-th request."""
        req = self.held[i][0]
        return req["epoch"], req["seq"], len(req["records"])

    def wait(self, n: int) -> None:
        """``sender.runOnce()`` until ``n`` requests have arrived (at most 100 ms)."""
        for _ in range(100):
            if len(self.held) >= n:
                return
            self.sim.sleep(1)
        raise AssertionError(f"{len(self.held)} Produce requests arrived, expected {n}")

    def respond(self, i: int, error: str | None = None, base_offset: int = -1) -> None:
        """``sendIdempotentProducerResponse``: answer the ``i``-th request, then let the
        answer arrive."""
        self.held[i][1]({"error": error} if error else {"error": None,
                                                        "base_offset": base_offset})
        self.sim.sleep(5)
        self.producer.poll(0)  # serve the delivery callbacks


def _producer(**conf: Any) -> tuple[Simulation, Any, MockBroker, dict[str, Any],
                                    dict[str, str]]:
    """A Java idempotent producer on topic ``t`` behind a :class:`MockBroker`;
    ``p.send(value)`` produces with a callback that fills ``done`` (value -> (offset, error
    name)) and ``messages`` (value -> error message)."""
    sim = Simulation(seed=0)
    sim.create_topic("t", 1)
    p = sim.Producer({"client": "java", "enable.idempotence": True, "linger.ms": 0,
                      "max.in.flight.requests.per.connection": 5, **conf})
    broker = MockBroker(sim, p)
    done: dict[str, Any] = {}
    messages: dict[str, str] = {}

    def send(value: str) -> None:
        def cb(err: Any, msg: Any) -> None:
            done[value] = (msg.offset(), err.name() if err else None)
            if err is not None:
                messages[value] = err.str()
        p.produce("t", value=value, on_delivery=cb)

    p.send = send  # type: ignore[attr-defined]
    return sim, p, broker, done, messages


def test_correct_handling_of_out_of_order_responses_when_second_succeeds() -> None:
    """testCorrectHandlingOfOutOfOrderResponsesWhenSecondSucceeds: requests 1 (seq 0) and 2
    (seq 1) in flight; 2 succeeds (offset 1: lastAckedSequence 1) and 1 fails with a
    retriable error (REQUEST_TIMED_OUT): it is requeued alone with its sequence 0, the last
    acked sequence stays 1, nothing in flight; it is resent (seq 0, same epoch), and when that
    succeeds request 1 completes at offset 0 and the last acked sequence is still 1.
    (Kafka's MockClient answers request 2 first; a broker answers a connection's requests in
    order, Kafka's SocketServer muting it until the answer is sent, and so does the
    simulator's network: here request 1's error comes first. The state after both answers is
    the one the Kafka test asserts.)"""
    sim, p, broker, done, _ = _producer()
    p.send("r1")
    broker.wait(1)
    p.send("r2")
    sim.sleep(1)
    assert p._inflight_tp[TP] == 2 and p._next_seq[TP] == 2

    broker.respond(0, "REQUEST_TIMED_OUT")  # receive response 0
    broker.wait(2)
    assert [broker.request(i) for i in (0, 1)] == [(0, 0, 1), (0, 1, 1)]
    broker.respond(1, base_offset=1)  # receive response 1
    assert done == {"r2": (1, None)}
    assert [b.base_seq for b in p._queue[TP]] == [0]  # requeued with its sequence
    assert p._last_acked_seq[TP] == 1 and p._inflight_tp[TP] == 0

    sim.sleep(200)  # the retry backoff: resend request 0
    assert len(broker.held) == 3 and broker.request(2) == (0, 0, 1)
    assert p._inflight_tp[TP] == 1 and p._last_acked_seq[TP] == 1

    broker.respond(2, base_offset=0)  # the mock says NONE (a real broker: see the module doc)
    assert done["r1"] == (0, None)
    assert not p._queue.get(TP) and p._inflight_tp[TP] == 0 and p._last_acked_seq[TP] == 1


def test_out_of_order_sequence_for_a_batch_that_is_not_the_next_is_retried_without_bump() -> None:
    """TransactionManager.canRetry (Kafka 4.1.1): "We should retry the
    OutOfOrderSequenceException if the batch is _not_ the next batch, ie. its base sequence
    isn't the lastAckedSequence + 1". The state of the test above, but the resent request 0
    gets OUT_OF_ORDER_SEQUENCE_NUMBER, as a real broker answers (sequence 0 after 1): the
    batch is retried again as sequence 0 under the same epoch, with no epoch bump."""
    sim, p, broker, done, _ = _producer()
    p.send("r1")
    broker.wait(1)
    p.send("r2")
    sim.sleep(1)
    broker.respond(0, "NOT_ENOUGH_REPLICAS")
    broker.wait(2)
    broker.respond(1, base_offset=0)
    sim.sleep(200)
    assert broker.request(2) == (0, 0, 1)
    broker.respond(2, "OUT_OF_ORDER_SEQUENCE_NUMBER")
    sim.sleep(500)
    assert len(broker.held) == 4 and broker.request(3) == (0, 0, 1)  # same epoch and seq
    assert p.epoch == 0 and not p._bump_pending and "r1" not in done
    assert p._last_acked_seq[TP] == 1


def test_epoch_bump_on_out_of_order_sequence_for_next_batch() -> None:
    """testEpochBumpOnOutOfOrderSequenceForNextBatch: a first request of two records (seq 0-1)
    succeeds (lastAckedSequence 1); the next batch (seq 2) gets OUT_OF_ORDER_SEQUENCE_NUMBER:
    it IS lastAckedSequence + 1, a real gap, so the idempotent producer bumps its epoch
    (KIP-360) and the batch goes out again as sequence 0 under epoch 1."""
    sim, p, broker, done, _ = _producer()
    p.send("r1a")
    p.send("r1b")  # the same batch: the sender has not run yet
    broker.wait(1)
    assert broker.request(0) == (0, 0, 2) and p._next_seq[TP] == 2
    broker.respond(0, base_offset=0)
    assert done == {"r1a": (0, None), "r1b": (1, None)} and p._last_acked_seq[TP] == 1

    p.send("r2")
    broker.wait(2)
    assert broker.request(1) == (0, 2, 1) and p._next_seq[TP] == 3
    broker.respond(1, "OUT_OF_ORDER_SEQUENCE_NUMBER")
    sim.sleep(200)
    assert p.epoch == 1  # epoch bumped, sequence numbers reset
    assert broker.request(2) == (1, 0, 1) and p._next_seq[TP] == 1
    assert "r2" not in done


#: SenderTest's deliveryTimeoutMs (1500); a backoff longer than what is left of it keeps the
#: failed first batch undrained until it expires (Kafka's test backs the node off instead)
EXPIRY_CONF = {"delivery.timeout.ms": 1500, "request.timeout.ms": 1400,
               "retry.backoff.ms": 1000, "retry.backoff.max.ms": 1000}


def _first_batch_expired_second_in_flight() -> tuple[Simulation, Any, MockBroker,
                                                     dict[str, Any], dict[str, str]]:
    """SenderTest's setup: request 1 (seq 0), 1 s later request 2 (seq 1); 1 fails
    REQUEST_TIMED_OUT and waits in its backoff; 600 ms later it has expired while 2 is in
    flight."""
    sim, p, broker, done, messages = _producer(**EXPIRY_CONF)
    p.send("r1")
    broker.wait(1)
    sim.sleep(1000)
    p.send("r2")
    sim.sleep(1)
    broker.respond(0, "REQUEST_TIMED_OUT")  # receive first response
    broker.wait(2)
    assert p._inflight_tp[TP] == 1
    sim.sleep(600)  # now expire the first batch
    p.poll(0)
    return sim, p, broker, done, messages


def test_expiry_of_first_batch_should_not_cause_unresolved_sequences_if_future_batches_succeed(
) -> None:
    """testExpiryOfFirstBatchShouldNotCauseUnresolvedSequencesIfFutureBatchesSucceed: the
    first batch expires at its delivery timeout (TimeoutException: the simulator's
    REQUEST_TIMED_OUT) while waiting to be retried, the second succeeds at offset 1, and the
    producer goes on with no epoch bump: the next batch is sequence 2 under epoch 0 (the
    unresolved sequence resolves: 2 is lastAckedSequence + 1)."""
    sim, p, broker, done, messages = _first_batch_expired_second_in_flight()
    assert done == {"r1": (-1, "REQUEST_TIMED_OUT")}
    assert messages["r1"] == "Expiring 1 record(s) for t-0:1500 ms has passed since batch " \
        "creation"
    broker.respond(1, base_offset=1)  # receive second response
    assert done["r2"] == (1, None) and p._last_acked_seq[TP] == 1
    p.send("r3")
    broker.wait(3)
    assert broker.request(2) == (0, 2, 1) and p.epoch == 0


def test_no_new_batch_is_drained_while_a_sequence_is_unresolved() -> None:
    """The same test's middle: "let's enqueue another batch, which should not be dequeued
    until the unresolved state is clear" (one batch queued, without a sequence, while the
    second request is in flight)."""
    sim, p, broker, done, _ = _first_batch_expired_second_in_flight()
    p.send("r3")
    sim.sleep(20)
    assert p._inflight_tp[TP] == 1 and [b.base_seq for b in p._queue[TP]] == [-1]
