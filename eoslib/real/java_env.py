"""The Java client's side of a script: :class:`JavaEnv`, and :class:`JavaSession` that shares
one driver JVM between the runs of a comparison or a test session.

A :class:`JavaEnv` offers the scripts of :mod:`eoslib.real.experiments.scripted` what
:class:`~eoslib.real.experiments.scripted.RealEnv` offers, with Apache Kafka's Java client
(:mod:`eoslib.real.java_clients`) instead of confluent-kafka, plus what only the Java client
and Kafka's admin API can show: the coordinator's producer id and epoch of a
``transactional.id`` (``Admin.describeTransactions``), each producer's last epoch on a
partition (``Admin.describeProducers``), and the cluster's ``transaction.version`` feature
(``Admin.updateFeatures``; restored when the run ends).

Processes: a client made with ``process="app-1"`` lives in its own driver JVM, so
``env.crash(client)`` really ends that process (``Runtime.halt``: no close, no commit, no
abort). Clients without a process live in the session's shared driver; crashing one of
those only abandons it (as :class:`RealEnv` does).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from eoslib.messages import TopicPartition
from eoslib.real.clients import Cluster, run_prefix
from eoslib.real.java_clients import JavaConsumer, JavaProducer
from eoslib.real.java_driver import JavaDriver, JavaStepError
from eoslib.real.proxy import END_TXN, FaultProxy

#: the simulator's names for the assignors, as the Java client's class names
ASSIGNORS = {"range": "org.apache.kafka.clients.consumer.RangeAssignor",
             "roundrobin": "org.apache.kafka.clients.consumer.RoundRobinAssignor"}


class JavaSession:
    """One shared driver JVM for many runs (started at the first run, restarted if a run
    killed it); :meth:`close` ends it."""

    def __init__(self, cluster: Cluster, work_dir: Path | None = None) -> None:
        self.cluster = cluster
        self.work_dir = work_dir or Path(tempfile.mkdtemp(prefix="eoslib-java-"))
        self._driver: JavaDriver | None = None
        self._n = 0

    @property
    def driver(self) -> JavaDriver:
        if self._driver is None or not self._driver.alive:
            self._n += 1
            self._driver = JavaDriver(self.cluster.bootstrap, self.work_dir,
                                      name=f"java-shared-{self._n}")
        return self._driver

    def env(self, *, transaction_version: str | None = None) -> JavaEnv:
        """A fresh env for one run, on the shared driver."""
        return JavaEnv(self.cluster, session=self, transaction_version=transaction_version)

    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()
            self._driver = None

    def __enter__(self) -> JavaSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class JavaAdmin:
    """Kafka's admin API through a session's driver, for what confluent-kafka's AdminClient
    lacks: ``describeTransactions``, ``describeProducers`` and ``updateFeatures`` (the
    ``transaction.version`` set here is restored by :meth:`restore`)."""

    def __init__(self, session: JavaSession) -> None:
        self.session = session
        self._restore: int | None = None

    @property
    def driver(self) -> JavaDriver:
        return self.session.driver

    def set_transaction_version(self, version: str) -> None:
        """Finalize the cluster's ``transaction.version`` at ``version`` (until restore)."""
        prev = self.driver.call("update_feature", name="transaction.version",
                                level=int(version))["previous"]
        if prev != int(version) and self._restore is None:
            self._restore = prev

    def restore(self) -> None:
        """Put the cluster's ``transaction.version`` back (a new driver if this one died)."""
        if self._restore is not None:
            self.driver.call("update_feature", name="transaction.version", level=self._restore)
            self._restore = None

    def txn_state(self, txn_id: str) -> dict[str, Any]:
        """The transaction coordinator's producer id, epoch and state of ``txn_id``."""
        a = self.driver.call("describe_transactions", ids=[txn_id], timeout_ms=30000)
        return a["transactions"][txn_id]

    def producer_epochs(self, topic: str, partition: int = 0) -> dict[int, int]:
        """The partition leader's producer state: producer id -> its last epoch."""
        a = self.driver.call("describe_producers", topic=topic, partition=partition,
                             timeout_ms=30000)
        return {p["producer_id"]: p["epoch"] for p in a["producers"]}


