"""eoslib.confluent_kafka: confluent-kafka 2.x's surface over the simulated librdkafka clients.

Where the installed confluent-kafka (a dependency) can say what the real surface is without
a broker (error codes, texts, reprs, which methods exist, config errors), the test asks it.
"""

from __future__ import annotations

import logging

import confluent_kafka as real
import pytest

import eoslib
from eoslib import Simulation
from eoslib import confluent_kafka as ck
from eoslib.confluent_kafka import keys
from eoslib.errors import ConfigException

#: real methods the simulated classes leave out, each with its reason
NOT_SIMULATED_METHODS = {
    "Message": {"deserialized_key", "deserialized_value"},  # serializing clients only
}


@pytest.fixture
def sim():
    s = Simulation(seed=3)
    with ck.use(s):
        yield s


def _public(cls) -> set[str]:
    return {n for n in dir(cls) if not n.startswith("_")}


@pytest.mark.parametrize("name", ["Producer", "Consumer", "Message", "TopicPartition"])
def test_every_public_method_of_the_real_class_exists(name):
    missing = _public(getattr(real, name)) - _public(getattr(ck, name)) \
        - NOT_SIMULATED_METHODS.get(name, set())
    assert not missing


def test_error_codes_names_and_texts_are_librdkafkas():
    codes = {n: getattr(real.KafkaError, n) for n in dir(real.KafkaError)
             if isinstance(getattr(real.KafkaError, n), int) and not n.startswith("__")}
    assert len(codes) > 150
    for name, code in codes.items():
        assert getattr(ck.KafkaError, name) == code
        assert ck.KafkaError(code).name() == real.KafkaError(code).name()
        assert ck.KafkaError(code).str() == real.KafkaError(code).str()
    for args in [(real.KafkaError._PARTITION_EOF,), (6, "reason", True), (-172, None)]:
        assert str(ck.KafkaError(*args)) == str(real.KafkaError(*args))
        assert repr(ck.KafkaError(*args)) == repr(real.KafkaError(*args))
    e = ck.KafkaError(ck.KafkaError._FENCED, fatal=True, txn_requires_abort=False)
    assert e.fatal() and not e.retriable() and not e.txn_requires_abort()
    assert e == -144 and e == ck.KafkaError(-144) and hash(e) == -144


def test_a_simulator_error_is_lifted_and_caught_both_ways(sim):
    p = ck.Producer({"transactional.id": "t"})
    with pytest.raises(ck.KafkaException) as info:
        p.begin_transaction()  # before init_transactions
    err = info.value.args[0]
    assert isinstance(err, ck.KafkaError) and err.code() == ck.KafkaError._STATE
    assert isinstance(info.value, eoslib.KafkaException)  # the course's except clauses too
    assert str(info.value).startswith("KafkaError{code=_STATE,val=-172,")


def test_topic_partition_compares_like_confluent_kafkas():
    a, b = ck.TopicPartition("t", 0, 5), ck.TopicPartition("t", 0, 6)
    ra, rb = real.TopicPartition("t", 0, 5), real.TopicPartition("t", 0, 6)
    assert (a == b, a < b, hash(a) == hash(b)) == (ra == rb, ra < rb, hash(ra) == hash(rb))
    assert repr(a) == repr(ra)
    assert (ck.OFFSET_BEGINNING, ck.OFFSET_END, ck.OFFSET_STORED, ck.OFFSET_INVALID) == \
        (real.OFFSET_BEGINNING, real.OFFSET_END, real.OFFSET_STORED, real.OFFSET_INVALID)


# ------------------------------------------------------------------------ configuration
def test_a_key_librdkafka_lacks_is_refused_as_confluent_kafka_refuses_it(sim):
    with pytest.raises(real.KafkaException) as truth:
        real.Producer({"bootstrap.server": "x"})
    with pytest.raises(ck.KafkaException) as ours:
        ck.Producer({"bootstrap.server": "x"})
    assert ours.value.args[0].code() == truth.value.args[0].code() == real.KafkaError._INVALID_ARG
    assert str(truth.value.args[0].str()) in str(ours.value)  # same words, plus a hint
    assert "did you mean 'bootstrap.servers'" in str(ours.value)


def test_keys_that_change_nothing_here_are_accepted_and_listed_with_their_reason(sim):
    logger = logging.getLogger("shim-test")
    p = ck.Producer({"debug": "all", "ssl.ca.location": "/x", "statistics.interval.ms": 100,
                     "stats_cb": print, "compression.type": "zstd"}, logger=logger)
    assert set(p.not_simulated) == {"debug", "ssl.ca.location", "statistics.interval.ms",
                                    "stats_cb", "compression.type", "logger"}
    assert "authentication" in p.not_simulated["ssl.ca.location"]


