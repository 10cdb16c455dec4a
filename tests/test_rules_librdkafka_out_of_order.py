"""librdkafka's idempotent producer after OUT_OF_ORDER_SEQUENCE_NUMBER, and its implicit acks.

Sources (confluentinc/librdkafka master): src/rdkafka_request.c
``rd_kafka_handle_idempotent_Produce_error`` compares the failed request's first sequence
with the partition's next expected ack, ``r = batch->first_seq - next_ack_seq``: r == 0 (the
head-of-line request, "sequence desynchronization with broker") and r < 0 ("rewound
sequence number") raise a fatal error (``rd_kafka_idemp_set_fatal_error``); r > 0 ("skipped
sequence numbers", a later request failed because an earlier one did) re-enqueues the
messages without counting a retry and bumps the epoch once nothing is in flight
(``rd_kafka_idemp_drain_epoch_bump``; src/rdkafka_idempotence.c ``rd_kafka_idemp_drain_done``:
"The idempotent producer can bump its own epoch"). ``rd_kafka_handle_idempotent_Produce_
success``: when a request is acked while earlier messages are not ("R1 fail with uncertain
persistence status ... but R2 succeeded, which means the messages in R1 were in fact
persisted"), ``rd_kafka_dr_implicit_ack`` (src/rdkafka_broker.c) reports every earlier
queued message delivered, whatever R1's error was. A fatal error (src/rdkafka.c
``rd_kafka_set_fatal_error0``) purges the queues and ``produce()`` then fails with _FATAL
(src/rdkafka_msg.c ``rd_kafka_check_produce``); nothing more is sent
(``rd_kafka_toppar_producer_serve``). The broker takes any first sequence from a producer
it has no state for (Kafka ``ProducerAppendInfo.checkSequence``: "accept writes with any
sequence number").
"""

from __future__ import annotations

import pytest
from oracle_inject import error_of, push_errors

from eoslib import Simulation
from eoslib.scenarios import run_scenario


def _setup(**conf):
    sim = Simulation(seed=0)
    sim.create_topic("t", 1)
    p = sim.Producer({"enable.idempotence": True, "linger.ms": 0,
                      "max.in.flight.requests.per.connection": 5, **conf})
    reports: list[tuple[str | None, object, int]] = []

    def dr(err, msg):
        reports.append((err.name() if err else None, msg.value(), msg.offset()))

    return sim, p, reports, dr


def _log(sim):
    return [v for b in sim.cluster.partition("t", 0).log for _, v in b.records]


def _labels(sim, lane):
    return [e["label"] for e in sim.kernel.trace if e["lane"] == lane]


def test_implicit_ack_reports_a_refused_first_request_delivered():
    """R1 (the producer's first request to the partition) is refused NOT_ENOUGH_REPLICAS
    (retriable, not persisted); R2, already in flight, is appended: the broker has no state
    for the producer, so it takes sequence 1. R2's ack implicitly acks R1's message, which
    is reported delivered (no offset) and is in no log: lost, by librdkafka's own rule."""
    sim, p, reports, dr = _setup()
    sim.sleep(5)  # the producer id first
    push_errors(sim, "Produce", "NOT_ENOUGH_REPLICAS")
    p.produce("t", value="a", on_delivery=dr)
    sim.sleep(0.5)
    p.produce("t", value="b", on_delivery=dr)
    assert p.flush(5) == 0
    assert _log(sim) == ["b"]
    assert (None, "a", -1) in reports and (None, "b", 0) in reports
    assert p.stats["retries"] == 0  # R1's messages left the queue before their retry
    assert any("implicitly acked" in x for x in _labels(sim, p.name))


def test_skipped_sequence_r_positive_retries_and_bumps_the_epoch():
    """r > 0: R1 refused, R2 answered OUT_OF_ORDER_SEQUENCE_NUMBER (the broker expected R1's
    sequence). Not fatal: R2 is re-enqueued, the epoch is bumped once both answers are in,
    and both records are written in order under the new epoch from sequence 0."""
    sim, p, reports, dr = _setup()
    p.produce("t", value="a", on_delivery=dr)
    assert p.flush(5) == 0 and p.epoch == 0
    push_errors(sim, "Produce", "NOT_ENOUGH_REPLICAS")
    p.produce("t", value="b", on_delivery=dr)
    sim.sleep(0.5)
    p.produce("t", value="c", on_delivery=dr)
    assert p.flush(5) == 0
    assert _log(sim) == ["a", "b", "c"]
    assert [r[0] for r in reports] == [None, None, None]
    assert p.epoch == 1 and p.txn_state != "FATAL_ERROR"
    batches = sim.cluster.partition("t", 0).log
    assert [(x.epoch, x.base_seq) for x in batches] == [(0, 0), (1, 0), (1, 1)]
    assert any("bumped own epoch to 1" in x for x in _labels(sim, p.name))


