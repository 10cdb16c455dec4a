"""confluent-kafka plumbing shared by the experiments: configs, topics, recording, reading.

Every client config here sets each setting that matters for exactly-once *explicitly*,
because librdkafka's defaults differ from the Java client's (``enable.idempotence`` is
false and ``isolation.level`` is ``read_committed`` in librdkafka; the reverse in Java).

:class:`Recorder` collects history operations from several threads (and, through JSON
lines files, from child processes) with real elapsed milliseconds as their time, and turns
them into an :class:`eoslib.history.History` and a trace.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eoslib.history import History
from eoslib.real.broker import BrokerState, NeedsError
from eoslib.result import TraceEvent

LOG = logging.getLogger("eoslib.real.kafka")
LOG.addHandler(logging.NullHandler())  # librdkafka's chatter stays quiet unless asked for


def require_client() -> None:
    """Raise :class:`NeedsError` when confluent-kafka is not installed."""
    try:
        import confluent_kafka  # noqa: F401
    except ImportError as e:
        raise NeedsError("needs the confluent-kafka Python package (pip install)") from e


@dataclass
class Cluster:
    """Where the experiments run: a bootstrap address and extra client settings.

    ``extra_conf`` holds security settings for a learner's own cluster
    (``security.protocol``, ``sasl.mechanism``, ``sasl.username``...); it is added to every
    client. ``proxy_port``/``proxied_listener_port`` are set for the bundled broker only:
    the lost-acknowledgement experiment needs them.
    """

    bootstrap: str
    extra_conf: dict[str, str] = field(default_factory=dict)
    proxy_port: int | None = None
    proxied_listener_port: int | None = None

    @classmethod
    def from_state(cls, st: BrokerState, extra_conf: Mapping[str, str] | None = None) -> Cluster:
        """The cluster of a broker started by :func:`eoslib.real.broker.start`."""
        return cls(
            st.bootstrap, dict(extra_conf or {}), st.proxy_advertised_port, st.proxied_listener_port
        )

    @property
    def proxy_bootstrap(self) -> str:
        """The bootstrap address through the fault-injection proxy."""
        if self.proxy_port is None:
            raise NeedsError(
                "needs the bundled broker (`eoslib broker start`): this experiment injects "
                "a lost acknowledgement through a proxy the cluster must advertise"
            )
        return f"127.0.0.1:{self.proxy_port}"

    def base(self, *, via_proxy: bool = False) -> dict[str, Any]:
        """The settings every client starts from."""
        return {
            "bootstrap.servers": self.proxy_bootstrap if via_proxy else self.bootstrap,
            **self.extra_conf,
            "logger": LOG,
        }


def run_prefix() -> str:
    """A fresh ``eoslib-<hex>-`` prefix for one run's topics, groups and transactional ids."""
    return f"eoslib-{secrets.token_hex(4)}-"


# --------------------------------------------------------------------------- configs


def producer_conf(
    cluster: Cluster,
    *,
    idempotence: bool,
    transactional_id: str | None = None,
    via_proxy: bool = False,
) -> dict[str, Any]:
    """A producer config with every delivery-relevant setting explicit.

    ``enable.idempotence`` (librdkafka default false!), ``acks=all``, ``retries`` and
    ``retry.backoff.ms`` (so a lost ack is retried at once), ``linger.ms=0`` and
    ``batch.num.messages`` (each flushed message is its own batch), ``max.in.flight
    .requests.per.connection=5`` (Java's default; the idempotence limit),
    ``socket.timeout.ms=5000`` (the client-side request timeout: how long a produce can go
    unanswered before the client gives up on the connection and retries),
    ``request.timeout.ms=5000`` (only the broker-side wait for acks=all),
    ``message.timeout.ms=60000`` (delivery timeout), ``compression.type=none``. With a
    ``transactional.id``: ``transaction.timeout.ms=15000`` (the coordinator aborts a
    transaction left open longer than this; at most the broker's
    ``transaction.max.timeout.ms``, 900000 by default) and ``message.timeout.ms=15000``
    (librdkafka refuses a delivery timeout longer than the transaction timeout).
    """
    conf = cluster.base(via_proxy=via_proxy)
    conf.update(
        {
            "enable.idempotence": idempotence,
            "acks": "all",
            "retries": 10,
            "retry.backoff.ms": 100,
            "linger.ms": 0,
            "batch.num.messages": 1000,
            "max.in.flight.requests.per.connection": 5,
            "socket.timeout.ms": 5000,
            "request.timeout.ms": 5000,
            "message.timeout.ms": 60000,
            "compression.type": "none",
        }
    )
    if transactional_id is not None:
        conf["transactional.id"] = transactional_id
        conf["transaction.timeout.ms"] = 15000
        conf["message.timeout.ms"] = 15000  # librdkafka: must be <= transaction.timeout.ms
    return conf


