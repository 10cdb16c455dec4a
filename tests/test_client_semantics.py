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
    if waits:
        with pytest.raises(Exception, match="UNSTABLE_OFFSET_COMMIT"):
            c.committed(tp, timeout=0.5)
    else:
        assert c.committed(tp, timeout=0.5)[0].offset == -1001  # the last stable: none
    prod.commit_transaction()
    sim.sleep(50)
    assert c.committed(tp, timeout=0.5)[0].offset == 5