def test_head_of_line_out_of_order_is_fatal():
    """r == 0: the head-of-line request itself gets OUT_OF_ORDER_SEQUENCE_NUMBER: a fatal
    error. Its message fails (possibly persisted), and produce() then raises _FATAL."""
    sim, p, reports, dr = _setup()
    p.produce("t", value="a", on_delivery=dr)
    assert p.flush(5) == 0
    push_errors(sim, "Produce", "OUT_OF_ORDER_SEQUENCE_NUMBER")
    p.produce("t", value="b", on_delivery=dr)
    assert p.flush(5) == 0
    assert reports[-1][:2] == ("OUT_OF_ORDER_SEQUENCE_NUMBER", "b")
    err = error_of(lambda: p.produce("t", value="c"))
    assert err is not None and err.name() == "_FATAL" and err.fatal()
    assert "desynchronization" in err.str()
    assert _log(sim) == ["a"]


def test_rewound_sequence_r_negative_is_fatal():
    """r < 0: a request whose sequence is below the next expected ack gets
    OUT_OF_ORDER_SEQUENCE_NUMBER ("rewound sequence number"): fatal too. librdkafka: "this
    should never happen unless we have local bug or the broker did not respond to the
    requests in order"; the simulated broker answers a connection's requests in order, so
    the test puts the producer in the state an out-of-order answer would leave (sequences
    up to 5 acknowledged) before its request with sequence 1 is refused."""
    sim, p, reports, dr = _setup()
    p.produce("t", value="a", on_delivery=dr)
    assert p.flush(5) == 0
    p._last_acked_seq[("t", 0)] = 5  # next expected ack: 6
    push_errors(sim, "Produce", "OUT_OF_ORDER_SEQUENCE_NUMBER")
    p.produce("t", value="b", on_delivery=dr)
    assert p.flush(5) == 0
    assert reports[-1][:2] == ("OUT_OF_ORDER_SEQUENCE_NUMBER", "b")
    err = error_of(lambda: p.produce("t", value="c"))
    assert err is not None and err.name() == "_FATAL" and "rewound" in err.str()


def test_after_a_fatal_error_queued_messages_are_purged_and_nothing_is_sent():
    """``rd_kafka_set_fatal_error0`` purges the queue (_PURGE_QUEUE) but not what is in
    flight; ``rd_kafka_toppar_producer_serve`` sends nothing more."""
    sim, p, reports, dr = _setup(**{"max.in.flight.requests.per.connection": 1})
    p.produce("t", value="a", on_delivery=dr)
    assert p.flush(5) == 0
    push_errors(sim, "Produce", "OUT_OF_ORDER_SEQUENCE_NUMBER")
    p.produce("t", value="b", on_delivery=dr)
    sim.sleep(0.5)
    p.produce("t", value="c", on_delivery=dr)  # queued behind b (one in flight)
    assert p.flush(5) == 0
    assert [r[:2] for r in reports[1:]] == [("OUT_OF_ORDER_SEQUENCE_NUMBER", "b"),
                                            ("_PURGE_QUEUE", "c")]
    assert _log(sim) == ["a"]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_reorder_idempotent_no_longer_retries_until_message_timeout(seed):
    """The ``reorder`` scenario, idempotent, librdkafka: the stall of ~300 retries of one
    batch until message.timeout.ms (a refused first request whose retry met
    OUT_OF_ORDER_SEQUENCE_NUMBER forever) is gone: the first request's messages are
    implicitly acked by the next request's ack."""
    r = run_scenario("reorder", seed=seed, config={"enable.idempotence": True},
                     faults={"error_prob": 0.3})
    assert r.counts["retries"] < 20 and r.counts["virtual_ms"] < 10_000
    assert r.counts["duplicates"] == 0 and r.counts["reordered"] == 0
