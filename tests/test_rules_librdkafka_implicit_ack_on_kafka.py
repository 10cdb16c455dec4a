"""librdkafka's implicit ack of a refused first request, on a real broker and in the simulator.

An idempotent (not transactional) librdkafka producer sends R1 ("a", sequence 0), its first
request to a partition, then R2 ("b", sequence 1) while R1 is in flight. R1 is refused
NOT_ENOUGH_REPLICAS (retriable, nothing appended: ``rd_kafka_handle_Produce_error``, actions
Retry,MsgNotPersisted). R2 is appended: the broker has no state for the producer on that
partition and takes any first sequence (Kafka ``ProducerAppendInfo.checkSequence``). R2's
success acks every earlier message (``rd_kafka_handle_idempotent_Produce_success`` ->
``rd_kafka_dr_implicit_ack``, src/rdkafka_broker.c), whatever R1's error was: "a" is reported
delivered, with no offset, and is in no log.

Real run (2026-12-06, Kafka 4.1.1, confluent-kafka 2.16.2 / librdkafka 2.16.0, Produce v10):
librdkafka logged "MessageSet with 1 message(s) (MsgId 1, BaseSeq 0) encountered error:
Broker: Not enough in-sync replicas (actions Retry,MsgNotPersisted)" then "1 message(s)
implicitly acked by subsequent batch success (msgids 1..1, last acked 2)"; delivery reports
"a" (no error, offset None) and "b" (offset 0); the partition holds "b" alone (high
watermark 1), written with epoch 0, sequence 1; "a" was never sent again. The simulator
says the same (tests/test_rules_librdkafka_out_of_order.py has the rule; the checker counts
such a message lost). The refusal comes from the proxy (:meth:`FaultProxy.refuse_produce`):
one broker cannot refuse NOT_ENOUGH_REPLICAS (``Partition.effectiveMinIsr`` caps
``min.insync.replicas`` at the replica count).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from oracle_inject import push_errors
from test_rules_librdkafka_on_kafka import _read

from eoslib import Simulation

CONF = {"enable.idempotence": True, "linger.ms": 0,
        "max.in.flight.requests.per.connection": 5, "message.timeout.ms": 10000}

#: what real librdkafka did (module docstring), and what the simulator must say:
#: delivery reports (value, offset or None, error name or None) in the order reported,
#: the partition's records, and its batches (epoch, base sequence, records)
EXPECTED = {
    "reports": [("w", 0, None), ("a", None, None), ("b", 0, None)],
    "log": ["b"],
    "appended": [(0, 1, 1)],
}


def _dr(out: list[tuple[str, int | None, str | None]]) -> Any:
    def cb(err: Any, msg: Any) -> None:
        v, off = msg.value(), msg.offset()
        out.append((v.decode() if isinstance(v, bytes) else v,
                    None if off is None or off < 0 else off, err.name() if err else None))
    return cb


def _steps(p: Any, topic: str, warm: str, refuse_next: Any, r1_sent: Any) -> list[Any]:
    """Warm up (producer id, connection) on another topic, refuse the next Produce, send
    "a" (R1) and, once R1 is on its way, "b" (R2); flush."""
    drs: list[tuple[str, int | None, str | None]] = []
    p.produce(warm, value="w", on_delivery=_dr(drs))
    assert p.flush(10) == 0
    refuse_next()
    p.produce(topic, value="a", on_delivery=_dr(drs))
    r1_sent()
    p.produce(topic, value="b", on_delivery=_dr(drs))
    assert p.flush(10) == 0
    return drs


def _sim() -> tuple[dict[str, Any], Any]:
    sim = Simulation(seed=0)
    sim.create_topic("w", 1)
    sim.create_topic("t", 1)
    p = sim.Producer(CONF)
    drs = _steps(p, "t", "w", lambda: push_errors(sim, "Produce", "NOT_ENOUGH_REPLICAS"),
                 lambda: sim.sleep(0.5))
    log = sim.cluster.partition("t", 0).log
    return {"reports": drs, "log": [v for b in log for _, v in b.records],
            "appended": [(b.epoch, b.base_seq, len(b.records)) for b in log]}, p


def test_sim_reports_the_refused_first_request_delivered_and_loses_it() -> None:
    outcome, p = _sim()
    assert outcome == EXPECTED
    assert p.stats["retries"] == 0 and p.epoch == 0  # "a" never sent again, no bump


@pytest.mark.broker
def test_real_librdkafka_reports_the_refused_first_request_delivered(kafka: Any) -> None:
    from confluent_kafka import Producer

    cluster = kafka.cluster
    with kafka.proxied_topics("ia", "iw") as (_, (topic, warm), proxy):
        p = Producer({**cluster.base(via_proxy=True), **CONF})

        def r1_sent() -> None:  # R1 reached the proxy; its answer waits for R2
            deadline = time.monotonic() + 10
            while proxy.stats.refused == 0 and time.monotonic() < deadline:
                p.poll(0.01)

        drs = _steps(p, topic, warm, lambda: proxy.refuse_produce(1, wait=10.0), r1_sent)
        sent = [b for b in proxy.stats.produce_batches if b["topic"] == topic]
        _, everything, end = _read(cluster, topic)
    real = {"reports": drs, "log": [v for _, v in everything],
            "appended": [(b["epoch"], b["base_seq"], b["records"]) for b in sent
                         if not b["refused"]]}
    assert proxy.stats.refused == 1 and proxy.stats.not_refused == []
    # R1 ("a", sequence 0) refused, R2 ("b", sequence 1) appended, nothing sent again
    assert [(b["base_seq"], b["refused"]) for b in sent] == [(0, True), (1, False)]
    assert end == 1
    assert real == EXPECTED
    assert real == _sim()[0]  # the simulator agrees
