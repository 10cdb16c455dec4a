"""How each client re-sends after a failed produce request, and what a request timeout does
to the other requests on the connection.

Sources (librdkafka, confluentinc/librdkafka master): src/rdkafka_request.c
``rd_kafka_handle_Produce_error`` (a retriable error moves the request's messages back to
the partition queue: ``rd_kafka_toppar_retry_msgq``), src/rdkafka_partition.c
``rd_kafka_retry_msgq`` (per-message retry count and backoff, one jitter per failed request,
``rd_kafka_msgq_insert_msgq`` at the messages' sorted position), src/rdkafka_msgset_writer.c
``rd_kafka_msgset_writer_write_msgq`` (the next MessageSet is built from the queue up to
``batch.num.messages``/``batch.size``, stopping at a message still backing off; an
idempotent retry keeps its exact span: "When reconstructing a batch to retry make sure the
original message sequence span matches"), src/rdkafka_broker.c
``rd_kafka_broker_timeout_scan`` ("%i request(s) timed out: disconnect" once
``socket.max.fails`` = 1 is reached; ``rd_kafka_broker_fail`` then fails every request in
flight). Java (apache/kafka): ``NetworkClient.handleTimedOutRequests`` (close the connection,
``processTimeoutDisconnection`` cancels every in-flight request to the node),
``Sender.handleProduceResponse`` (``wasTimedOut``: each batch completes with
REQUEST_TIMED_OUT) and ``Sender.completeBatch`` -> ``reenqueueBatch`` (each batch retried as
it was; the Java producer never merges batches on retry).
"""

from __future__ import annotations

import pytest

from eoslib import Simulation
from eoslib.scenarios import run_scenario


def _sends(sim: Simulation, lane: str) -> list[tuple[str, list[str]]]:
    return [(ev["kind"], ev["data"]["values"]) for ev in sim.trace
            if ev["lane"] == lane and ev["kind"] in ("send", "retry")]


def _refuse_first_produce(sim: Simulation, error: str = "NOT_ENOUGH_REPLICAS") -> None:
    orig = sim.cluster.handle_produce
    left = {"n": 1}

    def handle(req, broker, respond):
        if left["n"]:
            left["n"] -= 1
            sim.kernel.schedule(0, respond, {"error": error})
            return
        orig(req, broker, respond)

    sim.cluster.handle_produce = handle


@pytest.mark.parametrize("client", ["librdkafka", "java"])
def test_a_refused_batch_is_retried_with_the_records_queued_behind_it(client: str) -> None:
    """m0 is refused (NOT_ENOUGH_REPLICAS: retriable, not persisted); m1..m4 are produced
    during its backoff and wait behind it (neither client lets a partition's later records
    overtake a retry). librdkafka puts m0 back at the head of the partition queue and builds
    the next MessageSet from that queue: one request carries m0..m4. Java re-enqueues the
    batch as it was (``reenqueueBatch``): m0 alone, then m1..m4 in their own batch."""
    sim = Simulation(seed=1)
    sim.create_topic("t", 1)
    _refuse_first_produce(sim)
    p = sim.Producer({"client": client, "enable.idempotence": False, "linger.ms": 0,
                      "max.in.flight.requests.per.connection": 5})
    p.produce("t", value="m0")
    sim.sleep(10)  # m0 was refused; it backs off ~100 ms
    for i in range(1, 5):
        p.produce("t", value=f"m{i}")
        sim.sleep(5)
    assert p.flush(10) == 0
    expected = {"librdkafka": [("send", ["m0"]), ("retry", ["m0", "m1", "m2", "m3", "m4"])],
                "java": [("send", ["m0"]), ("retry", ["m0"]),
                         ("send", ["m1", "m2", "m3", "m4"])]}
    assert _sends(sim, p.lane) == expected[client]
    assert [v for _, _, v in sim.read_all("t")] == ["m0", "m1", "m2", "m3", "m4"]


@pytest.mark.parametrize("client", ["librdkafka", "java"])
def test_a_request_timeout_fails_every_request_in_flight_on_the_connection(client: str
                                                                           ) -> None:
    """The answer to the first of 8 one-record requests is lost. At its timeout the client
    drops the connection (librdkafka ``socket.max.fails``=1: "request(s) timed out:
    disconnect"; Java ``NetworkClient.handleTimedOutRequests``): all 8 fail at that same
    moment, although the broker answered the 7 others. librdkafka re-sends the 8 records in
    fewer requests (re-batched, grouped by each failed request's jittered backoff), in
    order; Java re-sends each batch on its own."""
    sim = Simulation(seed=2, faults={"drop": ["produce.response.1"]})
    sim.create_topic("t", 1)
    p = sim.Producer({"client": client, "enable.idempotence": False, "linger.ms": 0,
                      "socket.timeout.ms": 1000, "request.timeout.ms": 1000,
                      "delivery.timeout.ms": 30000, "max.in.flight.requests.per.connection": 8})
    vals = [f"m{i}" for i in range(8)]
    for v in vals:
        p.produce("t", value=v)
        sim.sleep(10)
    assert p.flush(30) == 0
    timeouts = [ev["t"] for ev in sim.trace if ev["lane"] == p.lane and ev["kind"] == "timeout"]
    assert len(timeouts) == 8 and len(set(timeouts)) == 1  # one disconnect fails all 8
    retries = [values for kind, values in _sends(sim, p.lane) if kind == "retry"]
    assert [v for values in retries for v in values] == vals  # every record once, in order
    if client == "librdkafka":
        assert 1 <= len(retries) < 8 and max(len(r) for r in retries) > 1
    else:
        assert retries == [[v] for v in vals]
    log = [v for _, _, v in sim.read_all("t")]
    assert log == vals + vals  # the broker had appended all 8: each is now there twice