def consumer_conf(cluster: Cluster, *, group: str, isolation: str) -> dict[str, Any]:
    """A consumer config with every offset- and visibility-relevant setting explicit.

    ``isolation.level`` (librdkafka default read_committed!), ``enable.auto.commit=false``
    and ``enable.auto.offset.store=false`` (offsets are committed only by the application
    or by ``send_offsets_to_transaction``), ``auto.offset.reset=earliest`` (a new group
    starts at the beginning), ``enable.partition.eof=false``, ``fetch.wait.max.ms=100``
    (shorter long-polls: the experiments are small), ``session.timeout.ms=10000``.
    """
    if isolation not in ("read_committed", "read_uncommitted"):
        raise ValueError(f"isolation must be read_committed or read_uncommitted, not {isolation!r}")
    conf = cluster.base()
    conf.update(
        {
            "group.id": group,
            "isolation.level": isolation,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
            "fetch.wait.max.ms": 100,
            "session.timeout.ms": 10000,
        }
    )
    return conf


# --------------------------------------------------------------------------- admin


def create_topics(cluster: Cluster, names: Iterable[str], *, timeout: float = 30,
                  partitions: int = 1) -> None:
    """Create topics of ``partitions`` partitions (replication factor 1); wait for them."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(cluster.base())
    futures = admin.create_topics(
        [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    for f in futures.values():
        f.result(timeout)


def delete_topics(cluster: Cluster, names: Iterable[str], groups: Iterable[str] = ()) -> None:
    """Best-effort clean-up of a run's topics and consumer groups."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(cluster.base())
    names = list(names)
    groups = list(groups)
    try:
        futs = list(admin.delete_topics(names, operation_timeout=10).values()) if names else []
        if groups:
            futs += list(admin.delete_consumer_groups(groups, request_timeout=10).values())
        for f in futs:
            try:
                f.result(15)
            except Exception:  # noqa: BLE001 - clean-up must not hide the result
                LOG.debug("clean-up failed", exc_info=True)
    except Exception:  # noqa: BLE001
        LOG.debug("clean-up failed", exc_info=True)


# --------------------------------------------------------------------------- recording


class Recorder:
    """Collects history operations with real elapsed ms since :attr:`t0` as their time.

    ``time.monotonic()`` is one clock for every process of the machine (Linux's
    CLOCK_MONOTONIC), so child processes stamp their operations with the same ``t0``.
    """

    def __init__(self, t0: float | None = None) -> None:
        self.t0 = time.monotonic() if t0 is None else t0
        self._ops: list[dict[str, Any]] = []
        self._extra_trace: list[TraceEvent] = []
        self._lock = threading.Lock()

    def now(self) -> float:
        """Milliseconds since the start of the run."""
        return round((time.monotonic() - self.t0) * 1000, 3)

    def op(self, process: str, f: str, outcome: str = "ok", **value: Any) -> dict[str, Any]:
        """Record one completed operation now."""
        rec = {"time": self.now(), "process": process, "f": f, "outcome": outcome, "value": value}
        with self._lock:
            self._ops.append(rec)
        return rec

    def ops(self, process: str, f: str) -> list[dict[str, Any]]:
        """The operations recorded so far for one process and kind."""
        with self._lock:
            return [o for o in self._ops if o["process"] == process and o["f"] == f]

    def event(self, lane: str, kind: str, label: str, flag: str | None = None) -> None:
        """Add a trace event that has no history operation (e.g. a response the proxy lost)."""
        with self._lock:
            self._extra_trace.append(
                {
                    "t": self.now(),
                    "lane": lane,
                    "kind": kind,
                    "label": label,
                    "flag": flag,
                    "ref": None,
                }
            )

    def load(self, path: Path) -> None:
        """Add the operations a child process wrote to a JSON-lines file."""
        if not path.exists():
            return
        with self._lock:
            for line in path.read_text().splitlines():
                if line.strip():
                    try:
                        self._ops.append(json.loads(line))
                    except json.JSONDecodeError:  # a line cut short by a crash
                        continue

    def history(self) -> History:
        """All operations, ordered by time (stable), as a History."""
        h = History()
        with self._lock:
            for d in sorted(self._ops, key=lambda d: d["time"]):
                h.record(d["time"], d["process"], d["f"], d["outcome"], **d["value"])
        return h

    def trace(self, history: History) -> list[TraceEvent]:
        """A timeline of the run built from the history (plus proxy events)."""
        events: list[TraceEvent] = [
            _trace_event(op.time, op.process, op.f, op.outcome, dict(op.value)) for op in history
        ]
        with self._lock:
            events += self._extra_trace
        events.sort(key=lambda e: e["t"])
        return [{"i": i, **e} for i, e in enumerate(events)]


