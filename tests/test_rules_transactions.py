"""Rules 5-12 of the fact sheet's section 9 (transactions), built exactly, plus misuse of
the transactional API.

Reference: /work/shared/reference/kafka-eos-facts.md, sections 2, 3 and 9.
"""

from __future__ import annotations

import pytest

from eoslib import KafkaException, Simulation, TopicPartition
from eoslib.cluster import OFFSETS_TOPIC
from eoslib.isolation import read_committed_filter, read_uncommitted_filter
from eoslib.partition import Batch
from eoslib.partitioner import coordinator_partition
from eoslib.scenarios import run_scenario
from eoslib.txn_coordinator import VALID_PREVIOUS, IllegalTransition, TxnMetadata

TXN = "tx"


def states(tc, txn=TXN):
    """The coordinator's state walk for ``txn``, repeated states collapsed."""
    walk = []
    for _, tid, old, new in tc.state_history:
        if tid != txn:
            continue
        if not walk:
            walk.append(old)
        if new != walk[-1]:
            walk.append(new)
    return walk


def error_of(fn):
    """Call ``fn`` and return the KafkaError it raised (fails if nothing was raised)."""
    with pytest.raises(KafkaException) as ei:
        fn()
    return ei.value.error


def new_sim(partitions=2, **cluster):
    sim = Simulation(seed=0, cluster=cluster or None)
    sim.create_topic("t", partitions)
    return sim


def txn_producer(sim, tv="2", client=None, **conf):
    """A transactional producer speaking transaction version ``tv``: TV2 is the Java
    client's (librdkafka speaks TV1 only), TV1 the course default's, librdkafka's."""
    client = client or ("java" if tv == "2" else "librdkafka")
    return sim.Producer({"transactional.id": TXN, "transaction.version": tv,
                         "client": client, **conf})


def data(part):
    return [(b.base_offset, v) for b in part.log if b.control is None for _, v in b.records]


def markers(part):
    return [(b.base_offset, b.control) for b in part.log if b.control is not None]


# ------------------------------------------------------------ rule 5: state machine
KAFKA_VALID_PREVIOUS = {  # Kafka 4.x transaction-coordinator/.../TransactionState.java
    "Empty": {"Empty", "CompleteCommit", "CompleteAbort"},
    "Ongoing": {"Ongoing", "Empty", "CompleteCommit", "CompleteAbort"},
    "PrepareCommit": {"Ongoing"},
    # "In transaction v2, we allow Empty, CompleteCommit, CompleteAbort to transition to
    # PrepareAbort" (TransactionState.PREPARE_ABORT, Kafka 4.x)
    "PrepareAbort": {"Ongoing", "PrepareEpochFence", "Empty", "CompleteCommit", "CompleteAbort"},
    "CompleteCommit": {"PrepareCommit"},
    "CompleteAbort": {"PrepareAbort"},
    "Dead": {"Empty", "CompleteAbort", "CompleteCommit"},
    "PrepareEpochFence": {"Ongoing"},
}


def test_rule5_valid_previous_table_is_kafkas():
    assert {k: set(v) for k, v in VALID_PREVIOUS.items()} == KAFKA_VALID_PREVIOUS


@pytest.mark.parametrize(("old", "new"), [
    (old, new) for new in KAFKA_VALID_PREVIOUS for old in KAFKA_VALID_PREVIOUS
    if old not in KAFKA_VALID_PREVIOUS[new]
])
def test_rule5_every_illegal_transition_raises_and_changes_nothing(old, new):
    sim = new_sim()
    tc = sim.cluster.txn_coordinator
    meta = TxnMetadata("x", 1, epoch=0, state=old)
    log_len, hist_len = len(tc.log), len(tc.state_history)
    with pytest.raises(IllegalTransition):
        tc.transition(meta, new)
    assert meta.state == old
    assert (len(tc.log), len(tc.state_history)) == (log_len, hist_len)


def test_rule5_normal_commit_walks_empty_ongoing_prepare_complete():
    sim = new_sim()
    p = txn_producer(sim)
    p.init_transactions()
    p.begin_transaction()
    p.produce("t", value="a", partition=0)
    p.produce("t", value="b", partition=1)
    p.commit_transaction()
    tc = sim.cluster.txn_coordinator
    assert states(tc) == ["Empty", "Ongoing", "PrepareCommit", "CompleteCommit"]
    # every transition is in __transaction_state, PrepareCommit before CompleteCommit
    logged = [r["state"] for r in tc.log if r["txn_id"] == TXN]
    assert logged.index("PrepareCommit") < logged.index("CompleteCommit")
    assert tc.log[-1]["partitions"] == [["t", 0], ["t", 1]]


