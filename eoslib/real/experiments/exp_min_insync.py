"""Experiment min-insync (``min.insync.replicas`` 2 / 3): one broker of three is down.

On the three-broker cluster (:mod:`eoslib.real.cluster3`), as the simulated twin
(scenario ``leader-failover`` with ``acks=all``): the first half of the writes reach all
three replicas; then the leader (node 1) is ``SIGKILL``\\ ed. The controller fences it and
shrinks the ISR to the two survivors, one of which leads. The second half is written with
``acks=all``: with ``min.insync.replicas=2`` the ISR of 2 is enough; with 3 the leader refuses
every write with ``NOT_ENOUGH_REPLICAS`` (retriable: librdkafka retries it until
``message.timeout.ms``, then fails the message with ``_MSG_TIMED_OUT``). A one-record probe
producer with ``retries=0`` shows the broker's own error. Nothing acknowledged is lost.

Kafka's source (4.1): ``Partition.appendRecordsToLeader``
(``core/src/main/scala/kafka/cluster/Partition.scala``) throws ``NotEnoughReplicasException``
when ``inSyncSize < minIsr && requiredAcks == -1``; librdkafka treats the error as retriable
(``rd_kafka_handle_Produce_error`` in ``rdkafka_request.c``).
"""

from __future__ import annotations

import os
import time
from collections import Counter
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
    producer_conf_3,
    use_cluster,
    wait_partition,
)
from eoslib.result import Result

MESSAGE_TIMEOUT_MS = 5000  # how long librdkafka retries NOT_ENOUGH_REPLICAS before giving up


def min_insync(
    cluster: Cluster | None,
    *,
    on: bool,
    messages: int = 10,
    state_dir: str | os.PathLike[str] | None = None,
) -> Result:
    """Write ``messages`` values with ``acks=all``; SIGKILL the leader half-way.

    ``on``: the topic's ``min.insync.replicas=3`` (else 2). ``cluster`` only lends its extra
    client settings; the run uses the three-broker cluster of ``state_dir`` (started if none
    runs). Producer: :func:`~eoslib.real.experiments.three_brokers.producer_conf_3` with
    ``acks=all``, ``retries=2147483647``, ``message.timeout.ms=5000``; the probe: the same
    with ``retries=0``. Extra counts: ``not_enough_replicas`` (the probe's error, or None when
    it was written), ``send_errors`` (error name -> failed writes), ``isr_after_kill``,
    ``leader_after``, ``stored``, ``missing`` (values never stored).
    """
    from confluent_kafka import Producer

    require_client()
    exp = MIN_INSYNC
    st = use_cluster(state_dir)
    c3 = cluster_of(st, cluster)
    topic = f"{run_prefix()}minisr"
    create_replicated_topic(c3, topic, min_insync=3 if on else 2)
    rec = Recorder()
    extra: dict[str, Any] = {}
    half = messages // 2
    try:
        p = Producer(
            producer_conf_3(
                c3, acks="all", retries=2147483647, message_timeout_ms=MESSAGE_TIMEOUT_MS
            )
        )
        for i in range(half):
            p.produce(topic, value=f"m{i}".encode(), on_delivery=_recording(rec, "producer-1"))
            if p.flush(30):
                raise RuntimeError(f"m{i} was not acknowledged within 30 s")
        rec.event("broker-1", "crash", "leader (node 1) SIGKILLed", flag="crash")
        extra["killed_pid"] = cluster3.kill9(1, st.state_dir)
        t = time.monotonic()
        leader, isr = wait_partition(c3, topic, leader_not=1, isr={2, 3})
        extra["failover_s"] = round(time.monotonic() - t, 2)
        extra["leader_after"], extra["isr_after_kill"] = leader, isr
        rec.event(f"broker-{leader}", "state", f"node {leader} leads, ISR {isr}")
        for i in range(half, messages):
            p.produce(topic, value=f"m{i}".encode(), on_delivery=_recording(rec, "producer-1"))
        if p.flush(MESSAGE_TIMEOUT_MS / 1000 + 30):
            raise RuntimeError("the second half was neither acknowledged nor failed in time")
        del p
        probe = Producer(
            producer_conf_3(c3, acks="all", retries=0, message_timeout_ms=MESSAGE_TIMEOUT_MS)
        )
        probe.produce(topic, value=b"probe", on_delivery=_recording(rec, "probe"))
        if probe.flush(MESSAGE_TIMEOUT_MS / 1000 + 30):
            raise RuntimeError("the probe was neither acknowledged nor failed in time")
        del probe
        cluster3.restart_node(1, st.state_dir)
        wait_partition(c3, topic, isr={1, 2, 3})
        rec.event("broker-1", "restart", "node 1 back in the ISR")
        read = read_all(c3, rec, topic, isolation="read_uncommitted")
    finally:
        heal(st)
        delete_topics(c3, [topic])
    stored = {v for _o, _k, v in read}
    sends = rec.history().of("send")
    probe_send = [s for s in sends if s.process == "probe"]
    extra["not_enough_replicas"] = probe_send[0].value.get("error") if probe_send else None
    extra["send_errors"] = dict(
        Counter(s.value.get("error") for s in sends if s.outcome != "ok" and s.process != "probe")
    )
    extra["stored"] = len(stored - {"probe"})
    extra["missing"] = sum(1 for i in range(messages) if f"m{i}" not in stored)
    return _result(
        exp,
        on,
        rec,
        messages=messages,
        faults={"leader_sigkill_after": half},
        extra=extra,
    )


MIN_INSYNC = Experiment(
    "min-insync",
    "min.insync.replicas",
    2,
    3,
    (),
    min_insync,
    "one broker of three is down: acks=all needs min.insync.replicas in sync",
)
