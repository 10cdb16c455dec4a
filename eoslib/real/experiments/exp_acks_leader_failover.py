"""Experiment acks-leader-failover (``acks`` 1 / all): the leader dies before followers fetch.

On the three-broker cluster (:mod:`eoslib.real.cluster3`). The mechanism, step by step:

1. Topic on nodes [1, 2, 3], node 1 leads, ``min.insync.replicas=2``, unclean election off.
   ``m0..m{lost_at-1}`` are written and replicated (the high watermark reaches them).
2. The followers (nodes 2, 3) are frozen with ``SIGSTOP``: they stop fetching, as in a long
   GC pause (after a pause longer than ``replica.fetch.wait.max.ms``, no fetch of theirs is
   still pending at the leader). They stay in the ISR: a follower leaves it only after
   ``replica.lag.time.max.ms`` (30 s) without catching up.
3. ``m{lost_at}`` is sent. With ``acks=1`` the leader acknowledges once it has appended
   to its own log. With ``acks=all`` it waits for the ISR and does not answer.
4. The leader is ``SIGKILL``\\ ed, the followers resumed (``SIGCONT``). After
   ``broker.session.timeout.ms`` the controller fences node 1 and elects a new leader
   from the ISR: a *clean* election, of a replica that never fetched ``m{lost_at}``.
5. The rest is written to the new leader; node 1 is restarted, truncates its log to the
   new leader's (leader-epoch fencing, KIP-101/KIP-279) and catches up.

``acks=1``: the acknowledged ``m{lost_at}`` is gone: ``lost=1``. ``acks=all``: it was never
acknowledged by the old leader; the producer retries it on the new leader: ``lost=0``.

Kafka's source (4.1): the ISR lag rule is ``Partition.getOutOfSyncReplicas`` with
``replica.lag.time.max.ms`` (``ReplicationConfigs``, default 30000); a fenced broker leaves
the ISR and a new leader is chosen from it in the controller's
``ReplicationControlManager.handleBrokerFenced``; a returning replica truncates through
``OffsetsForLeaderEpoch`` in ``AbstractFetcherThread`` (KIP-101, KIP-279).
"""

from __future__ import annotations

import os
import time
from typing import Any

from eoslib.real import cluster3
from eoslib.real.clients import (
    Cluster,
    Recorder,
    delete_topics,
    read_all,
    require_client,
    run_prefix,
)
from eoslib.real.experiments.common import Experiment, _recording, _result
from eoslib.real.experiments.three_brokers import (
    cluster_of,
    create_replicated_topic,
    heal,
    high_watermark,
    producer_conf_3,
    use_cluster,
    wait_partition,
)
from eoslib.result import Result

# How long acks=all waits (unanswered) before the leader is killed. The followers stay frozen
# for DRAIN_S + PAUSE_S (+ the kill): well under broker.session.timeout.ms (4 s), so a live
# controller does not fence them (which would shrink the ISR to the leader alone).
PAUSE_S = 0.5
# A follower's fetch can be pending at the leader when the follower is frozen; the leader
# would answer it with the next write, into the frozen follower's socket, which it reads on
# SIGCONT. Waiting longer than replica.fetch.wait.max.ms (100 ms) lets the leader answer it
# empty first, so no fetch is outstanding when the write arrives (seen on a live cluster).
DRAIN_S = 0.5


