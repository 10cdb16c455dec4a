"""Two librdkafka transactional-producer rules read from its source, then checked on a real
Kafka 4.1.1 broker with confluent-kafka 2.16 (librdkafka 2.16) and made the simulator's rule.

(a) Purged retry, reused sequence. ``abort_transaction()`` purges the queued messages and
    advances the partition's epoch base msgid past them (``rd_kafka_toppar_purge_queues``,
    src/rdkafka_partition.c, debug "ADVBASE"), without an epoch bump: the next transaction's
    first record takes the first purged message's sequence. When that purged message was a
    retry whose first attempt had been appended, the broker takes the new record for a
    duplicate (``ProducerStateEntry.findDuplicateBatch``) and acknowledges it at the aborted
    record's offset: the delivery report says success, the commit succeeds, and the record
    is in no log. Real run (2026-12-06, twice): "a" lost its answer (proxy), its retry was
    purged (_PURGE_QUEUE), "b" was reported delivered at offset 0, the log held "a" (aborted)
    and two markers, a read_committed reader got nothing. (The simulator used to bump the
    epoch here instead, a guess; Kafka wins.)
(b) Plain abortable produce error. A produce refused for good (here MSG_SIZE_TOO_LARGE:
    ``rd_kafka_handle_Produce_error`` -> ``rd_kafka_txn_set_abortable_error``, no bump) leaves
    its sequence used; the abort sends only EndTxn, so the next transaction's record skips a
    sequence: OUT_OF_ORDER_SEQUENCE_NUMBER, "skipped sequence numbers"
    (``rd_kafka_handle_idempotent_Produce_error``, r > 0: re-enqueued, drain, epoch bump,
    abortable); its abort purges the record (_PURGE_QUEUE) and bumps the epoch
    (InitProducerId); the third transaction commits.

The ``broker`` tests re-run both on the session's real broker.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from oracle_inject import push_errors

from eoslib import Simulation

# ------------------------------------------------------------------------- the simulator


def _dr(out: list[tuple[str, int, str | None]]) -> Any:
    def cb(err: Any, msg: Any) -> None:
        v = msg.value()
        out.append(((v.decode() if isinstance(v, bytes) else v)[:3], msg.offset(),
                    err.name() if err else None))
    return cb


#: the transactional producer of the lost-answer tests on the real broker: a 5 s request
#: timeout, a 3 s retry backoff, transaction and message timeouts far away
REAL_TXN_CONF = {"linger.ms": 0, "socket.timeout.ms": 5000, "retry.backoff.ms": 3000,
                 "retry.backoff.max.ms": 3000, "transaction.timeout.ms": 30000,
                 "message.timeout.ms": 30000}


def lose_first_answer(proxy: Any, p: Any, topic: str,
                      drs: list[tuple[str, int, str | None]]) -> None:
    """Produce "a" through ``proxy`` with its answer swallowed and the connection cut (the
    broker appended it); return once the proxy has dropped the answer."""
    proxy.drop_produce_response(1)
    p.produce(topic, value=b"a", on_delivery=_dr(drs))
    deadline = time.monotonic() + 10
    while proxy.dropped == 0 and time.monotonic() < deadline:
        p.poll(0.1)


def test_a_sim_the_next_record_reuses_a_purged_retrys_sequence_and_is_lost() -> None:
    sim = Simulation(seed=1)
    sim.create_topic("t", partitions=1)
    p = sim.Producer({"transactional.id": "tx", "socket.timeout.ms": 1000, "linger.ms": 0,
                      "retry.backoff.ms": 8000, "retry.backoff.max.ms": 8000})
    p.init_transactions()
    p.begin_transaction()
    inj, orig = sim.injector, sim.injector.decide
    inj.decide = lambda api: (False, True, 0.0) if api == "produce" else orig(api)
    drs: list[tuple[str, int, str | None]] = []
    p.produce("t", value="a", on_delivery=_dr(drs))
    sim.sleep(1050)  # its answer was lost: timed out, the retry backs off ~8 s
    inj.decide = orig
    epoch = p.epoch
    p.abort_transaction()
    assert p.epoch == epoch  # no bump
    p.begin_transaction()
    p.produce("t", value="b", on_delivery=_dr(drs))
    p.commit_transaction()
    p.poll(0)
    assert drs == [("a", -1, "_PURGE_QUEUE"), ("b", 0, None)]  # b "delivered" at a's offset
    assert sim.read_all("t") == []  # read_committed: nothing
    part = sim.cluster.partition("t", 0)
    data = [(b.base_offset, v) for b in part.log if b.control is None for _, v in b.records]
    assert data == [(0, "a")] and part.leo == 3  # "a" (aborted) + the two markers


def test_b_sim_after_a_plain_abortable_error_the_next_transaction_fails_once() -> None:
    drs, commits = _run_b_sim()
    assert drs == [("a", 0, None), ("xxx", -1, "MSG_SIZE_TOO_LARGE"), ("d", -1, "_PURGE_QUEUE"),
                   ("e", 3, None)]
    assert commits == [("commit1", "MSG_SIZE_TOO_LARGE", True, False),
                       ("commit2", "OUT_OF_ORDER_SEQUENCE_NUMBER", True, False),
                       ("commit3", None)]


def _run_b_sim() -> tuple[list, list]:
    sim = Simulation(seed=0)
    sim.create_topic("t", 1)
    p = sim.Producer({"transactional.id": "txb", "linger.ms": 0})

    def big() -> None:
        push_errors(sim, "Produce", "MSG_SIZE_TOO_LARGE")

    drs, commits = _scenario_b(p, "t", big, lambda v: v)
    assert p.epoch == 1 and [v for _, _, v in sim.read_all("t")] == ["e"]
    return drs, commits


def _scenario_b(p: Any, topic: str, before_big: Any, value: Any) -> tuple[list, list]:
    """Transaction 1: "a", then a record the broker refuses (MSG_SIZE_TOO_LARGE); abort.
    Transactions 2 and 3: one record each, commit (abort on an abortable error)."""
    drs: list[tuple[str, int, str | None]] = []
    commits: list[tuple[Any, ...]] = []
    p.init_transactions(30)
    p.begin_transaction()
    p.produce(topic, value=value("a"), on_delivery=_dr(drs))
    p.flush(10)
    before_big()
    p.produce(topic, value=value("x" * 5000), on_delivery=_dr(drs))
    p.flush(10)
    for n, v in ((1, None), (2, "d"), (3, "e")):
        if v is not None:
            p.begin_transaction()
            p.produce(topic, value=value(v), on_delivery=_dr(drs))
        try:
            p.commit_transaction(30)
            commits.append((f"commit{n}", None))
        except Exception as e:  # eoslib's or confluent-kafka's KafkaException
            if not e.args or not hasattr(e.args[0], "txn_requires_abort"):
                raise
            err = e.args[0]
            commits.append((f"commit{n}", err.name(), err.txn_requires_abort(), err.fatal()))
            p.abort_transaction(30)
    p.poll(0)
    return drs, commits


# ---------------------------------------------------------------------- the real broker


@pytest.mark.broker
def test_a_real_librdkafka_loses_the_record_that_reuses_a_purged_retrys_sequence(
        kafka: Any) -> None:
    from confluent_kafka import Producer

    cluster = kafka.cluster
    drs: list[tuple[str, int, str | None]] = []
    with kafka.proxied_topics("a") as (pre, (topic,), proxy):
        p = Producer({**cluster.base(via_proxy=True), "transactional.id": f"{pre}tx",
                      **REAL_TXN_CONF})
        p.init_transactions(30)
        p.begin_transaction()
        lose_first_answer(proxy, p, topic, drs)
        p.poll(1.0)  # the cut fails the request; its retry backs off ~3 s
        p.abort_transaction(30)
        p.begin_transaction()
        p.produce(topic, value=b"b", on_delivery=_dr(drs))
        p.commit_transaction(30)
        p.poll(0)
        committed, everything, end = _read(cluster, topic)
    assert proxy.dropped == 1
    assert drs == [("a", None, "_PURGE_QUEUE"), ("b", 0, None)]
    assert committed == [] and everything == [(0, "a")] and end == 3


@pytest.mark.broker
def test_b_real_librdkafka_next_transaction_fails_once_then_bumps(kafka: Any) -> None:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    from eoslib.real.clients import delete_topics, run_prefix

    cluster = kafka.cluster
    pre = run_prefix()
    topic = f"{pre}b"
    admin = AdminClient(cluster.base())
    for f in admin.create_topics([NewTopic(topic, 1, 1, config={
            "max.message.bytes": "2000"})]).values():
        f.result(30)
    try:
        p = Producer({**cluster.base(), "transactional.id": f"{pre}tx", "linger.ms": 0,
                      "transaction.timeout.ms": 30000, "message.timeout.ms": 30000})
        drs, commits = _scenario_b(p, topic, lambda: None, lambda v: v.encode())
        committed, _, _ = _read(cluster, topic)
    finally:
        delete_topics(cluster, [topic])
    assert [d[0] for d in drs] == ["a", "xxx", "d", "e"]
    assert [d[2] for d in drs] == [None, "MSG_SIZE_TOO_LARGE", "_PURGE_QUEUE", None]
    assert commits == [("commit1", "MSG_SIZE_TOO_LARGE", True, False),
                       ("commit2", "OUT_OF_ORDER_SEQUENCE_NUMBER", True, False),
                       ("commit3", None)]
    assert [v for _, v in committed] == ["e"]


def _read(cluster: Any, topic: str) -> tuple[list, list, int]:
    """(read_committed records, read_uncommitted records, high watermark) of partition 0."""
    from confluent_kafka import Consumer, TopicPartition

    from eoslib.real.clients import run_prefix

    out = []
    for iso in ("read_committed", "read_uncommitted"):
        c = Consumer({**cluster.base(), "group.id": f"{run_prefix()}r",
                      "enable.auto.commit": False, "isolation.level": iso,
                      "enable.partition.eof": True})
        c.assign([TopicPartition(topic, 0, 0)])
        got, deadline = [], time.monotonic() + 15
        while time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == -191:  # _PARTITION_EOF
                    break
                continue
            got.append((m.offset(), m.value().decode()))
        hw = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
        c.close()
        out.append(got)
    return out[0], out[1], hw
