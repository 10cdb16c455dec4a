"""Configs and helpers for scripts that run under either client, each in its own keys.

The Java client and librdkafka name some settings differently (``delivery.timeout.ms`` /
``message.timeout.ms``, ``fetch.max.wait.ms`` / ``fetch.wait.max.ms``), know keys the other
rejects (librdkafka refuses ``max.poll.records``; Java ignores ``enable.auto.offset.store``)
and default differently (idempotence, isolation). Every key that matters is set explicitly
here, except the ones a script *omits* on purpose to show a client's default
(``omit=("isolation.level",)``). The simulator keeps the keys it models (Java's names).
"""

from __future__ import annotations

from typing import Any

from eoslib.real.experiments.scripted import consumer_conf as rdk_consumer_conf
from eoslib.real.experiments.scripted import txn_producer_conf as rdk_producer_conf

CLIENTS = ("librdkafka", "java")


def producer_conf(client: str, txn_id: str | None = None, *, timeout_ms: int = 15000,
                  omit: tuple[str, ...] = (), **overrides: Any) -> dict[str, Any]:
    """A producer: idempotent, ``acks=all``, one request per flushed message, bounded waits.

    Java: ``enable.idempotence=true``, ``acks=all``, ``retries=2147483647``,
    ``max.in.flight.requests.per.connection=5``, ``linger.ms=0``, ``request.timeout.ms=5000``
    (how long an unanswered request waits before the client retries on a new connection),
    ``delivery.timeout.ms=30000``, ``max.block.ms=30000`` (bounds every blocking call:
    ``initTransactions``, ``commitTransaction``...). librdkafka: see
    :func:`eoslib.real.experiments.scripted.txn_producer_conf`.
    """
    _check(client)
    if client == "librdkafka":
        conf = rdk_producer_conf(txn_id, timeout_ms)
    else:
        conf = {
            "enable.idempotence": True, "acks": "all", "retries": 2147483647,
            "max.in.flight.requests.per.connection": 5, "linger.ms": 0,
            "retry.backoff.ms": 100, "request.timeout.ms": 5000,
            "delivery.timeout.ms": 30000, "max.block.ms": 30000, "compression.type": "none",
        }
        if txn_id is not None:
            conf.update({"transactional.id": txn_id, "transaction.timeout.ms": timeout_ms})
    conf.update(overrides)
    for k in omit:
        conf.pop(k, None)
    return conf


def consumer_conf(client: str, group: str, isolation: str | None, *, auto_commit: bool = False,
                  interval_ms: int = 5000, max_poll_records: int = 500,
                  omit: tuple[str, ...] = (), **overrides: Any) -> dict[str, Any]:
    """A consumer from the earliest offset, short fetch waits; ``isolation=None`` leaves
    ``isolation.level`` at the client's default.

    Java: ``enable.auto.commit``, ``auto.commit.interval.ms``, ``auto.offset.reset=earliest``,
    ``max.poll.records`` (what one ``poll`` returns at most), ``fetch.max.wait.ms=100``,
    ``session.timeout.ms=10000``, ``heartbeat.interval.ms=1000``,
    ``partition.assignment.strategy=range`` (the RangeAssignor), ``default.api.timeout.ms``
    and ``request.timeout.ms`` 30000.
    """
    _check(client)
    if client == "librdkafka":
        conf = rdk_consumer_conf(group, isolation or "read_committed", auto_commit=auto_commit,
                                 interval_ms=interval_ms)
        if isolation is None:
            conf.pop("isolation.level")
    else:
        conf = {
            "group.id": group, "enable.auto.commit": auto_commit,
            "auto.commit.interval.ms": interval_ms, "auto.offset.reset": "earliest",
            "max.poll.records": max_poll_records, "fetch.max.wait.ms": 100,
            "session.timeout.ms": 10000, "heartbeat.interval.ms": 1000,
            "partition.assignment.strategy": "range", "default.api.timeout.ms": 30000,
            "request.timeout.ms": 30000,
        }
        if isolation is not None:
            conf["isolation.level"] = isolation
    conf.update(overrides)
    for k in omit:
        conf.pop(k, None)
    return conf


def _check(client: str) -> None:
    if client not in CLIENTS:
        raise ValueError(f"client must be one of {', '.join(CLIENTS)}, not {client!r}")


# ------------------------------------------------------------------ helpers under either client

def fill(env: Any, topic: str, n: int, prefix: str = "m") -> list[str]:
    """Write ``prefix0..`` to ``topic`` with an idempotent producer; their values."""
    p = env.producer(producer_conf(env.client))
    vals = [f"{prefix}{i}" for i in range(n)]
    for v in vals:
        p.produce(topic, value=v)
    p.flush(30)
    return vals


def take(env: Any, c: Any, n: int, tries: int = 40) -> list[Any]:
    """Poll until ``n`` records came back (or ``tries`` polls of 0.25 s). Under the Java
    client one poll returns up to ``max.poll.records``, which may be more than ``n``."""
    out: list[Any] = []
    for _ in range(tries):
        if len(out) >= n:
            break
        out += [m for m in c.consume(n - len(out), timeout=0.25) if m.error() is None]
    return out


def read_values(env: Any, topic: str, isolation: str | None = "read_committed",
                partitions: int = 1) -> list[str]:
    """Every value of ``topic`` from the start, as a fresh consumer reads it
    (``isolation=None``: the client's default isolation level); stops after two empty
    polls once something came, or after 12 polls of 0.25 s."""
    c = env.consumer(consumer_conf(env.client, env.name(f"{topic}-verifier"), isolation))
    c.assign([env.TopicPartition(topic, p, 0) for p in range(partitions)])
    vals: list[str] = []
    empty = 0
    for _ in range(12):
        got = [env.text(m.value()) for m in c.consume(500, timeout=0.25) if m.error() is None]
        vals += got
        empty = 0 if got else empty + 1
        if vals and empty >= 2:
            break
    c.close()
    return vals


def committed_offset(env: Any, group: str, topic: str) -> int | None:
    """The group's committed offset of ``topic``-0 (None: none), asked by an observer that
    does not join the group (librdkafka: read_uncommitted, so it does not wait for stable
    offsets; the Java client always asks for stable offsets)."""
    obs = env.consumer(consumer_conf(env.client, group, "read_uncommitted"))
    off = obs.committed([env.TopicPartition(topic, 0)], timeout=10)[0].offset
    obs.close()
    return off if off is not None and off >= 0 else None
