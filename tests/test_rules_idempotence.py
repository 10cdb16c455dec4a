"""Rules 1-4 (and the high-watermark half of rule 8) of the fact sheet's section 9, each
built exactly on a Partition / ProducerStateEntry, plus the producer config rules and the
default partitioner.

Reference: /work/shared/reference/kafka-eos-facts.md, sections 1.2-1.8 and 9.
"""

from __future__ import annotations

import pytest

from eoslib import ConfigException, KafkaException, Simulation, TopicPartition
from eoslib.partitioner import murmur2, partition_for_key, to_positive
from eoslib.producer_state import (
    BATCHES_TO_RETAIN,
    INT_MAX,
    IncomingBatch,
    ProducerStateEntry,
    kafka_duplicate_check,
)

PID = 4242


def fresh(**cluster):
    """A one-partition topic ``t`` on a fresh simulation."""
    sim = Simulation(seed=0, cluster=cluster or None)
    [part] = sim.create_topic("t", 1)
    return sim, part


def batch(part, i, *, pid=PID, epoch=0, seq=None, n=2, transactional=False):
    """Append batch number ``i`` of ``n`` records (sequence ``n * i`` unless given)."""
    return part.append_data([("k", f"v{i}.{j}") for j in range(n)], producer_id=pid,
                            epoch=epoch, base_seq=n * i if seq is None else seq,
                            transactional=transactional)


# ------------------------------------------------------------------ rule 1: the state
def test_rule1_state_is_per_partition_and_producer_with_five_batch_fifo():
    sim = Simulation(seed=0)
    p0, p1 = sim.create_topic("t", 2)
    assert BATCHES_TO_RETAIN == 5
    for i in range(7):
        assert batch(p0, i).error is None
    entry = p0.producers[PID]
    assert isinstance(entry, ProducerStateEntry)
    assert entry.epoch == 0
    # FIFO: the 5 most recent batches, oldest first, with their offsets
    assert [(b.first_seq, b.last_seq, b.first_offset, b.last_offset) for b in entry.batches] == [
        (4, 5, 4, 5), (6, 7, 6, 7), (8, 9, 8, 9), (10, 11, 10, 11), (12, 13, 12, 13)]
    assert entry.last_seq == 13
    # another partition knows nothing of this producer: sequence 0 starts afresh there
    assert PID not in p1.producers
    assert batch(p1, 0).error is None
    assert [b.first_seq for b in p1.producers[PID].batches] == [0]
    # another producer on the same partition has its own sequence space and cache
    assert batch(p0, 0, pid=PID + 1).error is None
    assert len(p0.producers[PID].batches) == 5
    assert [b.first_seq for b in p0.producers[PID + 1].batches] == [0]


# -------------------------------------------------------- rules 2 and 3: the 5-batch window
def test_rule2_3_sixth_batch_evicts_first_and_retries_behave_exactly():
    sim, part = fresh()
    first = [batch(part, i) for i in range(6)]
    assert [r.base_offset for r in first] == [0, 2, 4, 6, 8, 10]
    assert all(r.error is None and not r.duplicate for r in first)
    leo, log_len = part.leo, len(part.log)

    # retrying the 1st (evicted) batch: OUT_OF_ORDER_SEQUENCE_NUMBER, nothing appended
    stale = batch(part, 0)
    assert stale.error == "OUT_OF_ORDER_SEQUENCE_NUMBER"
    assert not stale.duplicate
    assert (part.leo, len(part.log)) == (leo, log_len)

    # retrying the 2nd..6th: success (NONE) carrying the ORIGINAL offset, log unchanged
    for i in range(1, 6):
        r = batch(part, i)
        assert r.error is None, r
        assert r.duplicate
        assert r.base_offset == first[i].base_offset
        assert (part.leo, len(part.log)) == (leo, log_len)
    assert part.record_count() == 12


def test_rule2_duplicate_needs_the_exact_sequence_range():
    sim, part = fresh()
    assert batch(part, 0, n=3).error is None  # seq 0..2
    # same first sequence, different last sequence: not a duplicate, and out of order
    r = part.append_data([("k", "x")] * 2, producer_id=PID, epoch=0, base_seq=0)
    assert r.error == "OUT_OF_ORDER_SEQUENCE_NUMBER"
    assert part.leo == 3


def test_rule3_gap_is_out_of_order():
    sim, part = fresh()
    assert batch(part, 0).error is None  # seq 0..1
    r = batch(part, 0, seq=3)  # expected 2
    assert r.error == "OUT_OF_ORDER_SEQUENCE_NUMBER"
    assert part.leo == 2
    assert batch(part, 0, seq=2).error is None  # the in-sequence batch still goes in


