"""Experiments written once and run on both backends: the simulator and real Kafka.

A *script* is a function ``script(env, on) -> dict`` that uses only the client calls the
simulator and confluent-kafka share (``Producer``, ``Consumer``, ``produce``, ``flush``,
``consume``, ``position``, ``seek``, ``committed``, the transaction calls). ``env`` is a
:class:`SimEnv` (a fresh :class:`eoslib.simulation.Simulation`, seed 0, virtual time), a
:class:`RealEnv` (confluent-kafka on a live cluster, fresh topic/group/transactional-id
names) or a :class:`eoslib.real.java_env.JavaEnv` (the Java client on a live cluster).
``env.client`` names the client; the simulator follows that client's semantics
(``client=...`` on its clients; for librdkafka also ``transaction.version=1``: librdkafka
sends EndTxn v0-1 only, so Kafka treats its transactions as version 1). The scripts of the
first experiments write librdkafka's keys, every one set explicitly; the simulator keeps
the keys it models. The scripts that run under both clients take their configs from
:mod:`.client_conf`. The script returns its own counts, which both sides compare.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from eoslib.real.clients import Cluster, Recorder, create_topics, delete_topics, run_prefix


class SimEnv:
    """The simulator side: a fresh simulation with virtual time.

    ``client`` is whose semantics the simulated clients follow (the real side's client:
    ``librdkafka`` for confluent-kafka, ``java`` for the Java client); ``cluster`` holds
    cluster keys, e.g. ``{"transaction.version": "1"}`` (the finalized feature).
    """

    backend = "sim"

    def __init__(self, seed: int = 0, faults: dict[str, Any] | None = None, *,
                 client: str = "librdkafka", cluster: dict[str, Any] | None = None) -> None:
        from eoslib.messages import TopicPartition
        from eoslib.simulation import Simulation

        self.sim = Simulation(seed, faults=faults, tracing=False, cluster=cluster)
        self.client = client
        self.TopicPartition = TopicPartition

    def name(self, base: str) -> str:
        """A topic, group or transactional-id name for this run."""
        return base

    def create_topics(self, names: list[str], partitions: int = 1) -> None:
        for n in names:
            self.sim.create_topic(n, partitions)

    def _keep(self, kind: str, conf: dict[str, Any]) -> dict[str, Any]:
        from eoslib.config import KINDS

        return {k: v for k, v in conf.items() if k in KINDS[kind]}

    def producer(self, conf: dict[str, Any], *, process: str | None = None,
                 proxied: bool = False) -> Any:
        """A producer; ``proxied`` (the real side's fault proxy) changes nothing here: the
        simulation's fault plan reaches every request."""
        keep = {**self._keep("producer", conf), "client": self.client}
        if self.client == "librdkafka":
            # librdkafka speaks EndTxn v0-1 only (src/rdkafka_request.c): transaction.version 1
            keep["transaction.version"] = "1"
        p = self.sim.Producer(keep)
        if process:
            self.sim.set_process(p, process)
        return p

    def consumer(self, conf: dict[str, Any], *, process: str | None = None) -> Any:
        c = self.sim.Consumer({**self._keep("consumer", conf), "client": self.client})
        if process:
            self.sim.set_process(c, process)
        return c

    def crash(self, client: Any) -> None:
        """The client's process dies: no close, no further calls."""
        client.crash()

    def lose_produce_response(self, nth: int) -> None:
        """Lose the answer to the ``nth`` Produce request from now on (1 = the next)."""
        plan = self.sim.injector.plan
        n = self.sim.injector.counts.get("produce", 0) + nth
        plan.drop = (*plan.drop, f"produce.response.{n}")

    def txn_state(self, txn_id: str) -> dict[str, Any]:
        """The transaction coordinator's producer id, epoch and state of ``txn_id``."""
        meta = self.sim.cluster.txn_coordinator.txns[txn_id]
        return {"producer_id": meta.producer_id, "epoch": meta.epoch, "state": meta.state}

    def producer_epochs(self, topic: str, partition: int = 0) -> dict[int, int]:
        """The partition leader's producer state: producer id -> its last epoch."""
        part = self.sim.cluster.partition(topic, partition)
        return {pid: e.epoch for pid, e in part.producers.items()}

    def sleep(self, seconds: float) -> None:
        self.sim.sleep(seconds * 1000)

    @staticmethod
    def text(value: Any) -> str:
        return value if isinstance(value, str) else value.decode()

    def cleanup(self) -> None:
        pass


class RealEnv:
    """The real side: confluent-kafka clients against ``cluster``. ``admin`` (a
    :class:`eoslib.real.java_env.JavaAdmin`) answers what confluent-kafka's AdminClient
    cannot: :meth:`txn_state`, :meth:`producer_epochs`."""

    backend = "real"
    client = "librdkafka"

    def __init__(self, cluster: Cluster, admin: Any = None) -> None:
        from confluent_kafka import TopicPartition

        self.cluster = cluster
        self.admin = admin
        self.prefix = run_prefix()
        self.TopicPartition = TopicPartition
        self.topics: list[str] = []
        self.groups: list[str] = []
        self.abandoned: list[Any] = []
        self.rec = Recorder()
        self.proxy: Any = None

    def name(self, base: str) -> str:
        return f"{self.prefix}{base}"

    def create_topics(self, names: list[str], partitions: int = 1) -> None:
        create_topics(self.cluster, names, partitions=partitions)
        self.topics += names

    def producer(self, conf: dict[str, Any], *, process: str | None = None,
                 proxied: bool = False) -> Any:
        """A confluent-kafka producer; ``proxied``: through the fault proxy (it starts
        with the first such producer). confluent-kafka raises its configuration errors
        here, as ``KafkaException``."""
        from confluent_kafka import Producer

        base = self._proxy_base() if proxied else self.cluster.base()
        return Producer({**base, **conf})

    def _proxy_base(self) -> dict[str, Any]:
        from eoslib.real.proxy import FaultProxy

        if self.proxy is None:
            cluster = self.cluster
            cluster.proxy_bootstrap  # noqa: B018 - NeedsError without the bundled proxy
            assert cluster.proxy_port is not None and cluster.proxied_listener_port is not None
            self.proxy = FaultProxy(cluster.proxy_port, cluster.proxied_listener_port).start()
        return self.cluster.base(via_proxy=True)

    def lose_produce_response(self, nth: int) -> None:
        """The proxy loses the answer to the ``nth`` Produce request from now on."""
        self._proxy_base()
        self.proxy.drop_produce_response(nth)

    def txn_state(self, txn_id: str) -> dict[str, Any]:
        """The coordinator's producer id, epoch and state of ``txn_id`` (Kafka's admin
        ``describeTransactions``, through the Java admin: confluent-kafka has none)."""
        return self._admin().txn_state(txn_id)

    def producer_epochs(self, topic: str, partition: int = 0) -> dict[int, int]:
        """The partition leader's producer state (``describeProducers``, Java admin)."""
        return self._admin().producer_epochs(topic, partition)

    def _admin(self) -> Any:
        if self.admin is None:
            from eoslib.real.errors import NeedsError

            raise NeedsError("needs the Java admin client: confluent-kafka cannot describe "
                             "transactions or producers")
        return self.admin

    def consumer(self, conf: dict[str, Any], *, process: str | None = None) -> Any:
        from confluent_kafka import Consumer

        self.groups.append(conf["group.id"])
        return Consumer({**self.cluster.base(), **conf})

    def crash(self, client: Any) -> None:
        """The application stops calling ``client`` (no close); it is kept alive, silent,
        until the run ends, so no destructor commits or aborts anything meanwhile."""
        self.abandoned.append(client)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    @staticmethod
    def text(value: Any) -> str:
        return value if isinstance(value, str) else value.decode()

    def cleanup(self) -> None:
        delete_topics(self.cluster, self.topics, sorted(set(self.groups)))
        self.abandoned.clear()
        if self.proxy is not None:
            self.proxy.stop()
            self.proxy = None


Env = SimEnv | RealEnv
Script = Callable[[Any, bool], dict[str, Any]]


# --------------------------------------------------------------- shared client configs

def txn_producer_conf(txn_id: str | None, timeout_ms: int = 15000) -> dict[str, Any]:
    """A producer, every delivery-relevant librdkafka key explicit."""
    conf: dict[str, Any] = {
        "enable.idempotence": True, "acks": "all", "retries": 10, "retry.backoff.ms": 100,
        "linger.ms": 0, "batch.num.messages": 1000,
        "max.in.flight.requests.per.connection": 5, "socket.timeout.ms": 5000,
        "request.timeout.ms": 5000, "message.timeout.ms": 60000, "compression.type": "none",
    }
    if txn_id is not None:
        conf.update({"transactional.id": txn_id, "transaction.timeout.ms": timeout_ms,
                     "message.timeout.ms": min(timeout_ms, 15000),
                     # librdkafka: socket.timeout.ms <= transaction.timeout.ms + 100
                     "socket.timeout.ms": min(5000, timeout_ms)})
    return conf


def consumer_conf(group: str, isolation: str, *, auto_commit: bool = False,
                  interval_ms: int = 5000) -> dict[str, Any]:
    """A consumer, every offset- and visibility-relevant librdkafka key explicit."""
    return {
        "group.id": group, "isolation.level": isolation,
        "enable.auto.commit": auto_commit, "auto.commit.interval.ms": interval_ms,
        "enable.auto.offset.store": True, "auto.offset.reset": "earliest",
        "enable.partition.eof": False, "fetch.wait.max.ms": 100,
        "session.timeout.ms": 10000, "partition.assignment.strategy": "range",
    }


def fill(env: Env, topic: str, n: int, prefix: str = "m") -> list[str]:
    """Write ``prefix0..`` to ``topic`` with an idempotent producer; their values."""
    p = env.producer(txn_producer_conf(None))
    vals = [f"{prefix}{i}" for i in range(n)]
    for v in vals:
        p.produce(topic, value=v)
    p.flush(30)
    return vals


def take(env: Env, c: Any, n: int, tries: int = 40) -> list[Any]:
    """Consume until ``n`` records came back (or ``tries`` polls of 0.25 s)."""
    out: list[Any] = []
    for _ in range(tries):
        if len(out) >= n:
            break
        out += [m for m in c.consume(n - len(out), timeout=0.25) if m.error() is None]
    return out


def drain(env: Env, c: Any, polls: int = 6) -> list[Any]:
    """Everything ``c`` returns in ``polls`` polls of 0.25 s."""
    out: list[Any] = []
    for _ in range(polls):
        out += [m for m in c.consume(100, timeout=0.25) if m.error() is None]
    return out


def read_values(env: Env, topic: str, isolation: str = "read_committed") -> list[str]:
    """Every value of ``topic`` from the start, as a fresh consumer reads it."""
    c = env.consumer(consumer_conf(env.name(f"{topic}-verifier"), isolation))
    c.assign([env.TopicPartition(topic, 0, 0)])
    vals = [env.text(m.value()) for m in drain(env, c, 8)]
    c.close()
    return vals


def _committed(env: Env, group: str, topic: str) -> int | None:
    """The group's committed offset of ``topic``-0 as a read_uncommitted observer sees it
    (librdkafka asks for stable offsets only under read_committed); None when none."""
    obs = env.consumer(consumer_conf(group, "read_uncommitted"))
    off = obs.committed([env.TopicPartition(topic, 0)], timeout=10)[0].offset
    obs.close()
    return off if off >= 0 else None


def produce_each(env: Env, on: bool, messages: int = 10) -> dict[str, Any]:
    """producer-retry's loop on either backend: ``enable.idempotence`` = ``on``; produce
    and flush one message at a time (one message per request). Counts ``duplicates``."""
    out = env.name("out")
    env.create_topics([out])
    conf = {**txn_producer_conf(None), "enable.idempotence": on}
    p = env.producer(conf)
    for i in range(messages):
        p.produce(out, value=f"m{i}")
        p.flush(60)
    read = read_values(env, out)
    return {"duplicates": len(read) - len(set(read)), "lost": messages - len(set(read))}


def run(script: Script, env: Env, on: bool) -> dict[str, Any]:
    """Run ``script`` on ``env``; its counts plus ``seconds`` (wall, or virtual in the sim)."""
    t = time.monotonic()
    try:
        counts = script(env, on)
    finally:
        env.cleanup()
    if isinstance(env, SimEnv):
        counts["virtual_ms"] = round(env.sim.now, 1)
    else:
        counts["seconds"] = round(time.monotonic() - t, 1)
    return counts


def as_experiment(name: str, setting: str, off: Any, on: Any, script: Script,
                  summary: str) -> Any:
    """An :class:`~eoslib.real.experiments.common.Experiment` that runs ``script`` on a
    real cluster and returns a :class:`~eoslib.result.Result` (``backend="real"``) whose
    counts are the script's."""
    from eoslib.checker import check
    from eoslib.history import History
    from eoslib.real.clients import require_client
    from eoslib.real.experiments.common import Experiment
    from eoslib.result import Result

    def run_real(cluster: Cluster, *, on: bool, **_: Any) -> Result:
        require_client()
        counts = run(script, RealEnv(cluster), on)
        history = History()
        return Result(name, 0, 0, {setting: on_value if on else off}, {}, counts,
                      check(history), history, [], backend="real")

    on_value = on
    return Experiment(name, setting, off, on, (), run_real, summary)
