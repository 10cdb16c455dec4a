"""Notebooks 13 and 14: librdkafka loses the record of the transaction after an abort that
purged a possibly-written retry (tests/test_rules_librdkafka_on_kafka.py, rule (a)); a new
producer after the abort does not.

``abort_transaction()`` purges the queued retry and moves librdkafka's sequence base past it
(``rd_kafka_toppar_purge_queues``, src/rdkafka_partition.c, "ADVBASE") without an epoch bump,
so the next transaction's first record takes the purged record's sequence and the broker
acknowledges it as a duplicate of the aborted write. A new producer with the same
``transactional.id`` gets a new epoch from ``init_transactions()`` (InitProducerId, KIP-98),
and a new epoch starts its sequences afresh on the broker: the record is written and
committed. The ``broker`` test runs the same on the session's real Kafka broker.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_rules_librdkafka_on_kafka import REAL_TXN_CONF, _dr, _read, lose_first_answer

from eoslib import Simulation


def test_sim_a_new_producer_after_the_abort_commits_the_next_record() -> None:
    sim = Simulation(seed=1)
    sim.create_topic("t", partitions=1)
    conf = {"transactional.id": "tx", "socket.timeout.ms": 1000, "linger.ms": 0,
            "retry.backoff.ms": 8000, "retry.backoff.max.ms": 8000}
    p = sim.Producer(conf)
    p.init_transactions()
    p.begin_transaction()
    inj, orig = sim.injector, sim.injector.decide
    inj.decide = lambda api: (False, True, 0.0) if api == "produce" else orig(api)
    drs: list[tuple[str, int, str | None]] = []
    p.produce("t", value="a", on_delivery=_dr(drs))
    sim.sleep(1050)  # its answer was lost: timed out, the retry backs off ~8 s
    inj.decide = orig
    p.abort_transaction()
    p.poll(0)
    p.close()
    fresh = sim.Producer(conf)
    fresh.init_transactions()
    assert fresh.epoch == p.epoch + 1  # InitProducerId bumped the epoch
    fresh.begin_transaction()
    fresh.produce("t", value="b", on_delivery=_dr(drs))
    fresh.commit_transaction()
    fresh.poll(0)
    assert drs == [("a", -1, "_PURGE_QUEUE"), ("b", 2, None)]  # after "a" and its ABORT
    assert [v for _, _, v in sim.read_all("t")] == ["b"]


@pytest.mark.broker
def test_real_a_new_producer_after_the_abort_commits_the_next_record(kafka: Any) -> None:
    from confluent_kafka import Producer

    cluster = kafka.cluster
    drs: list[tuple[str, int, str | None]] = []
    with kafka.proxied_topics("n") as (pre, (topic,), proxy):
        conf = {**cluster.base(via_proxy=True), "transactional.id": f"{pre}tx",
                **REAL_TXN_CONF}
        p = Producer(conf)
        p.init_transactions(30)
        p.begin_transaction()
        lose_first_answer(proxy, p, topic, drs)
        p.poll(1.0)  # the cut fails the request; its retry backs off ~3 s
        p.abort_transaction(30)
        p.poll(0)
        del p  # destroyed; the new producer's init_transactions bumps the epoch
        fresh = Producer(conf)
        fresh.init_transactions(30)
        fresh.begin_transaction()
        fresh.produce(topic, value=b"b", on_delivery=_dr(drs))
        fresh.commit_transaction(30)
        fresh.poll(0)
        committed, everything, _ = _read(cluster, topic)
    assert proxy.dropped == 1
    assert [(v, err) for v, _, err in drs] == [("a", "_PURGE_QUEUE"), ("b", None)]
    assert [v for _, v in committed] == ["b"]
    assert [v for _, v in everything] == ["a", "b"]