def test_rule3_lower_epoch_is_invalid_producer_epoch():
    sim, part = fresh()
    assert batch(part, 0, epoch=3).error is None
    for seq in (0, 2, 99):  # whatever the sequence, even a cached one
        r = batch(part, 0, epoch=2, seq=seq)
        assert r.error == "INVALID_PRODUCER_EPOCH"
    assert part.leo == 2


def test_rule3_higher_epoch_with_nonzero_seq_is_out_of_order():
    sim, part = fresh()
    assert batch(part, 0, epoch=0).error is None
    assert batch(part, 1, epoch=0).error is None
    r = batch(part, 2, epoch=1, seq=4)  # next seq of the old epoch, but a new epoch
    assert r.error == "OUT_OF_ORDER_SEQUENCE_NUMBER"
    assert part.producers[PID].epoch == 0
    assert part.leo == 4


def test_rule3_higher_epoch_with_seq_zero_is_accepted_and_clears_the_cache():
    sim, part = fresh()
    for i in range(3):
        assert batch(part, i, epoch=0).error is None
    r = batch(part, 0, epoch=1, seq=0)
    assert r.error is None and not r.duplicate and r.base_offset == 6
    entry = part.producers[PID]
    assert entry.epoch == 1
    assert [(b.first_seq, b.first_offset) for b in entry.batches] == [(0, 6)]
    # the old epoch's batches are gone from the cache: their retries are fenced
    assert batch(part, 1, epoch=0).error == "INVALID_PRODUCER_EPOCH"
    # and a retry of the new epoch's batch is a duplicate of offset 6
    r = batch(part, 0, epoch=1, seq=0)
    assert r.duplicate and r.base_offset == 6


def test_rule3_unknown_producer_accepts_any_sequence():
    """No state for the producer (e.g. lost to retention): any sequence is accepted (1.3)."""
    verdict = kafka_duplicate_check(None, IncomingBatch(PID, 0, 17, 1))
    assert verdict.action == "append"
    sim, part = fresh()
    assert batch(part, 0, seq=17).error is None


def test_rule3_sequence_wraps_to_zero_after_int_max():
    sim, part = fresh()
    assert batch(part, 0, seq=INT_MAX, n=1).error is None
    assert batch(part, 1, seq=0, n=1).error is None  # in sequence: wrapped
    assert batch(part, 0, seq=INT_MAX, n=1).duplicate


def test_rule3_batch_straddling_int_max_wraps():
    sim, part = fresh()
    assert batch(part, 0, seq=INT_MAX - 1, n=3).error is None  # seq INT_MAX-1, INT_MAX, 0
    retry = batch(part, 0, seq=INT_MAX - 1, n=3)
    nxt = batch(part, 1, seq=1, n=1)
    assert (retry.error, retry.duplicate) == (None, True)
    assert nxt.error is None and part.leo == 4


# --------------------------------------------------- rule 4: no idempotence, retries
def _values(sim, topic="t"):
    return [v for b in sim.cluster.partition(topic, 0).log for _, v in b.records]


def test_rule4_non_idempotent_retry_after_lost_response_appends_a_duplicate():
    sim = Simulation(seed=0, faults={"lost_acks": 1})
    sim.create_topic("t", 1)
    p = sim.Producer({"enable.idempotence": False, "request.timeout.ms": 100,
                      "linger.ms": 0})
    got = []
    p.produce("t", value="x", on_delivery=lambda err, msg: got.append((err, msg.offset())))
    assert p.flush() == 0
    assert _values(sim) == ["x", "x"]  # at-least-once: the retry landed a second copy
    assert got == [(None, 1)]
    assert p.stats["retries"] == 1
    kinds = [ev["kind"] for ev in sim.trace]
    assert kinds.index("lost") < kinds.index("timeout") < kinds.index("retry")


def test_rule4_idempotent_retry_after_lost_response_is_deduplicated():
    sim = Simulation(seed=0, faults={"lost_acks": 1})
    sim.create_topic("t", 1)
    p = sim.Producer({"enable.idempotence": True, "request.timeout.ms": 100, "linger.ms": 0})
    got = []
    p.produce("t", value="x", on_delivery=lambda err, msg: got.append((err, msg.offset())))
    assert p.flush() == 0
    assert _values(sim) == ["x"]
    assert got == [(None, 0)]  # acknowledged with the original offset
    assert p.stats["duplicates_acked"] == 1
    assert any(ev["kind"] == "dedup" for ev in sim.trace)


def _refusing_run(seed, idempotent, client="librdkafka"):
    sim = Simulation(seed=seed, faults={"error_prob": 0.2})
    sim.create_topic("t", 1)
    p = sim.Producer({"enable.idempotence": idempotent, "linger.ms": 0, "client": client,
                      "max.in.flight.requests.per.connection": 5})
    acked = []
    for i in range(20):
        p.produce("t", value=i, on_delivery=lambda e, m: acked.append(m.value()) if e is None
                  else None)
        sim.sleep(0.5)
    p.flush()
    return _values(sim), acked