class JavaEnv:
    """The real side with the Java client (see the module docstring)."""

    backend = "real"
    client = "java"

    def __init__(self, cluster: Cluster, *, session: JavaSession | None = None,
                 transaction_version: str | None = None) -> None:
        self.cluster = cluster
        self.session = session or JavaSession(cluster)
        self._own_session = session is None
        self.main = self.session.driver
        self.prefix = run_prefix()
        self.TopicPartition = TopicPartition
        self.topics: list[str] = []
        self.groups: list[str] = []
        self.clients: list[Any] = []
        self.halted: set[int] = set()  # clients whose process JVM was halted
        self.drivers: dict[str, JavaDriver] = {}
        self.proxy: FaultProxy | None = None
        self.admin = JavaAdmin(self.session)
        if transaction_version is not None:
            self.admin.set_transaction_version(transaction_version)

    # ------------------------------------------------------------------ names, topics
    def name(self, base: str) -> str:
        return f"{self.prefix}{base}"

    def create_topics(self, names: list[str], partitions: int = 1) -> None:
        self.main.call("create_topics", topics=list(names), partitions=partitions,
                       timeout_ms=30000)
        self.topics += names

    # ------------------------------------------------------------------ clients
    def _driver(self, process: str | None) -> JavaDriver:
        if process is None:
            return self.main
        if process not in self.drivers:
            self.drivers[process] = JavaDriver(self.cluster.bootstrap, self.session.work_dir,
                                               name=f"{self.prefix}{process}")
        return self.drivers[process]

    def producer(self, conf: dict[str, Any], *, process: str | None = None,
                 proxied: bool = False) -> JavaProducer:
        """A ``KafkaProducer``; ``proxied``: bootstrapped through the fault proxy. A bad
        config raises the Java client's ``ConfigException`` here, as
        :class:`~eoslib.real.java_clients.JavaKafkaException`."""
        bootstrap = self._proxy().listen_port if proxied else None
        full = {"bootstrap.servers": f"127.0.0.1:{bootstrap}" if bootstrap
                else self.cluster.bootstrap, **conf}
        p = JavaProducer(self._driver(process), full)
        self.clients.append(p)
        return p

    def consumer(self, conf: dict[str, Any], *, process: str | None = None) -> JavaConsumer:
        full = {"bootstrap.servers": self.cluster.bootstrap, **conf}
        if full.get("partition.assignment.strategy") in ASSIGNORS:
            full["partition.assignment.strategy"] = ASSIGNORS[full["partition.assignment.strategy"]]
        c = JavaConsumer(self._driver(process), full)
        self.clients.append(c)
        if conf.get("group.id"):
            self.groups.append(conf["group.id"])
        return c

    def crash(self, client: Any) -> None:
        """The client's process dies (its own JVM halts: no close, no commit, no abort); a
        client of the shared driver is abandoned instead (never called again)."""
        if client.driver is not self.main:
            client.driver.crash()
            for c in self.clients:
                if c.driver is client.driver:
                    self.halted.add(id(c))

    # ------------------------------------------------------------------ faults
    def _proxy(self) -> FaultProxy:
        if self.proxy is None:
            cluster = self.cluster
            cluster.proxy_bootstrap  # noqa: B018 - NeedsError without the bundled proxy
            assert cluster.proxy_port is not None and cluster.proxied_listener_port is not None
            self.proxy = FaultProxy(cluster.proxy_port, cluster.proxied_listener_port).start()
        return self.proxy

    def lose_produce_response(self, nth: int) -> None:
        """The proxy loses the answer to the ``nth`` Produce request from now on."""
        self._proxy().drop_produce_response(nth)

    def hold_end_txn(self, nth: int = 1) -> None:
        """The proxy holds the ``nth`` EndTxn request from now on (the client times out
        after ``request.timeout.ms`` and retries it on a new connection)."""
        self._proxy().hold_request(END_TXN, nth)

    def release_held(self) -> list[dict[str, Any]]:
        """Deliver the held requests to the broker now; their error codes."""
        return self._proxy().release_held()

    # ------------------------------------------------------------------ observation
    def txn_state(self, txn_id: str) -> dict[str, Any]:
        """The transaction coordinator's producer id, epoch and state of ``txn_id``."""
        return self.admin.txn_state(txn_id)

    def producer_epochs(self, topic: str, partition: int = 0) -> dict[int, int]:
        """The partition leader's producer state: producer id -> its last epoch."""
        return self.admin.producer_epochs(topic, partition)

    def sleep(self, seconds: float) -> None:
        import time

        time.sleep(seconds)

    @staticmethod
    def text(value: Any) -> str:
        return value if isinstance(value, str) else value.decode()

    # ------------------------------------------------------------------ the end
    def cleanup(self) -> None:
        """Close this run's clients (abandoned ones too: the run is over; a producer with no
        wait, so nothing is aborted on its behalf), end its process JVMs, delete its topics
        and groups, restore the cluster's transaction.version, stop the proxy."""
        for c in self.clients:
            if id(c) in self.halted or not c.driver.alive:
                continue
            try:
                c.close(0.0) if isinstance(c, JavaProducer) else c.close(5.0)
            except Exception:  # noqa: BLE001 - closing a closed client; go on
                pass
        for d in self.drivers.values():
            if d.alive:
                d.crash(0)
        if self.main.alive:
            try:
                if self.topics:
                    self.main.call("delete_topics", topics=self.topics, timeout_ms=15000)
                if self.groups:
                    self.main.call("delete_groups", groups=sorted(set(self.groups)),
                                   timeout_ms=15000)
            except JavaStepError:
                pass
        self.admin.restore()  # on a new shared driver if this run killed the old one
        if self.proxy is not None:
            self.proxy.stop()
            self.proxy = None
        if self._own_session:
            self.session.close()
