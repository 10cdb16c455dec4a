"""Notebook 13's caveat: the loss of rule (a) needs the abort to purge a retry whose message
has NOT timed out yet. When the possibly-appended message times out first, librdkafka asks
for an epoch bump ("Message timeouts will lead to gaps in the message sequence",
``rd_kafka_broker_produce_toppar`` -> ``rd_kafka_idemp_drain_epoch_bump``,
src/rdkafka_broker.c): the commit fails abortable (_TIMED_OUT), the abort bumps the epoch
and the next transaction's record is written and committed. The simulator and, in the
``broker`` test, the session's real Kafka broker with confluent-kafka (librdkafka); the first
real run (2026-12-06, Kafka 4.1.1, librdkafka 2.16): commit failed _TIMED_OUT (abortable,
"requires epoch bump"), "a" reported _MSG_TIMED_OUT, "b" committed at offset 2.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from test_rules_librdkafka_on_kafka import _dr, _read, lose_first_answer

from eoslib import Simulation

CONF = {"linger.ms": 0, "retry.backoff.ms": 10000, "retry.backoff.max.ms": 10000,
        "message.timeout.ms": 4000, "transaction.timeout.ms": 30000}


def _commit_or_abort(p: Any) -> tuple[Any, ...]:
    try:
        p.commit_transaction(30)
        return ("committed",)
    except Exception as e:  # eoslib's or confluent-kafka's KafkaException
        err = e.args[0]
        p.abort_transaction(30)
        return (err.name(), err.txn_requires_abort())


def test_sim_a_timed_out_retry_bumps_the_epoch_and_nothing_is_lost() -> None:
    sim = Simulation(seed=1)
    sim.create_topic("t", partitions=1)
    p = sim.Producer({**CONF, "transactional.id": "tx", "socket.timeout.ms": 1000})
    p.init_transactions()
    p.begin_transaction()
    inj, orig = sim.injector, sim.injector.decide
    inj.decide = lambda api: (False, True, 0.0) if api == "produce" else orig(api)
    drs: list[tuple[str, int, str | None]] = []
    p.produce("t", value="a", on_delivery=_dr(drs))
    sim.sleep(1050)  # its answer was lost: timed out, the retry backs off 10 s
    inj.decide = orig
    sim.sleep(5000)  # past message.timeout.ms (4 s), before the retry
    first = _commit_or_abort(p)
    p.begin_transaction()
    p.produce("t", value="b", on_delivery=_dr(drs))
    p.commit_transaction()
    p.poll(0)
    # abortable _TIMED_OUT (the code librdkafka passes to rd_kafka_idemp_drain_epoch_bump),
    # as on the real broker below, and the abort bumped the epoch
    assert first == ("_TIMED_OUT", True) and p.epoch == 1
    assert drs == [("a", -1, "_MSG_TIMED_OUT"), ("b", 2, None)]
    assert [v for _, _, v in sim.read_all("t")] == ["b"]


@pytest.mark.broker
def test_real_a_timed_out_retry_bumps_the_epoch_and_nothing_is_lost(kafka: Any) -> None:
    from confluent_kafka import Producer

    cluster = kafka.cluster
    drs: list[tuple[str, int, str | None]] = []
    with kafka.proxied_topics("m") as (pre, (topic,), proxy):
        p = Producer({**cluster.base(via_proxy=True), **CONF,
                      "transactional.id": f"{pre}tx", "socket.timeout.ms": 5000})
        p.init_transactions(30)
        p.begin_transaction()
        lose_first_answer(proxy, p, topic, drs)
        end = time.monotonic() + 6  # past message.timeout.ms (4 s), before the retry
        while time.monotonic() < end:
            p.poll(0.2)
        first = _commit_or_abort(p)
        p.begin_transaction()
        p.produce(topic, value=b"b", on_delivery=_dr(drs))
        p.commit_transaction(30)
        p.poll(0)
        committed, everything, _ = _read(cluster, topic)
    assert proxy.dropped == 1
    assert first == ("_TIMED_OUT", True)  # "1 message(s) timed out ... requires epoch bump"
    assert [(v, err) for v, _, err in drs] == [("a", "_MSG_TIMED_OUT"), ("b", None)]
    assert [v for _, v in committed] == ["b"]
    assert [v for _, v in everything] == ["a", "b"]
