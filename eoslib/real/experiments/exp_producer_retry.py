"""Experiment 1, producer-retry (``enable.idempotence``): a lost produce acknowledgement."""

from __future__ import annotations

from collections.abc import Sequence

from eoslib.real.clients import (
    Cluster,
    Recorder,
    create_topics,
    delete_topics,
    producer_conf,
    read_all,
    require_client,
    run_prefix,
)
from eoslib.real.experiments.common import Experiment, _recording, _result
from eoslib.real.proxy import FaultProxy
from eoslib.result import Result


def producer_retry(
    cluster: Cluster, *, on: bool, messages: int = 10, lost_at: int | Sequence[int] = 3
) -> Result:
    """Lose the acknowledgement of the ``lost_at``-th produce request; the client retries.

    ``lost_at`` may also be a list of request numbers (1-based, retries counted): the
    seeded schedules of ``eoslib compare --seeds``.

    One producer ("producer-1") writes m0..m{messages-1} through the fault proxy, one
    message per request (produce + flush). The proxy swallows the broker's response to
    request ``lost_at`` and cuts the connection; the broker had appended the batch, and
    the client retries it on a new connection. Producer settings (see
    :func:`eoslib.real.clients.producer_conf`): ``enable.idempotence`` = the setting,
    ``acks=all``, ``retries=10``, ``retry.backoff.ms=100``, ``linger.ms=0``,
    ``max.in.flight.requests.per.connection=5``, ``socket.timeout.ms=5000``,
    ``request.timeout.ms=5000``, ``message.timeout.ms=60000``. Expected: off, exactly one
    duplicate; on, none, and the retried message's acknowledged offset is its first one.
    Extra counts: ``proxy_dropped``, ``produce_requests``, ``retried_value``,
    ``acked_offset`` and ``read_offsets`` of that value, ``original_offset_returned``.
    """
    from confluent_kafka import Producer

    require_client()
    exp = PRODUCER_RETRY
    ports = _proxy_ports(cluster)
    prefix = run_prefix()
    topic = f"{prefix}out"
    create_topics(cluster, [topic])
    rec = Recorder()
    try:
        with FaultProxy(*ports) as proxy:
            p = Producer(producer_conf(cluster, idempotence=on, via_proxy=True))
            lost = [lost_at] if isinstance(lost_at, int) else sorted(lost_at)
            for n in lost:
                proxy.drop_produce_response(n)
            noted = False
            for i in range(messages):
                p.produce(topic, value=f"m{i}".encode(), on_delivery=_recording(rec, "producer-1"))
                if p.flush(60):
                    raise RuntimeError(f"m{i} was not acknowledged within 60 s")
                if proxy.dropped and not noted:
                    noted = True
                    rec.event(
                        "proxy",
                        "lost",
                        f"response to produce request {lost[0]} lost, connection cut",
                        flag="lost",
                    )
            del p
            stats = proxy.stats
        read = read_all(cluster, rec, topic, isolation="read_committed")
    finally:
        delete_topics(cluster, [topic])
    value = f"m{lost[0] - 1}"
    acked = [s.value["offset"] for s in rec.history().of("send") if s.value["value"] == value]
    read_offsets = [o for o, _k, v in read if v == value]
    extra = {
        "proxy_dropped": stats.dropped,
        "produce_requests": stats.produce_requests,
        "retried_value": value,
        "acked_offset": acked[0] if acked else None,
        "read_offsets": read_offsets,
        "original_offset_returned": bool(acked and read_offsets and acked[0] == read_offsets[0]),
    }
    return _result(
        exp, on, rec, messages=messages, faults={"lost_acks": stats.dropped}, extra=extra
    )


def _proxy_ports(cluster: Cluster) -> tuple[int, int]:
    """(proxy port, PROXIED listener port); NeedsError for a cluster without them."""
    cluster.proxy_bootstrap  # noqa: B018 - raises NeedsError when there is no proxy
    assert cluster.proxy_port is not None and cluster.proxied_listener_port is not None
    return cluster.proxy_port, cluster.proxied_listener_port


PRODUCER_RETRY = Experiment(
    "producer-retry",
    "enable.idempotence",
    False,
    True,
    ("duplicate",),
    producer_retry,
    "a lost produce acknowledgement is retried",
)