def _trace_event(t: float, process: str, f: str, outcome: str, v: dict[str, Any]) -> TraceEvent:
    flag = None
    ref = None
    if f == "send":
        kind = "ack" if outcome == "ok" else "error"
        label = f"{v.get('value')} -> {v.get('topic')}@{v.get('offset')}"
        flag = "error" if outcome != "ok" else None
    elif f == "poll":
        kind = "poll"
        recs = v.get("records") or []
        label = f"{len(recs)} records ({v.get('isolation')})"
    elif f == "commit":
        kind = "commit"
        label = ", ".join(f"{t}-{p}@{o}" for t, p, o in v.get("offsets") or [])
    elif f == "txn_end":
        kind = "marker"
        label = f"{v.get('result')} txn {v.get('txn_seq')}"
        flag = "aborted" if v.get("result") == "abort" else None
    elif f == "crash":
        kind, label, flag = "crash", f"crash at {v.get('step')}", "crash"
    elif f == "fenced":
        kind, label, flag = "fence", f"fenced: {v.get('error')}", "fenced"
    else:
        kind, label = "state", str(v.get("text", f))
    return {"t": t, "lane": process, "kind": kind, "label": label, "flag": flag, "ref": ref}


# --------------------------------------------------------------------------- reading


def read_all(
    cluster: Cluster,
    rec: Recorder,
    topic: str,
    *,
    isolation: str,
    process: str = "verifier",
    group: str | None = None,
    stop: threading.Event | None = None,
    ready: threading.Event | None = None,
    idle_s: float = 1.5,
    timeout_s: float = 30.0,
) -> list[tuple[int, str | None, str]]:
    """Read partition 0 of ``topic`` from the beginning, recording each poll; return records.

    Without ``stop`` it reads until the high watermark (as of when reading started) is
    passed or nothing arrives for ``idle_s``. With ``stop`` it keeps polling until ``stop``
    is set and then until caught up, which is how a concurrent reader observes the log
    while a producer is still writing; ``ready`` is set once it has started fetching.
    Returns ``(offset, key, value)`` of every record read.
    """
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    group_id = group or f"{topic}-{process}"
    consumer = Consumer(consumer_conf(cluster, group=group_id, isolation=isolation))
    out: list[tuple[int, str | None, str]] = []
    try:
        tp = TopicPartition(topic, 0, OFFSET_BEGINNING)
        consumer.assign([tp])
        deadline = time.monotonic() + timeout_s
        last = time.monotonic()
        high = None if stop is not None else consumer.get_watermark_offsets(tp, timeout=10)[1]
        while time.monotonic() < deadline:
            msgs = consumer.consume(500, timeout=0.2)
            if ready is not None:
                ready.set()
            got = [m for m in msgs if m.error() is None]
            if got:
                last = time.monotonic()
                records = [[m.topic(), m.partition(), m.offset(), _text(m.value())] for m in got]
                rec.op(process, "poll", isolation=isolation, group=group_id, records=records)
                out += [(m.offset(), _key(m.key()), _text(m.value())) for m in got]
            if stop is not None:
                if not stop.is_set():
                    continue
                high = consumer.get_watermark_offsets(tp, timeout=10)[1]
                stop = None
                last = time.monotonic()
            pos = consumer.position([TopicPartition(topic, 0)])[0].offset
            if high is not None and pos >= high:
                break
            if time.monotonic() - last > idle_s:
                break
    finally:
        consumer.close()
    return out


def _key(key: bytes | None) -> str | None:
    return None if key is None else key.decode()


def _text(value: bytes | None) -> str:
    return "" if value is None else value.decode()