def test_rule5_an_empty_transaction_sends_no_end_txn():
    sim = new_sim()
    p = txn_producer(sim)
    p.init_transactions()
    p.begin_transaction()
    p.commit_transaction()
    assert states(sim.cluster.txn_coordinator) == ["Empty"]
    assert not any(ev["label"].startswith("EndTxn") for ev in sim.trace)



def assert_fenced_zombie(p, value):
    """A fenced producer's next produce is refused INVALID_PRODUCER_EPOCH. Java: abortable
    (since 2.7), surfacing at commit; the abort's EndTxn gets PRODUCER_FENCED (fatal,
    ProducerFencedException). librdkafka: fatal at once, normalised to ``_FENCED``
    (rd_kafka_handle_Produce_error: "transactional producer fenced by newer producer
    instance"), so commit and abort both raise it. Returns the fatal error."""
    p.produce("t", value=value, partition=0)
    err = error_of(p.commit_transaction)
    if p.client == "java":
        assert err.name() == "INVALID_PRODUCER_EPOCH"
        assert err.txn_requires_abort() and not err.fatal()
        err = error_of(p.abort_transaction)
        assert err.name() == "PRODUCER_FENCED" and err.fatal()
        return err
    assert err.name() == "_FENCED" and err.fatal() and not err.txn_requires_abort()
    assert error_of(p.abort_transaction).name() == "_FENCED"
    return err

def _fence_by_new_instance(tv):
    sim = new_sim()
    tc = sim.cluster.txn_coordinator
    old = txn_producer(sim, tv, **{"client.id": "old"})
    old.init_transactions()
    e0 = old.epoch
    old.begin_transaction()
    old.produce("t", value="zombie", partition=0)
    old.flush()
    assert tc.txns[TXN].state == "Ongoing"
    replies = []
    orig = tc.handle_init_producer_id

    def spy(txn_id, timeout_ms, respond, version=2, *bump):
        def wrapped(resp):
            replies.append((sim.now, resp.get("error"), tc.txns[TXN].epoch))
            respond(resp)
        orig(txn_id, timeout_ms, wrapped, version, *bump)

    tc.handle_init_producer_id = spy
    new = txn_producer(sim, tv, **{"client.id": "new"})
    new.init_transactions()
    return sim, tc, old, new, e0, replies


def test_rule5_init_during_ongoing_fences_aborts_and_bumps_twice_tv1():
    sim, tc, old, new, e0, replies = _fence_by_new_instance("1")
    assert states(tc) == ["Empty", "Ongoing", "PrepareEpochFence", "PrepareAbort",
                          "CompleteAbort", "Empty"]
    # first reply CONCURRENT_TRANSACTIONS with the fencing epoch (never returned to the
    # user), then the client's retry bumps a second time
    assert [r[1] for r in replies] == ["CONCURRENT_TRANSACTIONS", None]
    assert replies[0][2] == e0 + 1
    assert new.epoch == e0 + 2 == tc.txns[TXN].epoch
    assert replies[1][0] - replies[0][0] >= new.config["retry.backoff.ms"]
    assert new.pid == old.pid
    part = sim.cluster.partition("t", 0)
    assert markers(part) == [(1, "ABORT")]
    assert sim.read_all("t") == []
    err = assert_fenced_zombie(old, "late")
    assert "fenced" in err.str()
    # the new instance works
    new.begin_transaction()
    new.produce("t", value="ok", partition=0)
    new.commit_transaction()
    assert [v for _, _, v in sim.read_all("t")] == ["ok"]


def test_rule5_init_during_ongoing_fences_the_old_instance_tv2():
    sim, tc, old, new, e0, replies = _fence_by_new_instance("2")
    assert "PrepareEpochFence" in states(tc)
    assert [r[1] for r in replies][0] == "CONCURRENT_TRANSACTIONS"
    assert new.epoch > e0 + 1
    err = error_of(old.abort_transaction)
    assert err.name() == "PRODUCER_FENCED" and err.fatal()  # Java: ProducerFencedException
    assert [ev["label"] for ev in sim.trace if ev["flag"] == "fenced"]


# ----------------------------------------------- rule 6: PrepareCommit decides the outcome
def _crash_after(sim, state, downtime_ms=500):
    tc = sim.cluster.txn_coordinator
    orig = tc.transition

    def transition(meta, new):
        orig(meta, new)
        if new == state and tc.alive:
            sim.crash_txn_coordinator(downtime_ms=downtime_ms)

    tc.transition = transition
    return tc


