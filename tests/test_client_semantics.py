"""Auto-commit as each client does it (the consumer key ``client``), and commit on close.

Java (``ConsumerCoordinator``): auto-commit happens inside ``poll()`` once
``auto.commit.interval.ms`` has passed, and commits the position of the records returned by
earlier polls; ``close()`` commits the consumed position first (``maybeAutoCommitOffsetsSync``).
librdkafka (``rdkafka_cgrp.c``, ``CONFIGURATION.md``: ``enable.auto.commit``,
``enable.auto.offset.store``): a background timer commits the stored offsets, and each
message's offset + 1 is stored as it is handed to the application, so a crash while
processing can lose the batch in hand.
"""

from __future__ import annotations

import pytest

from eoslib import ConfigException, Simulation, TopicPartition


def _sim(n: int = 9) -> Simulation:
    sim = Simulation(seed=1)
    sim.create_topic("orders", partitions=1)
    p = sim.Producer({"enable.idempotence": True})
    for i in range(n):
        p.produce("orders", value=f"o{i}")
    p.flush()
    return sim


def _consumer(sim: Simulation, client: str, group: str):
    c = sim.Consumer({"group.id": group, "client": client, "enable.auto.commit": True,
                      "auto.commit.interval.ms": 1, "auto.offset.reset": "earliest"})
    c.subscribe(["orders"])
    return c


TP = [TopicPartition("orders", 0)]


def test_librdkafka_commits_the_batch_in_hand_java_does_not() -> None:
    sim = _sim()
    java, rdk = _consumer(sim, "java", "g-java"), _consumer(sim, "librdkafka", "g-rdk")
    assert [m.value() for m in java.consume(3, timeout=1.0)] == ["o0", "o1", "o2"]
    assert [m.value() for m in rdk.consume(3, timeout=1.0)] == ["o0", "o1", "o2"]
    sim.sleep(10)  # processing, no poll
    assert java.committed(TP)[0].offset == -1001  # Java commits only at the next poll
    assert rdk.committed(TP)[0].offset == 3  # librdkafka's timer committed the batch in hand


def test_a_crash_while_processing_loses_the_batch_with_librdkafka() -> None:
    sim = _sim()
    for client, resumed_at in (("java", 0), ("librdkafka", 3)):
        c = _consumer(sim, client, f"crash-{client}")
        c.consume(3, timeout=1.0)
        sim.sleep(10)
        c.crash()  # dies while processing o0..o2
        sim.sleep(50_000)  # the group forgets the dead member
        again = _consumer(sim, client, f"crash-{client}")
        first = again.consume(1, timeout=5.0)
        assert first and first[0].offset() == resumed_at, client


def test_close_commits_the_consumed_position_first() -> None:
    sim = _sim()
    for client in ("java", "librdkafka"):
        c = sim.Consumer({"group.id": f"close-{client}", "client": client,
                          "enable.auto.commit": True, "auto.commit.interval.ms": 60_000,
                          "auto.offset.reset": "earliest"})
        c.subscribe(["orders"])
        c.consume(4, timeout=1.0)
        c.close()
        probe = sim.Consumer({"group.id": f"close-{client}", "enable.auto.commit": False})
        assert probe.committed(TP)[0].offset == 4, client


def test_client_is_validated() -> None:
    sim = _sim(1)
    with pytest.raises(ConfigException, match="client"):
        sim.Consumer({"group.id": "g", "client": "kafkajs"})


@pytest.mark.parametrize(("client", "isolation", "waits"), [
    ("java", "read_uncommitted", True),  # Java always asks for stable offsets
    ("java", "read_committed", True),
    ("librdkafka", "read_uncommitted", False),  # librdkafka only under read_committed
    ("librdkafka", "read_committed", True),
])
def test_committed_and_pending_transactional_offsets(client: str, isolation: str,
                                                     waits: bool) -> None:
    """KIP-447: while a transaction holds pending offsets for a partition, an OffsetFetch
    that requires stable offsets gets UNSTABLE_OFFSET_COMMIT and the client retries.
    Java: ConsumerCoordinator.sendOffsetFetchRequest builds OffsetFetchRequest with
    requireStable=true always; librdkafka: rd_kafka_committed (rdkafka.c) and the assignment
    fetch (rdkafka_assignment.c) set require_stable_offsets only for read_committed."""
    sim = _sim(1)
    sim.create_topic("in", partitions=1)
    c = sim.Consumer({"group.id": "g", "client": client, "isolation.level": isolation,
                      "enable.auto.commit": False})
    prod = sim.Producer({"transactional.id": "tx"})
    prod.init_transactions()
    prod.begin_transaction()
    prod.produce("orders", value="x", partition=0)
    prod.send_offsets_to_transaction([TopicPartition("in", 0, 5)], c.consumer_group_metadata())
    tp = [TopicPartition("in", 0)]
    assert c.require_stable is waits
    if waits:  # it retries until its timeout: TimeoutException / _TIMED_OUT
        with pytest.raises(Exception, match="REQUEST_TIMED_OUT" if client == "java"
                           else "_TIMED_OUT"):
            c.committed(tp, timeout=0.5)
    else:
        assert c.committed(tp, timeout=0.5)[0].offset == -1001  # the last stable: none
    prod.commit_transaction()
    sim.sleep(50)
    assert c.committed(tp, timeout=0.5)[0].offset == 5


