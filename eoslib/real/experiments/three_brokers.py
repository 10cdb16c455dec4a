"""What the two replication experiments share: the three-broker cluster, topics, the producer.

:func:`use_cluster` returns the running three-broker cluster of a state directory, or starts
one (stopped when the Python process exits). :func:`create_replicated_topic` creates a
one-partition topic on nodes 1, 2, 3 (node 1 the leader) and waits until all three are in
sync. :func:`producer_conf_3` is the producer config with every delivery-relevant librdkafka
key explicit. Between runs, :func:`heal` restarts killed nodes and resumes paused ones.
"""

from __future__ import annotations

import atexit
import os
import time
from typing import Any

from eoslib.real import cluster3
from eoslib.real.clients import LOG, Cluster
from eoslib.real.errors import BrokerError

_STARTED: set[str] = set()


def use_cluster(state_dir: str | os.PathLike[str] | None = None) -> cluster3.ClusterState:
    """The running cluster of ``state_dir`` (default ``$EOSLIB_CACHE/cluster3``), all three
    nodes up; started here when none runs (and then stopped when this process exits)."""
    st = cluster3.status(state_dir)
    if st is None:
        st = cluster3.start(state_dir)
        key = st.state_dir
        if key not in _STARTED:
            _STARTED.add(key)
            atexit.register(cluster3.stop, key)
    heal(st)
    return st


def heal(st: cluster3.ClusterState, timeout: float = 90.0) -> None:
    """Resume paused nodes, restart killed ones, wait until all three are registered."""
    st = cluster3.read_state(st.state_dir) or st  # pids change when a node restarts
    for n in st.nodes:
        if cluster3._alive(n):
            cluster3.resume(n.node_id, st.state_dir)
        else:
            cluster3.restart_node(n.node_id, st.state_dir, timeout=timeout)
    cluster3.wait_ready(st, time.monotonic() + timeout)


def cluster_of(st: cluster3.ClusterState, base: Cluster | None) -> Cluster:
    """A :class:`Cluster` for the three brokers (with ``base``'s extra client settings)."""
    return Cluster(st.bootstrap, dict(base.extra_conf) if base is not None else {})


def admin(cluster: Cluster) -> Any:
    """An AdminClient for ``cluster``."""
    from confluent_kafka.admin import AdminClient

    return AdminClient({**cluster.base(), "socket.timeout.ms": 5000})


def partition_info(cluster: Cluster, topic: str) -> tuple[int, list[int]]:
    """(leader, ISR) of partition 0 of ``topic`` as the metadata says now (-1: no leader)."""
    md = admin(cluster).list_topics(topic, timeout=5)
    p = md.topics[topic].partitions.get(0)
    if p is None:
        return -1, []
    return p.leader, sorted(p.isrs)


def wait_partition(
    cluster: Cluster,
    topic: str,
    *,
    isr: set[int] | None = None,
    leader_not: int | None = None,
    timeout: float = 60.0,
) -> tuple[int, list[int]]:
    """Wait until partition 0 has a leader (other than ``leader_not``) and, if given, this ISR."""
    deadline = time.monotonic() + timeout
    last: tuple[int, list[int]] = (-1, [])
    while time.monotonic() < deadline:
        try:
            last = partition_info(cluster, topic)
        except Exception:  # noqa: BLE001 - metadata while the quorum moves
            LOG.debug("metadata failed", exc_info=True)
        leader, now_isr = last
        if leader >= 0 and leader != leader_not and (isr is None or set(now_isr) == isr):
            return last
        time.sleep(0.2)
    raise BrokerError(
        f"{topic}: leader {last[0]}, ISR {last[1]} after {timeout:.0f} s "
        f"(waited for ISR {sorted(isr) if isr else 'any'}, leader not {leader_not})"
    )


def create_replicated_topic(cluster: Cluster, topic: str, *, min_insync: int) -> None:
    """One partition on nodes [1, 2, 3] (node 1 leads), ``min.insync.replicas`` as given,
    ``unclean.leader.election.enable=false``; wait until node 1 leads and all 3 are in sync."""
    from confluent_kafka.admin import NewTopic

    client = admin(cluster)  # kept alive until the futures resolve
    futures = client.create_topics(
        [
            NewTopic(
                topic,
                num_partitions=1,  # with an assignment: its length (-1 is refused)
                replica_assignment=[[1, 2, 3]],
                config={
                    "min.insync.replicas": str(min_insync),
                    "unclean.leader.election.enable": "false",
                },
            )
        ],
        operation_timeout=30,
        request_timeout=30,
    )
    for f in futures.values():
        f.result(30)
    leader, _ = wait_partition(cluster, topic, isr={1, 2, 3})
    if leader != 1:
        raise BrokerError(f"{topic}: node {leader} leads, expected the first replica (1)")


def producer_conf_3(cluster: Cluster, *, acks: str, retries: int, message_timeout_ms: int) -> dict:
    """A producer config with every delivery-relevant librdkafka key explicit.

    ``acks`` as given, ``enable.idempotence=false`` (as in the simulated twin), ``retries`` and
    ``message.timeout.ms`` as given, ``retry.backoff.ms=100``, ``retry.backoff.max.ms=1000``,
    ``linger.ms=0``, ``batch.num.messages=1000``, ``max.in.flight.requests.per.connection=1``
    (one request at a time: no reordering on retry), ``socket.timeout.ms=10000``,
    ``request.timeout.ms=10000`` (the broker's wait for acks=all), ``compression.type=none``,
    ``topic.metadata.refresh.interval.ms=1000``, ``reconnect.backoff.ms=100``,
    ``reconnect.backoff.max.ms=1000``.
    """
    return {
        **cluster.base(),
        "acks": acks,
        "enable.idempotence": False,
        "retries": retries,
        "retry.backoff.ms": 100,
        "retry.backoff.max.ms": 1000,
        "message.timeout.ms": message_timeout_ms,
        "linger.ms": 0,
        "batch.num.messages": 1000,
        "max.in.flight.requests.per.connection": 1,
        "socket.timeout.ms": 10000,
        "request.timeout.ms": 10000,
        "compression.type": "none",
        "topic.metadata.refresh.interval.ms": 1000,
        "reconnect.backoff.ms": 100,
        "reconnect.backoff.max.ms": 1000,
    }


def high_watermark(cluster: Cluster, topic: str) -> int:
    """The partition's high watermark (the offset below which every ISR member has the log)."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer(
        {**cluster.base(), "group.id": f"{topic}-hw", "enable.auto.commit": False,
         "isolation.level": "read_uncommitted"}
    )  # fmt: skip
    try:
        return int(c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1])
    finally:
        c.close()