def test_rule6_coordinator_crash_after_prepare_commit_still_commits():
    sim = new_sim()
    sim.create_topic("in", 1)
    sim.cluster.partition("in", 0).append_data([(None, "i0")])
    c = sim.Consumer({"group.id": "g", "auto.offset.reset": "earliest",
                      "enable.auto.commit": False})
    c.subscribe(["in"])
    assert len(c.consume(10, timeout=1.0)) == 1
    p = txn_producer(sim)
    p.init_transactions()
    p.begin_transaction()
    p.produce("t", value="a", partition=0)
    p.produce("t", value="b", partition=1)
    p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata())
    old = _crash_after(sim, "PrepareCommit")
    p.commit_transaction()
    assert not old.alive
    assert old.txns[TXN].state == "PrepareCommit"
    offsets_part = sim.cluster.offsets_partition_for("g")
    parts = [*sim.cluster.partitions("t"), offsets_part]
    sim.sleep(200)  # still down: no marker anywhere, nothing readable
    assert all(markers(x) == [] for x in parts)
    assert sim.read_all("t") == []
    sim.settle(1000)
    new = sim.cluster.txn_coordinator
    assert new is not old and new.generation == old.generation + 1
    assert new.txns[TXN].state == "CompleteCommit"
    assert states(new)[-2:] == ["PrepareCommit", "CompleteCommit"]
    for x in parts:
        assert [m[1] for m in markers(x)] == ["COMMIT"], x.name
    assert sorted(v for _, _, v in sim.read_all("t")) == ["a", "b"]
    gc = sim.cluster.group_coordinator
    assert gc.fetch("g", [("in", 0)], require_stable=True) == (None, {("in", 0): 1})


def test_rule6_coordinator_crash_after_prepare_abort_still_aborts():
    sim = new_sim()
    p = txn_producer(sim)
    p.init_transactions()
    p.begin_transaction()
    p.produce("t", value="a", partition=0)
    p.flush()
    _crash_after(sim, "PrepareAbort")
    p.abort_transaction()
    sim.settle(1000)
    assert sim.cluster.txn_coordinator.txns[TXN].state == "CompleteAbort"
    assert markers(sim.cluster.partition("t", 0)) == [(1, "ABORT")]
    assert sim.read_all("t") == []
    assert [v for _, _, v in sim.read_all("t", "read_uncommitted")] == ["a"]


def test_rule6_a_crashed_coordinator_does_not_answer():
    sim = new_sim()
    p = txn_producer(sim)
    p.init_transactions()
    p.begin_transaction()
    p.produce("t", value="a", partition=0)
    p.flush()
    old = sim.cluster.txn_coordinator
    sim.crash_txn_coordinator(downtime_ms=5000)
    t0 = sim.now
    p.commit_transaction()
    assert sim.now - t0 >= 5000
    assert old.txns[TXN].state == "Ongoing"


def test_rule6_end_txn_retry_after_failover_is_not_fenced_tv2():
    sim = Simulation(seed=0, faults={"apis": ["end_txn"], "lose_responses": [1]})
    sim.create_topic("t", 1)
    p = txn_producer(sim, "2", **{"request.timeout.ms": 1000})
    p.init_transactions()
    p.begin_transaction()
    p.produce("t", value="a")
    p.flush()
    _crash_after(sim, "PrepareCommit", downtime_ms=300)
    p.commit_transaction()  # the first answer is lost; the retry reaches the successor
    assert p.txn_state == "READY"
    assert [v for _, _, v in sim.read_all("t")] == ["a"]


def test_rule6_end_txn_retry_with_lost_response_is_answered_none():
    for tv in ("1", "2"):
        sim = Simulation(seed=0, faults={"apis": ["end_txn"], "lose_responses": [1]})
        sim.create_topic("t", 1)
        p = txn_producer(sim, tv, **{"request.timeout.ms": 1000})
        p.init_transactions()
        p.begin_transaction()
        p.produce("t", value="a")
        p.commit_transaction()
        assert p.txn_state == "READY"
        assert any(ev["kind"] == "lost" for ev in sim.trace)
        assert [v for _, _, v in sim.read_all("t")] == ["a"]
        p.begin_transaction()  # and the producer goes on
        p.produce("t", value="b")
        p.commit_transaction()
        assert [v for _, _, v in sim.read_all("t")] == ["a", "b"]