def test_librdkafka_defaults_where_they_differ() -> None:
    """librdkafka CONFIGURATION.md: enable.idempotence=false, max.in.flight=1000000,
    delivery.timeout.ms (message.timeout.ms)=300000, isolation.level=read_committed; no
    KIP-890, so transaction version 1. The Java client: idempotence on, 5 in flight, 120 s,
    read_uncommitted, TV2."""
    from eoslib.config import validate

    rdk = validate("producer", {})  # the course's default client is librdkafka
    assert rdk["client"] == "librdkafka"
    java = validate("producer", {"client": "java"})
    assert (rdk["enable.idempotence"], java["enable.idempotence"]) == (False, True)
    assert rdk["max.in.flight.requests.per.connection"] == 1000000
    assert (rdk["delivery.timeout.ms"], java["delivery.timeout.ms"]) == (300000, 120000)
    assert rdk["message.timeout.ms"] == 300000  # delivery.timeout.ms is its alias
    assert (rdk["batch.size"], java["batch.size"]) == (1000000, 16384)
    assert rdk["linger.ms"] == java["linger.ms"] == 5  # librdkafka; Java since 4.0 (KIP-1030)
    assert rdk["socket.timeout.ms"] == 60000
    assert (rdk["transaction.version"], java["transaction.version"]) == ("1", "2")
    assert validate("consumer", {})["isolation.level"] == "read_committed"
    assert validate("consumer", {"client": "java"})["isolation.level"] == "read_uncommitted"
    # an explicit value wins over the client's default
    assert validate("consumer", {"client": "librdkafka", "isolation.level":
                                 "read_uncommitted"})["isolation.level"] == "read_uncommitted"


def test_idempotence_rules_per_client() -> None:
    """Java (ProducerConfig): idempotence left at its default is silently switched off by
    max.in.flight > 5 or acks != all. librdkafka (rdkafka_conf.c rd_kafka_conf_finalize):
    idempotence is never switched off; when on, a conflicting key set by the caller is an
    error and one left at its default is adjusted."""
    from eoslib.config import validate

    assert validate("producer", {"max.in.flight.requests.per.connection": 6})[
        "enable.idempotence"] is False  # Java: silently off
    assert validate("producer", {"acks": "1"})["enable.idempotence"] is False
    on = validate("producer", {"client": "librdkafka", "enable.idempotence": True})
    assert on["max.in.flight.requests.per.connection"] == 5 and on["acks"] == "all"
    with pytest.raises(ConfigException, match="max.in.flight"):
        validate("producer", {"client": "librdkafka", "enable.idempotence": True,
                              "max.in.flight.requests.per.connection": 6})
    with pytest.raises(ConfigException, match="acks"):
        validate("producer", {"client": "librdkafka", "enable.idempotence": True, "acks": "1"})
    with pytest.raises(ConfigException, match="requires `enable.idempotence=true`"):
        validate("producer", {"client": "librdkafka", "transactional.id": "x",
                              "enable.idempotence": False})
    assert validate("producer", {"client": "librdkafka", "transactional.id": "x"})[
        "enable.idempotence"] is True