def test_rule4_max_in_flight_above_one_without_idempotence_can_reorder():
    reordered = None
    for seed in range(20):
        log, acked = _refusing_run(seed, idempotent=False)
        if log != sorted(log):
            reordered = (seed, log, acked)
            break
    assert reordered is not None, "no seed in 0..19 reordered records"
    seed, log, acked = reordered
    assert sorted(log) == list(range(20))  # nothing lost, nothing doubled: only reordered
    assert sorted(acked) == list(range(20))
    # with max.in.flight=1 the same faults cannot reorder
    sim = Simulation(seed=seed, faults={"error_prob": 0.2})
    sim.create_topic("t", 1)
    p = sim.Producer({"enable.idempotence": False, "linger.ms": 0,
                      "max.in.flight.requests.per.connection": 1})
    for i in range(20):
        p.produce("t", value=i)
        sim.sleep(0.5)
    p.flush()
    assert _values(sim) == list(range(20))


@pytest.mark.parametrize("client", ["librdkafka", "java"])
def test_idempotent_producer_with_refused_batches_never_duplicates(client):
    implicit = 0
    for seed in range(5):
        log, acked = _refusing_run(seed, idempotent=True, client=client)
        assert len(set(log)) == len(log)
        missing = sorted(set(acked) - set(log))
        if client == "java":
            assert not missing
        else:
            # librdkafka: a refused FIRST request (the broker has no state for the producer
            # yet, so it appends the next request at any sequence) is implicitly acked by
            # the next ack (rd_kafka_dr_implicit_ack; tests/test_rules_librdkafka_out_of_
            # order.py): reported delivered, never written
            assert missing == [] or missing == list(range(len(missing))), (seed, missing)
            implicit += bool(missing)
    assert client == "java" or implicit > 0


def test_idempotent_producer_never_reorders_even_if_its_first_batch_is_refused():
    for seed in range(5):
        log, _ = _refusing_run(seed, idempotent=True)
        assert log == sorted(log), (seed, log)


# ------------------------------------------------ rule 8 (high-watermark half), RF=3
def test_rule8_records_readable_and_acked_only_after_followers_copy_them():
    sim = Simulation(seed=0, cluster={"brokers": 3, "replica.fetch.wait.ms": 20})
    [part] = sim.create_topic("t", 1, replication_factor=3, min_insync_replicas=2)
    p = sim.Producer({"acks": "all", "linger.ms": 0})
    c = sim.Consumer({"group.id": "g", "auto.offset.reset": "earliest",
                      "fetch.max.wait.ms": 0, "isolation.level": "read_uncommitted"})
    c.assign([TopicPartition("t", 0, 0)])
    acks = []
    p.produce("t", value="x", on_delivery=lambda e, m: acks.append((sim.now, e, m.offset())))
    sim.sleep(5)
    # the leader appended, the followers have not copied: LEO 1, HW 0
    assert (part.leo, part.hw) == (1, 0)
    assert part.read(0, "read_uncommitted")[0] == []
    assert c.consume(10, timeout=0.005) == []
    p.poll(0)
    assert acks == []  # acks=all waits for the HW
    sim.sleep(30)
    assert part.hw == 1
    hw_time = next(ev["t"] for ev in sim.trace if ev["kind"] == "replicate")
    p.poll(0)
    assert len(acks) == 1 and acks[0][1] is None and acks[0][2] == 0
    assert acks[0][0] >= hw_time
    msgs = c.consume(10, timeout=0.05)
    assert [m.value() for m in msgs] == ["x"]


def test_rule8_acks_1_acknowledges_before_the_high_watermark():
    sim = Simulation(seed=0, cluster={"brokers": 3, "replica.fetch.wait.ms": 20})
    [part] = sim.create_topic("t", 1, replication_factor=3)
    p = sim.Producer({"acks": "1", "linger.ms": 0})  # idempotence silently off
    acks = []
    p.produce("t", value="x", on_delivery=lambda e, m: acks.append((e, part.hw)))
    sim.sleep(5)
    p.poll(0)
    assert acks == [(None, 0)]  # acknowledged while the HW is still 0


def test_poll_returns_a_record_that_arrives_during_the_timeout():
    sim, part = fresh()
    c = sim.Consumer({"group.id": "g", "auto.offset.reset": "earliest"})
    c.assign([TopicPartition("t", 0, 0)])
    sim.kernel.schedule(50, lambda: part.append_data([(None, "late")]))
    msgs = c.consume(10, timeout=2.0)
    assert [m.value() for m in msgs] == ["late"]