# ------------------------------------------------------------- rule 7: markers
def test_rule7_markers_take_one_offset_per_partition_including_consumer_offsets():
    sim = new_sim()
    sim.create_topic("in", 1)
    sim.cluster.partition("in", 0).append_data([(None, "i0"), (None, "i1")])
    c = sim.Consumer({"group.id": "g", "auto.offset.reset": "earliest",
                      "enable.auto.commit": False})
    c.subscribe(["in"])
    assert len(c.consume(10, timeout=1.0)) == 2
    p = txn_producer(sim)
    p.init_transactions()
    for i in range(2):
        p.begin_transaction()
        p.produce("t", value=f"a{i}", partition=0)
        p.produce("t", value=f"b{i}", partition=1)
        p.send_offsets_to_transaction(c.position(c.assignment()),
                                      c.consumer_group_metadata())
        p.commit_transaction()
    sim.settle(100)
    gp = coordinator_partition("g", sim.cluster.config["offsets.topic.num.partitions"])
    assert gp == 3  # "g".hashCode() = 103; 103 % 50
    op = sim.cluster.partition(OFFSETS_TOPIC, gp)
    assert op is sim.cluster.offsets_partition_for("g")
    for part in [*sim.cluster.partitions("t"), op]:
        ms = [b for b in part.log if b.control is not None]
        assert [b.control for b in ms] == ["COMMIT", "COMMIT"], part.name
        assert all(len(b.records) == 1 for b in ms)
        assert [b.base_offset for b in ms] == [1, 3]  # data, marker, data, marker
        assert part.leo == 4
    assert data(sim.cluster.partition("t", 0)) == [(0, "a0"), (2, "a1")]
    # never returned to consumers, whatever the isolation level
    for iso in ("read_committed", "read_uncommitted"):
        rc = sim.Consumer({"group.id": f"r-{iso}", "auto.offset.reset": "earliest",
                           "isolation.level": iso, "enable.auto.commit": False})
        rc.assign([TopicPartition("t", 0, 0), TopicPartition("t", 1, 0)])
        got = []
        for _ in range(4):
            got += rc.consume(100, timeout=0.1)
        assert sorted((m.partition(), m.offset(), m.value()) for m in got) == [
            (0, 0, "a0"), (0, 2, "a1"), (1, 0, "b0"), (1, 2, "b1")]
        # the position moved past the trailing marker
        assert [tp.offset for tp in rc.position()] == [4, 4]


def test_rule7_filters_never_return_control_records():
    sim = new_sim(1)
    part = sim.cluster.partition("t", 0)
    part.append_data([(None, "x")], producer_id=9, epoch=0, base_seq=0, transactional=True)
    part.append_marker(9, 0, "COMMIT")
    batches, aborted, _ = part.read(0, "read_uncommitted")
    assert read_uncommitted_filter(batches, aborted) == [(0, None, "x")]
    batches, aborted, _ = part.read(0, "read_committed")
    assert read_committed_filter(batches, aborted) == [(0, None, "x")]


# --------------------------------------------------- rules 8 and 9: LSO, aborted index
def test_rule8_lso_stops_at_first_open_transaction_while_hw_moves_on():
    sim = new_sim(1)
    part = sim.cluster.partition("t", 0)
    part.append_data([(None, "n0")])  # 0: plain
    part.append_data([(None, "t1")], producer_id=1, epoch=0, base_seq=0,
                     transactional=True)  # 1: txn of pid 1 opens
    part.append_data([(None, "n2")])  # 2: plain
    part.append_data([(None, "u3")], producer_id=2, epoch=0, base_seq=0,
                     transactional=True)  # 3: txn of pid 2 opens
    part.append_marker(2, 0, "COMMIT")  # 4: pid 2 commits
    assert (part.hw, part.leo, part.lso) == (5, 5, 1)
    assert [b.base_offset for b in part.read(0, "read_committed")[0]] == [0]
    assert [b.base_offset for b in part.read(0, "read_uncommitted")[0]] == [0, 1, 2, 3, 4]
    c = sim.Consumer({"group.id": "g", "isolation.level": "read_committed"})
    assert c.get_watermark_offsets(TopicPartition("t", 0)) == (0, 1)
    part.append_marker(1, 0, "COMMIT")  # 5: pid 1 commits: everything is stable
    assert (part.hw, part.lso) == (6, 6)
    recs = read_committed_filter(*part.read(0, "read_committed")[:2])
    assert [v for _, _, v in recs] == ["n0", "t1", "n2", "u3"]


def test_rule8_lso_waits_for_the_marker_to_be_replicated():
    sim = Simulation(seed=0, cluster={"brokers": 3, "replica.fetch.wait.ms": 20})
    [part] = sim.create_topic("t", 1, replication_factor=3)
    part.append_data([(None, "a")], producer_id=5, epoch=0, base_seq=0, transactional=True)
    sim.sleep(25)
    assert (part.hw, part.lso) == (1, 0)  # replicated but undecided
    part.append_marker(5, 0, "COMMIT")
    assert (part.leo, part.hw, part.lso) == (2, 1, 0)  # decided, marker not below HW
    sim.sleep(25)
    assert (part.hw, part.lso) == (2, 2)
    assert part.lso <= part.hw <= part.leo