def test_librdkafka_counts_retries_per_message() -> None:
    """``rd_kafka_retry_msgq``: a message whose retries would exceed ``retries``
    (message.send.max.retries) fails; the others of the same request are retried. m0 was
    refused once already (retries=1 used up) when it is re-sent together with the new m1;
    that request is refused too: m0 fails, m1 is retried and delivered."""
    sim = Simulation(seed=1)
    sim.create_topic("t", 1)
    orig = sim.cluster.handle_produce
    left = {"n": 2}

    def handle(req, broker, respond):
        if left["n"]:
            left["n"] -= 1
            sim.kernel.schedule(0, respond, {"error": "NOT_ENOUGH_REPLICAS"})
            return
        orig(req, broker, respond)

    sim.cluster.handle_produce = handle
    p = sim.Producer({"enable.idempotence": False, "linger.ms": 0, "retries": 1})
    got: dict[str, str | None] = {}
    cb = lambda err, msg: got.__setitem__(msg.value(), err and err.name())  # noqa: E731
    p.produce("t", value="m0", on_delivery=cb)
    sim.sleep(10)
    p.produce("t", value="m1", on_delivery=cb)
    p.flush(10)
    assert _sends(sim, p.lane) == [("send", ["m0"]), ("retry", ["m0", "m1"]), ("retry", ["m1"])]
    assert got == {"m0": "NOT_ENOUGH_REPLICAS", "m1": None}


def test_librdkafka_idempotent_retry_keeps_its_span_new_records_wait() -> None:
    """The idempotent producer re-sends a failed batch with exactly its records and
    sequence (the writer stops at the stored last msgid): records produced meanwhile go in
    the next request, with the next sequence."""
    sim = Simulation(seed=1)
    sim.create_topic("t", 1)
    sim.sleep(5)  # the producer id first
    _refuse_first_produce(sim)
    p = sim.Producer({"enable.idempotence": True, "linger.ms": 0})
    sim.sleep(5)
    p.produce("t", value="m0")
    sim.sleep(10)
    p.produce("t", value="m1")
    p.produce("t", value="m2")
    assert p.flush(10) == 0
    sends = [(ev["kind"], ev["data"]["values"], ev["data"]["seq"]) for ev in sim.trace
             if ev["lane"] == p.lane and ev["kind"] in ("send", "retry")]
    assert sends == [("send", ["m0"], 0), ("retry", ["m0"], 0), ("send", ["m1", "m2"], 1)]


def test_librdkafka_fills_a_message_set_up_to_batch_num_messages() -> None:
    """``batch.num.messages`` caps a MessageSet (``msetw_msgcntmax``); a re-batched retry
    is split there and the rest follows in the next request."""
    sim = Simulation(seed=1)
    sim.create_topic("t", 1)
    _refuse_first_produce(sim)
    p = sim.Producer({"enable.idempotence": False, "linger.ms": 0, "batch.num.messages": 3})
    p.produce("t", value="m0")
    sim.sleep(10)
    for i in range(1, 6):
        p.produce("t", value=f"m{i}")
    assert p.flush(10) == 0
    assert _sends(sim, p.lane) == [("send", ["m0"]), ("retry", ["m0", "m1", "m2"]),
                                   ("send", ["m3", "m4", "m5"])]


def test_the_non_idempotent_retry_run_of_notebook_01() -> None:
    """``producer-retry`` seed 1, 100 messages, response_loss 0.1, no idempotence, each
    client's default in-flight limit. librdkafka: the first lost answer stalls the
    connection until socket.timeout.ms; the disconnect fails all ~100 requests in flight
    and their records go back out in a few re-batched requests (was: 1,071 one-record
    retries). Java (5 in flight, 16 KB batches): its batches retried one by one."""
    counts = {}
    for client in ("librdkafka", "java"):
        r = run_scenario("producer-retry", seed=1, messages=100,
                         config={"client": client, "enable.idempotence": False},
                         faults={"response_loss": 0.1})
        counts[client] = (r.counts["retries"], r.counts["duplicates"], r.counts["lost"])
    assert counts == {"librdkafka": (3, 100, 0), "java": (17, 203, 0)}
