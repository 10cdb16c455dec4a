"""The proxy's broker-like refusal of a Produce request (FaultProxy.refuse_produce).

Without a broker: the refusal's layout, its order (after earlier answers, before the next
Produce's), the fallback after ``wait``. With the session's broker: the proxy's refusal is
byte for byte the answer Kafka 4.1.1 gives when it refuses a partition before appending
(here UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist: the same
``PartitionResponse`` with base offset -1, no record errors, no message) in Produce v7 and
v10 (the version librdkafka 2.16 sends).
"""

from __future__ import annotations

import socket
import struct
import time
from typing import Any

import pytest
from test_real_proxy import _fake_broker, _frame, _read_frame, _request

from eoslib.real import broker
from eoslib.real.produce_wire import answers, batches, partitions, refusal, topic_id_text
from eoslib.real.proxy import FaultProxy


def _uvarint(n: int) -> bytes:
    assert n < 0x80
    return bytes([n])


def _produce(version: int, corr: int, topic: str | bytes, partition: int,
             records: bytes) -> bytes:
    """A Produce request frame of ``version`` (7: classic, 10: flexible, 13: flexible with
    ``topic`` as its 16-byte topic id), no transactional id."""
    flex = version >= 9
    name = topic if isinstance(topic, bytes) else topic.encode()
    head = struct.pack(">hhi", 0, version, corr) + struct.pack(">h", 4) + b"test"
    if flex:
        key = name if version >= 13 else _uvarint(len(name) + 1) + name
        body = (b"\0" + struct.pack(">hi", -1, 30000) + _uvarint(2) + key
                + _uvarint(2) + struct.pack(">i", partition)
                + bytes([len(records) + 1]) + records + b"\0" + b"\0" + b"\0")
        return _frame(head + b"\0" + body)
    body = (struct.pack(">hhi", -1, -1, 30000) + struct.pack(">i", 1)
            + struct.pack(">h", len(name)) + name + struct.pack(">i", 1)
            + struct.pack(">ii", partition, len(records)) + records)
    return _frame(head + body)


def _batch(pid: int, epoch: int, seq: int, count: int) -> bytes:
    """A record batch header (magic 2) as far as :func:`batches` reads it."""
    return (struct.pack(">qiib", 0, 49, 0, 2) + struct.pack(">ihiqq", 0, 0, count - 1, 0, 0)
            + struct.pack(">qhii", pid, epoch, seq, count))


@pytest.mark.parametrize("version", [7, 10])
def test_refusal_answers_each_partition_with_the_error_and_no_offset(version: int) -> None:
    req = _produce(version, 42, "topic-a", 3, _batch(1000, 2, 17, 4))
    assert partitions(req) == [(b"topic-a", [3])]
    assert batches(req) == [{"topic": "topic-a", "partition": 3, "producer_id": 1000,
                             "epoch": 2, "base_seq": 17, "records": 4}]
    ans = refusal(req, 19)
    at = 4 + 4 + (1 if version >= 9 else 0)  # size, correlation id, header tagged fields
    assert struct.unpack_from(">i", ans, 4)[0] == 42
    at += (1 if version >= 9 else 4) + (1 if version >= 9 else 2) + len("topic-a")
    at += 1 if version >= 9 else 4
    assert struct.unpack_from(">ihq", ans, at) == (3, 19, -1)
    assert struct.unpack_from(">i", ans, 0)[0] == len(ans) - 4
    assert answers(ans, version) == [{"partition": 3, "error_code": 19, "base_offset": -1,
                                      "error_message": None}]


def test_version_13_names_the_topic_by_its_id() -> None:
    """Kafka's Java client 4.1.1 sends Produce v13 (KIP-516: a 16-byte topic id, no name)."""
    tid = bytes(range(16))
    req = _produce(13, 9, tid, 0, _batch(5, 0, 1, 1))
    assert partitions(req) == [(tid, [0])]
    assert batches(req) == [{"topic": None, "topic_id": topic_id_text(tid), "partition": 0,
                             "producer_id": 5, "epoch": 0, "base_seq": 1, "records": 1}]
    ans = refusal(req, 19)
    assert ans[4 + 4 + 1 + 1:][:16] == tid  # size, correlation id, tags, 1 topic, the id
    assert answers(ans, 13) == [{"partition": 0, "error_code": 19, "base_offset": -1,
                                 "error_message": None}]