def test_rule9_aborted_index_filtering_interleaved_transactions():
    sim = new_sim(1)
    part = sim.cluster.partition("t", 0)
    part.append_data([(None, "A0")], producer_id=1, epoch=0, base_seq=0, transactional=True)
    part.append_data([(None, "B0")], producer_id=2, epoch=0, base_seq=0, transactional=True)
    part.append_data([(None, "plain")])
    part.append_data([(None, "A1")], producer_id=1, epoch=0, base_seq=1, transactional=True)
    part.append_marker(1, 0, "ABORT")
    part.append_marker(2, 0, "COMMIT")
    # pid 1 again, after its abort: a new transaction that commits
    part.append_data([(None, "A2")], producer_id=1, epoch=0, base_seq=2, transactional=True)
    part.append_marker(1, 0, "COMMIT")
    assert [(a.producer_id, a.first_offset, a.last_offset) for a in part.aborted] == [
        (1, 0, 4)]
    batches, aborted, limit = part.read(0, "read_committed")
    assert limit == part.lso == part.hw == 8
    assert [(a.producer_id, a.first_offset) for a in aborted] == [(1, 0)]
    assert [v for _, _, v in read_committed_filter(batches, aborted)] == [
        "B0", "plain", "A2"]
    batches, aborted, _ = part.read(0, "read_uncommitted")
    assert aborted == []
    assert [v for _, _, v in read_uncommitted_filter(batches, aborted)] == [
        "A0", "B0", "plain", "A1", "A2"]
    # a fetch starting past the aborted range gets no aborted entry
    assert part.read(6, "read_committed")[1] == []


def test_rule9_non_transactional_batches_are_never_filtered():
    sim = new_sim(1)
    part = sim.cluster.partition("t", 0)
    part.append_data([(None, "T0")], producer_id=1, epoch=0, base_seq=0, transactional=True)
    # a non-transactional batch carrying the same producer id, inside the aborted range. A
    # leader refuses to append one now (INVALID_TXN_STATE, tests/test_deviations.py), so it
    # is put in the log directly, as a log written by an older broker may hold it: the
    # filter must still go by the batch's transactional flag, not by its producer id alone.
    part._append(Batch(part.leo, [(None, "N1")], 1, 0, 1, False, None, 0.0))
    part.append_marker(1, 0, "ABORT")
    recs = read_committed_filter(*part.read(0, "read_committed")[:2])
    assert [v for _, _, v in recs] == ["N1"]


def test_rule9_only_non_empty_aborted_transactions_are_indexed():
    sim = new_sim(1)
    part = sim.cluster.partition("t", 0)
    part.append_marker(1, 0, "ABORT")  # nothing was written by pid 1
    assert part.aborted == []
    assert part.leo == 1


def test_rule9_read_committed_consumer_never_returns_aborted_records():
    committed = run_scenario("read-committed", seed=0, messages=30,
                             config={"isolation.level": "read_committed"})
    uncommitted = run_scenario("read-committed", seed=0, messages=30,
                               config={"isolation.level": "read_uncommitted"})
    assert committed.counts["txn_aborted"] > 0
    assert committed.counts["aborted_reads"] == 0
    assert committed.counts["uncommitted_reads"] == 0
    assert uncommitted.counts["aborted_reads"] > 0
    assert uncommitted.counts["uncommitted_reads"] > 0


# --------------------------------------------------------------- rule 10: timeout
def _timed_out(tv):
    sim = new_sim()
    p = txn_producer(sim, tv, **{"transaction.timeout.ms": 1000})
    p.init_transactions()
    e0 = p.epoch
    p.begin_transaction()
    p.produce("t", value="a", partition=0)
    p.flush()
    tc = sim.cluster.txn_coordinator
    interval = sim.cluster.config[
        "transaction.abort.timed.out.transaction.cleanup.interval.ms"]
    assert interval == 10_000
    sim.sleep(1000 + 500)
    assert tc.txns[TXN].state == "Ongoing"  # past the timeout, before the periodic check
    sim.sleep(interval)
    return sim, tc, p, e0


@pytest.mark.parametrize("tv", ["1", "2"])
def test_rule10_timeout_aborts_bumps_epoch_and_fences_the_producer(tv):
    sim, tc, p, e0 = _timed_out(tv)
    assert states(tc) == ["Empty", "Ongoing", "PrepareEpochFence", "PrepareAbort",
                          "CompleteAbort"]
    assert tc.txns[TXN].epoch > e0
    assert markers(sim.cluster.partition("t", 0)) == [(1, "ABORT")]
    if tv == "2":
        # TV2 (Kafka 4.1, TransactionCoordinator.endTransaction): the timeout fence bumped the
        # epoch once (e+1), so the client's abort at e is a retry of that abort
        # (retryOnEpochBump) and is answered OK with e+1 (TransactionCoordinatorTest
        # .shouldHandleTimeoutAtEpochOverflowBoundaryCorrectlyAndLateClientAbortRequestTV2):
        # the producer is not fenced, it aborts and goes on; a commit at e is
        # INVALID_TXN_STATE (PrepareAbort/CompleteAbort with a COMMIT result)
        p.produce("t", value="b", partition=0)
        err = error_of(p.commit_transaction)
        assert err.name() == "INVALID_PRODUCER_EPOCH" and err.txn_requires_abort()
        p.abort_transaction()
        assert p.epoch == tc.txns[TXN].epoch
        p.begin_transaction()
        p.produce("t", value="c", partition=0)
        p.commit_transaction()
        assert [v for _, _, v in sim.read_all("t")] == ["c"]
        return
    assert_fenced_zombie(p, "b")
    # every later call is fatal too
    for call in (p.begin_transaction, p.init_transactions, p.commit_transaction):
        assert error_of(call).name() == "_FENCED"
    # librdkafka refuses produce after any fatal error with _FATAL (rd_kafka_check_produce:
    # "Producing not allowed since a previous fatal error was raised")
    err = error_of(lambda: p.produce("t", value="c"))
    assert err.name() == "_FATAL" and err.fatal()
    assert sim.read_all("t") == []
    assert sim.history.of("fenced")