def test_a_value_the_simulator_cannot_honour_names_key_value_and_what_is_allowed(sim):
    with pytest.raises(ConfigException) as e:
        ck.Consumer({"group.id": "g", "partition.assignment.strategy": "cooperative-sticky"})
    assert e.value.key == "partition.assignment.strategy"
    assert e.value.value == "cooperative-sticky" and "range" in e.value.allowed
    with pytest.raises(ConfigException, match="group.protocol"):
        ck.Consumer({"group.id": "g", "group.protocol": "consumer"})


def test_the_key_tables_are_one_place_each_key_once_each_reason_given():
    tables = [set(keys.SIMULATED), set(keys.HANDLED), set(keys.ONLY), set(keys.NOT_SIMULATED)]
    assert sum(map(len, tables)) == len(set().union(*tables))
    assert all(why.strip() for why in keys.NOT_SIMULATED.values())
    assert len(keys.KNOWN) > 190  # librdkafka's CONFIGURATION.md + the Python client's own


def test_librdkafka_aliases_and_values_reach_the_simulator(sim):
    p = ck.Producer({"queue.buffering.max.ms": 20, "request.required.acks": -1,
                     "message.timeout.ms": 5000})
    assert (p.config["linger.ms"], p.config["acks"], p.config["delivery.timeout.ms"]) == \
        (20, "all", 5000)
    c = ck.Consumer({"group.id": "g", "auto.offset.reset": "smallest"})
    assert c.config["auto.offset.reset"] == "earliest" and c.config["client"] == "librdkafka"
    with pytest.raises(ValueError, match="group.id must be set"):
        ck.Consumer({"bootstrap.servers": "x"})


def test_a_consumer_key_on_a_producer_is_ignored_with_librdkafkas_warning(sim, capsys):
    ck.Producer({"enable.partition.eof": True})
    assert "is a consumer property and will be ignored" in capsys.readouterr().err


# ----------------------------------------------------------------------------- producer
def test_produce_sends_bytes_and_reports_offset_time_and_latency(sim):
    p, reports = ck.Producer({"bootstrap.servers": "localhost:9092"}), []
    p.produce("t", "hé", key=b"k", headers=[("h", "v")],
              on_delivery=lambda e, m: reports.append((e, m)))
    with pytest.raises(TypeError, match="bytes-like object is required, not 'int'"):
        p.produce("t", 12)
    assert len(p) == 1 and p.flush() == 0
    err, msg = reports[0]
    assert err is None and (msg.value(), msg.key(), msg.offset()) == ("hé".encode(), b"k", 0)
    assert msg.headers() == [("h", b"v")] and msg.timestamp()[0] == ck.TIMESTAMP_CREATE_TIME
    assert msg.latency() >= 0 and msg.partition() == 0


def test_a_full_producer_queue_raises_buffer_error(sim):
    p = ck.Producer({"queue.buffering.max.messages": 2, "linger.ms": 1000})
    p.produce("t", "a")
    p.produce("t", "b")
    with pytest.raises(BufferError, match="Queue full"):
        p.produce("t", "c")


def test_error_cb_hears_a_fatal_error_when_a_newer_instance_fences(sim):
    heard = []
    old = ck.Producer({"transactional.id": "tx", "error_cb": heard.append})
    old.init_transactions()
    old.begin_transaction()
    old.produce("t", "x")
    ck.Producer({"transactional.id": "tx"}).init_transactions()  # fences the old one
    with pytest.raises(ck.KafkaException):
        old.commit_transaction()
    old.poll(0)
    assert [e.code() for e in heard] == [ck.KafkaError._FATAL] and heard[0].fatal()


# ----------------------------------------------------------------------------- consumer
def _filled(sim, n=3, topic="in"):
    p = ck.Producer({})
    for i in range(n):
        p.produce(topic, f"m{i}")
    p.flush()