# ---------------------------------------------------------------- config rules (1.8)
# The Java client's rules (ProducerConfig.postProcessAndValidateIdempotenceConfigs): these
# tests name client=java; librdkafka's are in test_client_semantics.py.
JAVA = {"client": "java"}


def test_explicit_idempotence_with_acks_1_raises_naming_acks():
    sim = Simulation(seed=0)
    with pytest.raises(ConfigException) as ei:
        sim.Producer({**JAVA, "enable.idempotence": True, "acks": "1"})
    assert ei.value.key == "acks"
    assert "acks" in str(ei.value) and "idempotent" in str(ei.value)


def test_implicit_idempotence_with_acks_1_is_silently_disabled():
    sim = Simulation(seed=0)
    p = sim.Producer({**JAVA, "acks": "1"})
    assert p.idempotent is False
    assert p.effective_config["enable.idempotence"] is False
    assert p.effective_config["acks"] == "1"


def test_default_producer_is_idempotent_with_acks_all():
    sim = Simulation(seed=0)
    conf = sim.Producer(JAVA).effective_config
    assert conf["enable.idempotence"] is True and conf["acks"] == "all"
    assert conf["max.in.flight.requests.per.connection"] == 5
    assert conf["retries"] == 2147483647 and conf["delivery.timeout.ms"] == 120000
    assert conf["transaction.timeout.ms"] == 60000


def test_max_in_flight_6_with_explicit_idempotence_raises():
    sim = Simulation(seed=0)
    with pytest.raises(ConfigException) as ei:
        sim.Producer({**JAVA, "enable.idempotence": True,
                      "max.in.flight.requests.per.connection": 6})
    assert ei.value.key == "max.in.flight.requests.per.connection"
    # implicit idempotence: silently off instead
    assert sim.Producer({**JAVA, "max.in.flight.requests.per.connection": 6}).idempotent is False
    assert sim.Producer({**JAVA, "enable.idempotence": True,
                         "max.in.flight.requests.per.connection": 5}).idempotent


def test_retries_0_with_explicit_idempotence_raises():
    sim = Simulation(seed=0)
    with pytest.raises(ConfigException) as ei:
        sim.Producer({**JAVA, "enable.idempotence": True, "retries": 0})
    assert ei.value.key == "retries"


def test_transactional_id_with_idempotence_false_raises():
    sim = Simulation(seed=0)
    with pytest.raises(ConfigException) as ei:
        sim.Producer({**JAVA, "transactional.id": "tx", "enable.idempotence": False})
    assert ei.value.key == "enable.idempotence"
    assert "transactional.id" in str(ei.value)
    # transactional.id implies idempotence, and a conflicting acks is then an error
    assert sim.Producer({**JAVA, "transactional.id": "tx2"}).idempotent
    with pytest.raises(ConfigException) as ei:
        sim.Producer({**JAVA, "transactional.id": "tx3", "acks": "1"})
    assert ei.value.key == "acks"


# ------------------------------------------------------------- the default partitioner
@pytest.mark.parametrize(("key", "expected"), [
    ("21", -973932308),
    ("foobar", -790332482),
    ("a-little-bit-long-string", -985981536),
    ("a-little-bit-longer-string", -1486304829),
    ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
    ("abc", 479470107),
])
def test_murmur2_matches_kafka_test_vectors(key, expected):
    assert murmur2(key.encode()) == expected


def test_partition_for_key_is_to_positive_murmur2_mod_n():
    assert to_positive(-790332482) == -790332482 & 0x7FFFFFFF == 1357151166
    assert partition_for_key("foobar", 3) == 1357151166 % 3
    assert partition_for_key(b"foobar", 7) == 1357151166 % 7
    assert partition_for_key("abc", 10) == 479470107 % 10
    assert partition_for_key("21", 12) == (-973932308 & 0x7FFFFFFF) % 12


def test_keyed_records_land_on_partition_for_key():
    sim = Simulation(seed=0)
    sim.create_topic("t", 6)
    p = sim.Producer({"linger.ms": 0, "client": "java"})  # Java's murmur2 partitioner
    keys = ["21", "foobar", "abc", "user-1", "user-2", "user-3"]
    for k in keys:
        p.produce("t", key=k, value=f"v-{k}")
    assert p.flush() == 0
    where = {k: i for i, part in enumerate(sim.cluster.partitions("t"))
             for b in part.log for k, _ in b.records}
    assert where == {k: partition_for_key(k, 6) for k in keys}


def test_produce_to_missing_partition_raises():
    sim = Simulation(seed=0)
    sim.create_topic("t", 2)
    p = sim.Producer({})
    with pytest.raises(KafkaException) as ei:
        p.produce("t", value="x", partition=5)
    assert ei.value.error.name() == "_UNKNOWN_PARTITION"