def test_rule10_a_transaction_within_its_timeout_is_not_aborted():
    sim = new_sim()
    p = txn_producer(sim, **{"transaction.timeout.ms": 30_000})
    p.init_transactions()
    p.begin_transaction()
    p.produce("t", value="a", partition=0)
    sim.sleep(25_000)  # two cleanup checks pass; the transaction is 25 s old
    p.commit_transaction()
    assert states(sim.cluster.txn_coordinator)[-1] == "CompleteCommit"
    assert [v for _, _, v in sim.read_all("t")] == ["a"]


def test_rule10_transaction_timeout_above_broker_max_is_rejected():
    sim = new_sim()
    p = txn_producer(sim, **{"transaction.timeout.ms": 900_001})
    assert error_of(p.init_transactions).name() == "INVALID_TRANSACTION_TIMEOUT"


# ------------------------------------------------------- rule 11: pending txn offsets
def _offsets_txn(sim, group="g"):
    sim.create_topic("in", 1)
    sim.cluster.partition("in", 0).append_data([(None, f"i{i}") for i in range(3)])
    c = sim.Consumer({"group.id": group, "auto.offset.reset": "earliest",
                      "enable.auto.commit": False, "isolation.level": "read_committed"})
    c.subscribe(["in"])
    assert len(c.consume(10, timeout=1.0)) == 3
    p = txn_producer(sim)
    p.init_transactions()
    p.begin_transaction()
    p.produce("t", value="out", partition=0)
    p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata())
    return c, p


def test_rule11_offsets_pending_until_commit_marker_and_unstable_meanwhile():
    sim = new_sim()
    gc = sim.cluster.group_coordinator
    c, p = _offsets_txn(sim)
    tp = ("in", 0)
    assert gc.group("g").pending == {p.pid: {tp: 3}}
    assert gc.fetch("g", [tp], require_stable=True) == ("UNSTABLE_OFFSET_COMMIT", {})
    assert gc.fetch("g", [tp], require_stable=False) == (None, {tp: None})
    err = error_of(lambda: c.committed([TopicPartition("in", 0)], timeout=0.3))
    assert err.name() == "_TIMED_OUT"  # retried on UNSTABLE_OFFSET_COMMIT until the timeout
    # still pending at PrepareCommit: only the COMMIT marker applies them
    seen = {}
    tc = sim.cluster.txn_coordinator
    orig = tc.transition

    def transition(meta, new):
        orig(meta, new)
        if new == "PrepareCommit":
            seen["at_prepare"] = gc.fetch("g", [tp], require_stable=False)

    tc.transition = transition
    p.commit_transaction()
    assert seen["at_prepare"] == (None, {tp: None})
    sim.settle(10)
    assert gc.fetch("g", [tp], require_stable=True) == (None, {tp: 3})
    assert gc.group("g").pending == {}
    assert [x.offset for x in c.committed([TopicPartition("in", 0)])] == [3]


def test_rule11_offsets_discarded_on_abort():
    sim = new_sim()
    gc = sim.cluster.group_coordinator
    c, p = _offsets_txn(sim)
    tp = ("in", 0)
    p.abort_transaction()
    sim.settle(10)
    assert gc.group("g").pending == {}
    assert gc.fetch("g", [tp], require_stable=True) == (None, {tp: None})
    op = sim.cluster.offsets_partition_for("g")
    assert [m[1] for m in markers(op)] == ["ABORT"]
    assert op.aborted and op.aborted[0].producer_id == p.pid


# ------------------------------------------------------------------ rule 12: TV1 / TV2
@pytest.mark.parametrize(("tv", "bumps"), [("1", False), ("2", True)])
def test_rule12_epoch_per_transaction(tv, bumps):
    sim = new_sim(1)
    p = txn_producer(sim, tv)
    p.init_transactions()
    epochs = [p.epoch]
    for i in range(3):
        p.begin_transaction()
        p.produce("t", value=f"v{i}")
        if i == 1:
            p.flush()  # see test_abort_right_after_produce_* for the unflushed case
            p.abort_transaction()
        else:
            p.commit_transaction()
        epochs.append(p.epoch)
    e0 = epochs[0]
    assert epochs == ([e0, e0 + 1, e0 + 2, e0 + 3] if bumps else [e0] * 4)
    assert sim.cluster.txn_coordinator.txns[TXN].epoch == epochs[-1]
    part = sim.cluster.partition("t", 0)
    # the markers carry the epoch in force; the partition follows it
    assert part.producers[p.pid].epoch == epochs[-1]
    assert [v for _, _, v in sim.read_all("t")] == ["v0", "v2"]