def test_partition_eof_comes_once_per_end_offset_after_the_records(sim):
    _filled(sim)
    c = ck.Consumer({"group.id": "g", "enable.partition.eof": True,
                     "auto.offset.reset": "earliest"})
    c.assign([ck.TopicPartition("in", 0)])
    got = [c.poll(1.0) for _ in range(6)]
    kinds = [None if m is None else (m.offset(), m.error() and m.error().name()) for m in got]
    assert kinds == [(0, None), (1, None), (2, None), (3, "_PARTITION_EOF"), None, None]
    _filled(sim, 1)  # a new end offset: one more EOF after the new record
    more = [c.poll(1.0) for _ in range(2)]
    assert [(m.offset(), m.error() and m.error().code()) for m in more] == \
        [(3, None), (4, ck.KafkaError._PARTITION_EOF)]
    polled = [r for op in sim.history.ops if op.f == "poll" for r in op.value["records"]]
    assert len(polled) == 4  # EOF events are not records


def test_stored_offsets_are_what_close_commits(sim):
    _filled(sim)
    conf = {"group.id": "g", "auto.offset.reset": "earliest", "enable.auto.offset.store": False}
    c = ck.Consumer(conf)
    c.subscribe(["in"])
    first = c.poll(5.0)
    c.poll(1.0)  # a second message, read but not stored
    c.store_offsets(first)
    c.close()
    with pytest.raises(RuntimeError, match="Consumer closed"):
        c.poll(0)
    check = ck.Consumer(conf)
    assert check.committed([ck.TopicPartition("in", 0)])[0].offset == 1
    check.subscribe(["in"])
    check.poll(5.0)
    with pytest.raises(ck.KafkaException, match="_NO_OFFSET"):
        check.commit(asynchronous=False)  # nothing stored yet
    auto = ck.Consumer({"group.id": "h"})
    auto.subscribe(["in"])
    with pytest.raises(ck.KafkaException, match="_INVALID_ARG"):
        auto.store_offsets(offsets=[ck.TopicPartition("in", 0, 1)])


def test_rebalance_callbacks_get_the_consumer_and_assign_sets_start_offsets(sim):
    _filled(sim, 5)
    seen = []

    def on_assign(consumer, parts):
        seen.append(("assign", consumer, parts))
        consumer.assign([ck.TopicPartition(tp.topic, tp.partition, 3) for tp in parts])

    c = ck.Consumer({"group.id": "g"})
    c.subscribe(["in"], on_assign=on_assign, on_revoke=lambda cc, p: seen.append(("revoke",)))
    m = c.poll(5.0)
    assert seen[0][1] is c and seen[0][2] == [ck.TopicPartition("in", 0)]
    assert isinstance(seen[0][2][0], ck.TopicPartition) and m.offset() == 3
    c.close()
    assert seen[-1] == ("revoke",)


def test_on_commit_reports_each_commit_at_the_next_poll(sim):
    _filled(sim)
    commits = []
    c = ck.Consumer({"group.id": "g", "enable.auto.commit": False,
                     "auto.offset.reset": "earliest",
                     "on_commit": lambda err, parts: commits.append((err, parts))})
    c.subscribe(["in"])
    msg = c.poll(5.0)
    c.commit(message=msg, asynchronous=False)
    c.poll(0.1)
    assert commits == [(None, [ck.TopicPartition("in", 0)])] and commits[0][1][0].offset == 1


def test_logical_offsets_and_list_topics(sim):
    _filled(sim, 4)
    c = ck.Consumer({"group.id": "g"})
    c.assign([ck.TopicPartition("in", 0, ck.OFFSET_END)])
    assert c.poll(1.0) is None
    c.seek(ck.TopicPartition("in", 0, ck.OFFSET_BEGINNING))
    assert c.poll(1.0).offset() == 0
    md = c.list_topics()
    assert list(md.topics) == ["in"] and list(md.topics["in"].partitions) == [0]
    assert md.topics["in"].partitions[0].leader == 0
    gone = c.list_topics("nope").topics["nope"]
    assert gone.error.code() == ck.KafkaError.UNKNOWN_TOPIC_OR_PART and not gone.partitions


def test_subscribing_to_a_missing_topic_yields_librdkafkas_consumer_error(sim):
    c = ck.Consumer({"group.id": "g"})
    c.subscribe(["nope"])
    m = c.poll(1.0)
    assert m.error().code() == ck.KafkaError.UNKNOWN_TOPIC_OR_PART
    assert "Subscribed topic not available: nope" in m.error().str()


def test_a_client_named_by_a_simulation_address_uses_that_simulation():
    other = Simulation(seed=9)
    other.create_topic("x")
    p = ck.Producer({"bootstrap.servers": other.bootstrap_servers})
    p.produce("x", "v")
    p.flush()
    assert [v for _, _, v in other.read_all("x")] == [b"v"]
