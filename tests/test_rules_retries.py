"""Retries as each client does them (issue 18 §3): a synchronous commit retries retriable
errors, and every retry backs off exponentially up to ``retry.backoff.max.ms``.

Sources: Java ``ConsumerCoordinator.commitOffsetsSync`` (retries until the API timeout,
``default.api.timeout.ms``, with ``retryBackoff.backoff(attempts++)``),
``OffsetCommitResponseHandler`` (which errors are retriable), ``ExponentialBackoff`` (KIP-580,
Kafka 3.7) and ``RecordAccumulator.shouldBackoff``; librdkafka src/rdkafka_request.c
``rd_kafka_handle_OffsetCommit`` (``rd_kafka_buf_retry``, at most
``RD_KAFKA_REQUEST_DEFAULT_RETRIES`` = 2 retries), src/rdkafka_broker.c
``rd_kafka_broker_buf_retry`` and src/rdkafka_partition.c ``rd_kafka_retry_msgq``
(``retry.backoff.ms * 2**(retries-1)``, jitter 20%, capped by ``retry.backoff.max.ms``).
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from eoslib import KafkaException, Simulation, TopicPartition
from eoslib.backoff import retry_backoff_ms

TP0 = TopicPartition("t", 0)


def _consumer(sim: Simulation, client: str, **conf):
    c = sim.Consumer({"group.id": "g", "client": client, "enable.auto.commit": False,
                      "auto.offset.reset": "earliest", "request.timeout.ms": 1000,
                      "socket.timeout.ms": 1000, "default.api.timeout.ms": 5000, **conf})
    c.assign([TopicPartition("t", 0, 0)])
    return c


def _sim(drop: tuple[str, ...] = ()) -> Simulation:
    sim = Simulation(seed=0, faults={"drop": list(drop)})
    sim.create_topic("t", 1)
    sim.cluster.partition("t", 0).append_data([(None, f"v{i}") for i in range(3)])
    return sim


def _committed(sim: Simulation) -> int | None:
    return sim.cluster.group_coordinator.group("g").committed.get(("t", 0))


def _attempts(sim: Simulation) -> int:
    return sim.injector.counts.get("offset_commit", 0)


@pytest.mark.parametrize("client", ["java", "librdkafka"])
def test_a_synchronous_commit_survives_one_lost_request(client: str) -> None:
    """One lost OffsetCommit request no longer fails commit(asynchronous=False): Java
    retries until default.api.timeout.ms (commitOffsetsSync), librdkafka retries the
    request (rd_kafka_handle_OffsetCommit -> rd_kafka_buf_retry)."""
    sim = _sim(drop=("offset_commit.request.1",))
    c = _consumer(sim, client)
    assert len(c.consume(3, timeout=1.0)) == 3
    out = c.commit(asynchronous=False)
    assert out == [TopicPartition("t", 0, 3)]
    assert _committed(sim) == 3 and _attempts(sim) == 2
    assert 1000 <= sim.now < 1000 + 1000 + 200  # one timeout, one backoff, one round trip


def test_java_commit_sync_retries_until_default_api_timeout_then_times_out() -> None:
    """Every request lost: Java keeps retrying for default.api.timeout.ms (5000 here, each
    attempt waiting request.timeout.ms=1000 plus a growing backoff), then commitSync throws
    TimeoutException ("Timeout of 5000ms expired before successfully committing offsets")."""
    sim = _sim(drop=tuple(f"offset_commit.request.{n}" for n in range(1, 20)))
    c = _consumer(sim, "java")
    c.consume(3, timeout=1.0)
    t0 = sim.now
    with pytest.raises(KafkaException) as ei:
        c.commit(asynchronous=False)
    err = ei.value.error
    # TimeoutException, named by Errors.forException (errors.timed_out_name)
    assert err.name() == "REQUEST_TIMED_OUT" and err.retriable() and "5000ms" in err.str()
    assert sim.now - t0 == pytest.approx(5000, abs=1)
    # attempts at 0-1.0 s, ~1.1-2.1, ~2.3-3.3, ~3.7-4.7; the next backoff (~800 ms) ends
    # past the 5 s timer, so the loop ends ("while (timer.notExpired())") and sends no more
    assert _attempts(sim) == 4
    sim.sleep(5000)
    assert _attempts(sim) == 4
    assert _committed(sim) is None


def test_librdkafka_commit_gives_up_after_two_retries() -> None:
    """librdkafka: RD_KAFKA_REQUEST_DEFAULT_RETRIES (2) retries of the OffsetCommit request,
    each bounded by socket.timeout.ms, then the error (_TIMED_OUT) is returned."""
    sim = _sim(drop=tuple(f"offset_commit.request.{n}" for n in range(1, 20)))
    c = _consumer(sim, "librdkafka")
    c.consume(3, timeout=1.0)
    with pytest.raises(KafkaException) as ei:
        c.commit(asynchronous=False)
    assert ei.value.error.name() == "_TIMED_OUT"
    assert _attempts(sim) == 3 and _committed(sim) is None


def test_java_async_commit_is_not_retried_librdkafka_is() -> None:
    """Java commitAsync sends once (only commitOffsetsSync loops); librdkafka's retries are
    per request (rd_kafka_buf_retry), so an asynchronous commit is retried too."""
    for client, attempts, committed in (("java", 1, None), ("librdkafka", 2, 3)):
        sim = _sim(drop=("offset_commit.request.1",))
        c = _consumer(sim, client)
        c.consume(3, timeout=1.0)
        c.commit(asynchronous=True)
        sim.sleep(3000)
        assert (_attempts(sim), _committed(sim)) == (attempts, committed), client


@pytest.mark.parametrize("client", ["java", "librdkafka"])
def test_a_non_retriable_commit_error_is_raised_at_once(client: str) -> None:
    """ILLEGAL_GENERATION is not retriable for either client (CommitFailedException;
    librdkafka: RD_KAFKA_ERR_ACTION_PERMANENT)."""
    sim = _sim()
    sim.create_topic("s", 1)
    c = sim.Consumer({"group.id": "g", "client": client, "enable.auto.commit": False,
                      "auto.offset.reset": "earliest"})
    c.subscribe(["s"])
    c.consume(1, timeout=5.0)
    c.generation = c.generation + 7  # a generation the coordinator never gave out
    with pytest.raises(KafkaException) as ei:
        c.commit(offsets=[TopicPartition("s", 0, 0)], asynchronous=False)
    assert ei.value.error.name() == "ILLEGAL_GENERATION"
    assert _attempts(sim) == 1


# ---------------------------------------------------------------- exponential backoff
@pytest.mark.parametrize("client", ["java", "librdkafka"])
def test_backoff_doubles_from_retry_backoff_ms_up_to_the_max(client: str) -> None:
    """retry n waits retry.backoff.ms * 2**(n-1) within +-20% jitter, capped at
    retry.backoff.max.ms (ExponentialBackoff; rd_kafka_retry_msgq)."""
    conf = {"client": client, "retry.backoff.ms": 100, "retry.backoff.max.ms": 1000}
    rng = random.Random(7)
    for n, expected in ((1, 100), (2, 200), (3, 400), (4, 800)):
        for _ in range(20):
            assert 0.8 * expected <= retry_backoff_ms(conf, n, rng) <= 1.2 * expected
    capped = [retry_backoff_ms(conf, n, rng) for n in (6, 10, 40) for _ in range(10)]
    if client == "java":
        # the exponent stops at log2(max/initial); the jittered value is then capped
        assert all(800 <= b <= 1000 for b in capped)
    else:
        assert set(capped) == {1000}
    # a max not above the base: a constant backoff (Java: expMax == 0)
    flat = {**conf, "retry.backoff.max.ms": 100}
    if client == "java":
        assert {retry_backoff_ms(flat, n, rng) for n in (1, 5)} == {100.0}


@pytest.mark.parametrize("client", ["java", "librdkafka"])
def test_a_refused_batch_is_retried_with_growing_waits(client: str) -> None:
    """A batch refused NOT_ENOUGH_REPLICAS again and again: the waits between its sends
    grow from retry.backoff.ms (100) and level off at retry.backoff.max.ms (1000), instead
    of one retry every 100 ms (RecordAccumulator.shouldBackoff; rd_kafka_retry_msgq)."""
    sim = Simulation(seed=3)
    sim.create_topic("t", 1)
    refusals = {"left": 8}
    orig = sim.cluster.handle_produce

    def handle(req, broker, respond):
        if refusals["left"] > 0:
            refusals["left"] -= 1
            sim.kernel.schedule(0, respond, {"error": "NOT_ENOUGH_REPLICAS"})
            return
        orig(req, broker, respond)

    sim.cluster.handle_produce = handle
    p = sim.Producer({"client": client, "enable.idempotence": True, "linger.ms": 0})
    p.produce("t", value="x")
    assert p.flush(30) == 0
    sends = [ev["t"] for ev in sim.trace if ev["lane"] == p.lane
             and ev["kind"] in ("send", "retry")]
    gaps = [b - a for a, b in zip(sends, sends[1:], strict=False)]
    assert len(gaps) == 8
    assert 80 <= gaps[0] <= 125 and 160 <= gaps[1] <= 245 and 320 <= gaps[2] <= 485
    assert all(g <= 1005 for g in gaps) and gaps[-1] >= 795  # Java's jitter stays below
    assert [v for _, _, v in sim.read_all("t")] == ["x"]


# ---------------------------------------------------- committed() while offsets are unstable
@pytest.mark.parametrize("client, name, retriable", [("java", "REQUEST_TIMED_OUT", True),
                                                     ("librdkafka", "_TIMED_OUT", False)])
def test_committed_retries_unstable_offsets_until_its_timeout(client: str, name: str,
                                                              retriable: bool) -> None:
    """A transaction holds pending offsets for the partition: every OffsetFetch that
    requires stable offsets is answered UNSTABLE_OFFSET_COMMIT, which neither client hands
    to the application. Java retries with backoff while its timer runs
    (``ConsumerCoordinator.fetchCommittedOffsets``: ``timer.sleep(retryBackoff.backoff(
    attempts++))``) and then ``ClassicKafkaConsumer.committed`` throws TimeoutException
    (REQUEST_TIMED_OUT: "Timeout of 3000ms expired before the last committed offset ...").
    librdkafka retries the request (``rd_kafka_handle_OffsetFetch``: ``retry_unstable`` ->
    ``rd_kafka_buf_retry``) while ``rd_kafka_committed`` waits for the reply; at the timeout
    it returns ``_TIMED_OUT`` (confluent-kafka: "Failed to get committed offsets: Local:
    Timed out", not retriable). The real twins (stable-offsets, Kafka 4.1.1) got the same
    names. Once the transaction commits, committed() returns the offset."""
    sim = Simulation(seed=0)
    sim.create_topic("t", 1)
    sim.create_topic("out", 1)
    c = _consumer(sim, client, **{"isolation.level": "read_committed"})
    p = sim.Producer({"transactional.id": "tx"})
    p.init_transactions()
    p.begin_transaction()
    p.produce("out", value="x")
    p.send_offsets_to_transaction([TopicPartition("t", 0, 3)], c.consumer_group_metadata())
    t0 = sim.now
    with pytest.raises(KafkaException) as ei:
        c.committed([TP0], timeout=3.0)
    err = ei.value.error
    assert (err.name(), err.retriable()) == (name, retriable)
    assert sim.now - t0 == pytest.approx(3000)
    fetches = [ev for ev in sim.trace if ev["lane"] == c.lane
               and ev["label"] == "OffsetFetch: UNSTABLE_OFFSET_COMMIT, retrying"]
    assert 5 <= len(fetches) <= 7  # backoff 100, 200, 400, 800, 1000 (+-20%): not every 100 ms
    p.commit_transaction()
    sim.sleep(10)
    assert c.committed([TP0], timeout=3.0)[0].offset == 3


def test_librdkafka_committed_without_a_timeout_waits_for_the_transaction_to_end() -> None:
    """confluent-kafka's ``committed()`` default timeout is -1 (``Consumer_committed``:
    forever): the call waits until the pending offsets are settled, here by the
    coordinator aborting the stalled transaction after transaction.timeout.ms (5 s) at
    its next check (every 10 s, ``transaction.abort.timed.out.transaction.cleanup
    .interval.ms``). The Java client gives up at default.api.timeout.ms."""
    sim = Simulation(seed=0)
    sim.create_topic("t", 1)
    sim.create_topic("out", 1)
    c = _consumer(sim, "librdkafka", **{"isolation.level": "read_committed"})
    p = sim.Producer({"transactional.id": "tx", "transaction.timeout.ms": 5000})
    p.init_transactions()
    p.begin_transaction()
    p.produce("out", value="x")
    p.send_offsets_to_transaction([TopicPartition("t", 0, 3)], c.consumer_group_metadata())
    t0 = sim.now
    assert c.committed([TP0])[0].offset == -1001  # aborted: nothing committed
    assert 5000 <= sim.now - t0 <= 11_500


@pytest.mark.parametrize("client, name", [("librdkafka", "_MSG_TIMED_OUT"),
                                          ("java", "REQUEST_TIMED_OUT")])
def test_a_batch_past_its_delivery_timeout_fails_with_the_clients_timeout(client: str,
                                                                          name: str) -> None:
    """A batch refused until its delivery timeout passes fails: librdkafka reports
    ``_MSG_TIMED_OUT`` (message.timeout.ms); the Java client a TimeoutException ("Expiring 1
    record(s) for t-0: ... ms has passed since batch creation", ProducerBatch /
    Sender.failBatch), which the simulator names REQUEST_TIMED_OUT as it names every Java
    exception (errors.timed_out_name)."""
    from oracle_inject import push_errors

    sim = Simulation(seed=1)
    sim.create_topic("t", partitions=1)
    p = sim.Producer({"client": client, "delivery.timeout.ms": 3000, "request.timeout.ms": 1000,
                      "socket.timeout.ms": 1000, "linger.ms": 0, "retry.backoff.ms": 100})
    push_errors(sim, "Produce", *["NOT_ENOUGH_REPLICAS"] * 200)
    errs: list[Any] = []
    p.produce("t", value="a", on_delivery=lambda err, msg: errs.append(err))
    p.flush(10)
    assert len(errs) == 1 and errs[0] is not None and errs[0].name() == name
    if client == "java":
        assert "Expiring 1 record(s) for t-0" in errs[0].str() and errs[0].retriable()
    assert sim.read_all("t") == []