@pytest.mark.parametrize("tv", ["1", "2"])
def test_rule12_stale_produce_from_previous_transaction(tv):
    """KAFKA-17754: under TV1 a delayed produce of transaction n lands in transaction n+1;
    under TV2 its old epoch is rejected."""
    sim = new_sim(1)
    p = txn_producer(sim, tv)
    p.init_transactions()
    p.begin_transaction()
    p.produce("t", value="n")
    p.commit_transaction()
    stale_epoch = p.epoch if tv == "1" else p.epoch - 1
    p.begin_transaction()
    p.produce("t", value="n+1")
    p.flush()
    part = sim.cluster.partition("t", 0)
    next_seq = part.producers[p.pid].last_seq + 1
    out = []
    req = {"topic": "t", "partition": 0, "records": [(None, "delayed-from-n")],
           "pid": p.pid, "epoch": stale_epoch, "seq": next_seq, "transactional": True,
           "txn_id": TXN, "acks": "all", "label": "delayed", "ref": None}
    sim.cluster.handle_produce(req, 0, out.append)
    p.commit_transaction()
    values = [v for _, _, v in sim.read_all("t")]
    if tv == "1":
        assert out[0]["error"] is None
        assert values == ["n", "n+1", "delayed-from-n"]
    else:
        assert out[0]["error"] == "INVALID_PRODUCER_EPOCH"
        assert values == ["n", "n+1"]


def test_abort_right_after_produce_leaves_no_open_transaction():
    sim = new_sim(1)
    p = txn_producer(sim)
    p.init_transactions()
    p.begin_transaction()
    p.produce("t", value="a")
    p.abort_transaction()
    sim.settle(1000)
    assert sim.cluster.txn_coordinator.txns[TXN].state != "Ongoing"


def test_abort_right_after_produce_then_next_transaction_commits_its_record():
    sim = new_sim(1)
    p = txn_producer(sim)
    p.init_transactions()
    p.begin_transaction()
    p.produce("t", value="a")
    p.abort_transaction()
    p.begin_transaction()
    reports = []
    p.produce("t", value="b", on_delivery=lambda err, msg: reports.append(err))
    p.commit_transaction()
    assert reports == [None]
    assert [v for _, _, v in sim.read_all("t")] == ["b"]


def _lose_produce_request(sim, number):
    """Make the ``number``-th produce request (1-based) never reach the broker."""
    inj = sim.injector
    orig = inj.decide
    seen = {"produce": 0}

    def decide(api):
        verdict = orig(api)
        if api == "produce":
            seen["produce"] += 1
            if seen["produce"] == number:
                return True, False, 0.0
        return verdict

    inj.decide = decide


@pytest.mark.parametrize("tv", [
    "1",
    "2",
])
def test_transactions_recover_after_an_abort_that_purged_sent_batches(tv):
    sim = new_sim(1)
    _lose_produce_request(sim, 2)
    p = txn_producer(sim, tv, **{"request.timeout.ms": 1000, "linger.ms": 0})
    p.init_transactions()
    p.begin_transaction()
    p.produce("t", value="x")
    p.commit_transaction()
    p.begin_transaction()
    p.produce("t", value="a")  # request lost; times out at 1 s and waits to be retried
    sim.sleep(1050)
    p.abort_transaction()  # purges it
    for i in range(3):
        p.begin_transaction()
        p.produce("t", value=f"c{i}")
        p.commit_transaction()
    assert [v for _, _, v in sim.read_all("t")] == ["x", "c0", "c1", "c2"]


# ------------------------------------------------------- misuse of the transactional API
def _snapshot(sim, p):
    tc = sim.cluster.txn_coordinator
    meta = tc.txns.get(TXN)
    return (p.txn_state, p.epoch, len(p), meta and meta.state, meta and meta.epoch,
            len(tc.log), sim.cluster.partition("t", 0).leo)


def _consumer_meta(sim):
    return sim.Consumer({"group.id": "g"}).consumer_group_metadata()