def test_refusal_names_the_versions_it_reads() -> None:
    with pytest.raises(ValueError, match="version 2: only 3-13"):
        refusal(_produce(7, 1, "t", 0, b"")[:6] + struct.pack(">h", 2)
                + _produce(7, 1, "t", 0, b"")[8:])
    proxy = FaultProxy(1, 2)
    with pytest.raises(ValueError, match="nth counts from 1"):
        proxy.refuse_produce(0)
    with pytest.raises(ValueError, match="wait must be >= 0 seconds, got -1"):
        proxy.refuse_produce(1, wait=-1)


def test_proxy_answers_the_refused_request_when_the_next_produce_is_on_its_way() -> None:
    srv, _ = _fake_broker()
    (port,) = broker.free_ports(1)
    with FaultProxy(port, srv.getsockname()[1]) as proxy:
        proxy.refuse_produce(1, wait=30)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(_produce(10, 1, "t", 0, _batch(7, 0, 0, 1)))  # R1: refused, held
            c.sendall(_request(3, 2))  # a Metadata request does not release it
            assert struct.unpack_from(">i", _read_frame(c) or b"")[0] == 2
            c.sendall(_produce(10, 3, "t", 0, _batch(7, 0, 1, 1)))  # R2 releases R1's answer
            first, second = _read_frame(c) or b"", _read_frame(c) or b""
            assert struct.unpack_from(">i", first)[0] == 1  # R1's refusal, then R2's answer
            assert struct.unpack_from(">i", second)[0] == 3
            assert first == refusal(_produce(10, 1, "t", 0, _batch(7, 0, 0, 1)))[4:]
        assert proxy.stats.refused == 1 and proxy.stats.refused_correlation_ids == [1]
        assert [(b["base_seq"], b["request"], b["refused"])
                for b in proxy.stats.produce_batches] == [(0, 1, True), (1, 2, False)]


def test_proxy_answers_the_refused_request_after_wait_seconds_at_the_latest() -> None:
    srv, _ = _fake_broker()
    (port,) = broker.free_ports(1)
    with FaultProxy(port, srv.getsockname()[1]) as proxy:
        proxy.refuse_produce(1, wait=0.2)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            t = time.monotonic()
            c.sendall(_produce(7, 5, "t", 0, b""))
            ans = _read_frame(c) or b""
            assert time.monotonic() - t >= 0.15
            assert ans == refusal(_produce(7, 5, "t", 0, b""))[4:]


@pytest.mark.broker
@pytest.mark.parametrize("version", [7, 10, 13])
def test_refusal_is_the_brokers_own_answer_byte_for_byte(kafka: Any, version: int) -> None:
    from eoslib.real.clients import create_topics, delete_topics, run_prefix

    cluster = kafka.cluster
    topic = f"{run_prefix()}rf{version}"
    create_topics(cluster, [topic])  # one partition: partition 5 does not exist
    try:
        req = _produce(version, 77, _topic_id(cluster, topic) if version >= 13 else topic, 5,
                       b"")
        host, port = cluster.bootstrap.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as c:
            c.sendall(req)
            answer = _read_frame(c)
    finally:
        delete_topics(cluster, [topic])
    assert answer is not None
    assert struct.pack(">i", len(answer)) + answer == refusal(req, 3)  # UNKNOWN_TOPIC_OR_PART


def _topic_id(cluster: Any, topic: str) -> bytes:
    """The topic's 16-byte id (confluent-kafka's AdminClient.describe_topics)."""
    from confluent_kafka import TopicCollection
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(cluster.base())  # kept alive until the answer is in
    tid = admin.describe_topics(TopicCollection([topic]))[topic].result(10).topic_id
    return struct.pack(">qq", tid.get_most_significant_bits(), tid.get_least_significant_bits())