def test_default_partitioner_per_client() -> None:
    """Java: murmur2 of the key (BuiltInPartitioner.partitionForKey); librdkafka:
    consistent_random = rd_crc32(key) % partitions (rdkafka_msg.c), rd_crc32 being the
    standard CRC-32 (check value of "123456789" is 0xCBF43926). The same key can land on
    different partitions from the two clients."""
    import zlib

    from eoslib.partitioner import crc32_partition, partition_for_key

    assert zlib.crc32(b"123456789") == 0xCBF43926
    assert crc32_partition("order-42", 6) == zlib.crc32(b"order-42") % 6
    sim = Simulation(seed=3)
    sim.create_topic("k", partitions=6)
    placed = {}
    for client in ("java", "librdkafka"):
        p = sim.Producer({"client": client, "enable.idempotence": True})
        p.produce("k", key="order-42", value=client)
        p.flush()
    for part in range(6):
        for b in sim.cluster.partition("k", part).log:
            for _, v in b.records:
                placed[v] = part
    assert placed == {"java": partition_for_key("order-42", 6),
                      "librdkafka": crc32_partition("order-42", 6)}
    assert placed["java"] != placed["librdkafka"]  # 0 vs 4 for this key and 6 partitions


def test_client_key_reaches_producer_and_consumer_in_a_scenario() -> None:
    """``--set client=librdkafka`` selects both clients' semantics in a scenario run."""
    from eoslib.scenarios import run_scenario

    r = run_scenario("consumer-crash", seed=0, config={"client": "librdkafka"})
    assert r.config["client"] == "librdkafka"
    assert r.config["transaction.version"] == "1"


def test_librdkafka_transactional_producer_defaults_and_rules() -> None:
    """rd_kafka_conf_finalize: with transactional.id, socket.timeout.ms defaults to
    transaction.timeout.ms - 100 ("Make sure at least one request can be sent before the
    transaction times out") and may not exceed it + 100; rd_kafka_topic_conf_finalize:
    message.timeout.ms defaults to transaction.timeout.ms and may not exceed it; and
    message.timeout.ms must be greater than an explicit linger.ms."""
    from eoslib.config import validate

    t = validate("producer", {"transactional.id": "x"})
    assert t["enable.idempotence"] and t["socket.timeout.ms"] == 59900
    assert t["delivery.timeout.ms"] == t["message.timeout.ms"] == 60000
    small = validate("producer", {"transactional.id": "x", "transaction.timeout.ms": 500})
    assert small["socket.timeout.ms"] == 900
    with pytest.raises(ConfigException, match="socket.timeout.ms"):
        validate("producer", {"transactional.id": "x", "socket.timeout.ms": 70000})
    with pytest.raises(ConfigException, match="message.timeout.ms"):
        validate("producer", {"transactional.id": "x", "message.timeout.ms": 70000})
    with pytest.raises(ConfigException, match="linger.ms"):
        validate("producer", {"message.timeout.ms": 5, "linger.ms": 10})
    with pytest.raises(ConfigException, match="transaction version 1 only"):
        validate("producer", {"transaction.version": "2"})
    with pytest.raises(ConfigException, match="alias of delivery.timeout.ms"):
        validate("producer", {"message.timeout.ms": 5000, "delivery.timeout.ms": 6000})
    # librdkafka classic protocol: max.poll.interval.ms >= session.timeout.ms
    with pytest.raises(ConfigException, match="max.poll.interval.ms"):
        validate("consumer", {"max.poll.interval.ms": 1000, "session.timeout.ms": 2000})


def test_request_timeout_is_per_client() -> None:
    """The client-side request timeout: Java request.timeout.ms (ProducerConfig); librdkafka
    socket.timeout.ms (CONFIGURATION.md: request.timeout.ms is "the ack timeout of the
    producer request ... only enforced by the broker")."""
    from eoslib.config import request_timeout_ms, validate

    assert request_timeout_ms(validate("producer", {"request.timeout.ms": 1000})) == 60000
    assert request_timeout_ms(validate("producer", {"socket.timeout.ms": 1000})) == 1000
    assert request_timeout_ms(validate("producer", {"client": "java",
                                                    "request.timeout.ms": 1000})) == 1000


@pytest.mark.parametrize("client", ["librdkafka", "java"])
def test_every_producer_of_a_scenario_speaks_the_runs_client(client: str) -> None:
    """``transaction-timeout``'s other writer follows the run's client (it was always
    librdkafka). Their defaults tell them apart: Java's producer is idempotent by default
    (ProducerConfig enable.idempotence=true: it gets a producer id), librdkafka's is not
    (CONFIGURATION.md enable.idempotence=false: its batches carry pid -1)."""
    from eoslib.scenarios import run_scenario

    r = run_scenario("transaction-timeout", seed=0, config={"client": client})
    pids = {ev["data"]["pid"] for ev in r.trace
            if ev["lane"] == "other-writer" and ev["kind"] == "send"}
    assert pids and (min(pids) >= 0) == (client == "java"), pids