@pytest.mark.parametrize("misuse", [
    "begin_before_init", "produce_before_init", "commit_before_init", "init_twice",
    "produce_outside_txn", "commit_without_begin", "abort_without_begin",
    "send_offsets_outside_txn", "begin_twice",
])
def test_misuse_raises_state_and_leaves_no_partial_state(misuse):
    sim = new_sim()
    p = txn_producer(sim)
    offs = [TopicPartition("t", 0, 1)]
    if not misuse.endswith("before_init"):
        p.init_transactions()
    if misuse == "begin_twice":
        p.begin_transaction()
    call = {
        "begin_before_init": p.begin_transaction,
        "produce_before_init": lambda: p.produce("t", value="x", partition=0),
        "commit_before_init": p.commit_transaction,
        "init_twice": p.init_transactions,
        "produce_outside_txn": lambda: p.produce("t", value="x", partition=0),
        "commit_without_begin": p.commit_transaction,
        "abort_without_begin": p.abort_transaction,
        "send_offsets_outside_txn": lambda: p.send_offsets_to_transaction(
            offs, _consumer_meta(sim)),
        "begin_twice": p.begin_transaction,
    }[misuse]
    before = _snapshot(sim, p)
    err = error_of(call)
    assert err.name() == "_STATE"
    assert not err.fatal() and not err.txn_requires_abort()
    sim.settle(100)
    assert _snapshot(sim, p) == before
    # the producer can still be used correctly
    if p.txn_state == "UNINITIALIZED":
        p.init_transactions()
    if p.txn_state == "READY":
        p.begin_transaction()
    p.produce("t", value="good", partition=0)
    p.commit_transaction()
    assert [v for _, _, v in sim.read_all("t")] == ["good"]


@pytest.mark.parametrize(("client", "name"), [
    # rd_kafka_ensure_transactional: "The Transactional API requires transactional.id to be
    # configured" (RD_KAFKA_RESP_ERR__NOT_CONFIGURED)
    ("librdkafka", "_NOT_CONFIGURED"),
    # TransactionManager.ensureTransactional: IllegalStateException "Transactional method
    # invoked on a non-transactional producer."
    ("java", "_STATE"),
])
def test_misuse_transactional_api_without_transactional_id(client, name):
    sim = new_sim()
    p = sim.Producer({"client": client, "enable.idempotence": True})
    meta = _consumer_meta(sim)
    calls = [p.init_transactions, p.begin_transaction, p.commit_transaction,
             p.abort_transaction,
             lambda: p.send_offsets_to_transaction([TopicPartition("t", 0, 0)], meta)]
    for call in calls:
        err = error_of(call)
        assert err.name() == name and "transactional.id" in err.str()
    assert TXN not in sim.cluster.txn_coordinator.txns
    p.produce("t", value="plain", partition=0)  # still an ordinary idempotent producer
    assert p.flush() == 0
    assert [v for _, _, v in sim.read_all("t")] == ["plain"]


def test_misuse_any_call_after_fencing_is_fatal():
    sim, tc, old, new, e0, _ = _fence_by_new_instance("1")
    assert_fenced_zombie(old, "late")
    meta = _consumer_meta(sim)
    calls = [old.init_transactions, old.begin_transaction, old.commit_transaction,
             old.abort_transaction,
             lambda: old.send_offsets_to_transaction([TopicPartition("t", 0, 0)], meta)]
    for call in calls:
        err = error_of(call)
        assert err.name() == "_FENCED" and err.fatal()
    err = error_of(lambda: old.produce("t", value="x", partition=0))
    assert err.name() == "_FATAL" and err.fatal()
    assert old.txn_state == "FATAL_ERROR"
    assert sim.read_all("t") == []


def test_misuse_commit_after_abortable_error_requires_abort():
    sim = new_sim()
    p = txn_producer(sim)
    p.init_transactions()
    p.begin_transaction()
    p.produce("t", value="a", partition=0)
    p.flush()
    # the broker fences the current epoch out from under the producer (a newer marker)
    sim.cluster.txn_coordinator.txns[TXN].epoch += 1
    p.produce("t", value="b", partition=0)
    err = error_of(p.commit_transaction)
    assert err.txn_requires_abort()
    assert error_of(p.commit_transaction).name() == err.name()  # commit is refused again
    assert error_of(lambda: p.produce("t", value="c", partition=0)).txn_requires_abort()


def test_rule5_init_during_ongoing_tv2_bumps_once_for_the_fence():
    # Kafka 4.1 (KAFKA-19367, PR #19910/#19976; TransactionCoordinator.handleInitProducerId):
    # the fence bumps once (e+1), the ABORT markers carry e+1 (4.0 bumped a second time
    # here), and the new instance's retried InitProducerId lands on e+2
    sim, tc, old, new, e0, replies = _fence_by_new_instance("2")
    assert [r[1] for r in replies] == ["CONCURRENT_TRANSACTIONS", None]
    assert replies[0][2] == e0 + 1
    assert new.epoch == e0 + 2 == tc.txns[TXN].epoch
    assert sim.cluster.partition("t", 0).producers[old.pid].epoch == e0 + 1