def acks_leader_failover(
    cluster: Cluster | None,
    *,
    on: bool,
    messages: int = 10,
    lost_at: int = 5,
    state_dir: str | os.PathLike[str] | None = None,
) -> Result:
    """Write ``messages`` values; SIGKILL the leader right after ``m{lost_at}`` is sent.

    ``on``: ``acks=all`` (else ``acks=1``). ``cluster`` only lends its extra client settings;
    the run uses the three-broker cluster of ``state_dir`` (started if none runs). Producer:
    :func:`~eoslib.real.experiments.three_brokers.producer_conf_3` with
    ``retries=2147483647``, ``message.timeout.ms=60000``. Extra counts: ``acked_then_lost``
    (values acknowledged and not read back), ``leader_before``/``leader_after``,
    ``killed_pid``, ``acked_before_kill`` (was ``m{lost_at}`` acknowledged by the old
    leader), ``failover_s``.
    """
    from confluent_kafka import Producer

    require_client()
    exp = ACKS_LEADER_FAILOVER
    st = use_cluster(state_dir)
    c3 = cluster_of(st, cluster)
    topic = f"{run_prefix()}acks"
    create_replicated_topic(c3, topic, min_insync=2)
    rec = Recorder()
    extra: dict[str, Any] = {"leader_before": 1}
    try:
        p = Producer(
            producer_conf_3(
                c3, acks="all" if on else "1", retries=2147483647, message_timeout_ms=60000
            )
        )
        for i in range(lost_at):
            p.produce(topic, value=f"m{i}".encode(), on_delivery=_recording(rec, "producer-1"))
            if p.flush(30):
                raise RuntimeError(f"m{i} was not acknowledged within 30 s")
        _wait_hw(c3, topic, lost_at)
        for node in (2, 3):
            cluster3.pause(node, st.state_dir)
        rec.event("broker-2", "state", "followers 2 and 3 frozen (SIGSTOP)", flag="error")
        time.sleep(DRAIN_S)
        value = f"m{lost_at}"
        p.produce(topic, value=value.encode(), on_delivery=_recording(rec, "producer-1"))
        p.flush(PAUSE_S)
        extra["acked_before_kill"] = any(
            o["outcome"] == "ok" and o["value"]["value"] == value
            for o in rec.ops("producer-1", "send")
        )
        rec.event("broker-1", "crash", "leader (node 1) SIGKILLed", flag="crash")
        extra["killed_pid"] = cluster3.kill9(1, st.state_dir)
        t = time.monotonic()
        for node in (2, 3):
            cluster3.resume(node, st.state_dir)
        leader, isr = wait_partition(c3, topic, leader_not=1)
        extra["failover_s"] = round(time.monotonic() - t, 2)
        extra["leader_after"] = leader
        rec.event(f"broker-{leader}", "state", f"node {leader} leads (ISR {isr})")
        for i in range(lost_at + 1, messages):
            p.produce(topic, value=f"m{i}".encode(), on_delivery=_recording(rec, "producer-1"))
        if p.flush(60):
            raise RuntimeError("the writes after the failover were not acknowledged in 60 s")
        del p
        cluster3.restart_node(1, st.state_dir)
        wait_partition(c3, topic, isr={1, 2, 3})
        rec.event("broker-1", "restart", "node 1 back, truncated to the new leader's log")
        read = read_all(c3, rec, topic, isolation="read_uncommitted")
    finally:
        heal(st)
        delete_topics(c3, [topic])
    stored = {v for _o, _k, v in read}
    acked = [s.value["value"] for s in rec.history().of("send") if s.outcome == "ok"]
    extra["acked_then_lost"] = [v for v in acked if v not in stored]
    extra["stored"] = len(stored)
    extra["missing"] = sum(1 for i in range(messages) if f"m{i}" not in stored)
    return _result(
        exp,
        on,
        rec,
        messages=messages,
        faults={"followers_sigstop": [2, 3], "leader_sigkill_after": lost_at + 1},
        extra=extra,
    )


def _wait_hw(cluster: Cluster, topic: str, hw: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while high_watermark(cluster, topic) < hw:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{topic}: the followers did not replicate {hw} records in time")
        time.sleep(0.1)


ACKS_LEADER_FAILOVER = Experiment(
    "acks-leader-failover",
    "acks",
    "1",
    "all",
    ("lost",),
    acks_leader_failover,
    "the leader is SIGKILLed before its followers fetch the last write",
)
