"""The simulation a learner creates: one cluster, one clock, one seeded generator.

>>> sim = Simulation(seed=7, faults={"response_loss": 0.2})
>>> _ = sim.create_topic("payments", partitions=1)
>>> p = sim.Producer({"enable.idempotence": False, "acks": "all"})
>>> for i in range(20):
...     p.produce("payments", value=f"m{i}")
>>> p.flush()
0
>>> len(sim.read_all("payments")) >= 20
True

Clients can also be made the confluent-kafka way, ``Producer({"bootstrap.servers":
sim.bootstrap_servers, ...})``: the address names this simulation.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from eoslib import context
from eoslib.cluster import Cluster
from eoslib.errors import ConfigException
from eoslib.faults import FaultInjector, FaultPlan
from eoslib.group_coordinator import GroupCoordinator
from eoslib.history import History
from eoslib.isolation import FetchFilter, read_committed_filter
from eoslib.kernel import Kernel
from eoslib.network import Network
from eoslib.partition import Partition
from eoslib.producer_state import DuplicateCheck, kafka_duplicate_check
from eoslib.txn_coordinator import TransactionCoordinator

if TYPE_CHECKING:
    from eoslib.consumer import Consumer
    from eoslib.producer import Producer

_sim_ids = itertools.count(1)


class Simulation:
    """A deterministic Kafka cluster in a virtual clock.

    ``seed`` (or ``rng``, a ``random.Random`` you pass in) drives every random draw;
    ``faults`` is a :class:`~eoslib.faults.FaultPlan` or a dict of its fields;
    ``cluster`` holds the cluster keys of :mod:`eoslib.config` (``brokers``,
    ``transaction.max.timeout.ms``...).
    """

    def __init__(self, seed: int = 0, *, rng: random.Random | None = None,
                 faults: FaultPlan | Mapping[str, Any] | None = None,
                 cluster: Mapping[str, Any] | None = None, tracing: bool = True) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigException("seed", seed, "Expected an integer")
        self.seed = seed
        rng = rng if rng is not None else random.Random(seed)
        self.kernel = Kernel(rng, tracing=tracing)
        fault_rng = random.Random(rng.getrandbits(64))
        # the app's and the clients' generators are made on first use (most runs draw
        # nothing from them); their seeds are drawn now, so every stream stays the same
        self._app_seed, self._app_rng = rng.getrandbits(64), None
        self._client_seed, self._client_rng = rng.getrandbits(64), None
        self.faults = FaultPlan.from_dict(faults)
        self.cluster = Cluster(self.kernel, dict(cluster or {}))
        self.injector = FaultInjector(self.faults, fault_rng)
        self.cluster.network = Network(self.kernel, self.injector,
                                       self.cluster.config["network.latency.ms"],
                                       self.cluster.is_alive)
        self.cluster.txn_coordinator = TransactionCoordinator(self.kernel, self.cluster)
        self.cluster.group_coordinator = GroupCoordinator(self.kernel, self.cluster)
        self.history = History()
        self.fetch_filter: FetchFilter = read_committed_filter
        self._names: dict[str, itertools.count[int]] = {}
        self._process: dict[int, str] = {}
        self.bootstrap_servers = f"sim://{next(_sim_ids)}"
        context.register(self.bootstrap_servers, self)

    @property
    def app_rng(self) -> random.Random:
        """The application's generator (sticky partitions, chance crashes)."""
        if self._app_rng is None:
            self._app_rng = random.Random(self._app_seed)
        return self._app_rng

    @app_rng.setter
    def app_rng(self, rng: random.Random) -> None:
        self._app_rng = rng

    @property
    def client_rng(self) -> random.Random:
        """The clients' own draws (retry backoff jitter)."""
        if self._client_rng is None:
            self._client_rng = random.Random(self._client_seed)
        return self._client_rng

    @client_rng.setter
    def client_rng(self, rng: random.Random) -> None:
        self._client_rng = rng

    # ------------------------------------------------------------------ basics
    @classmethod
    def resolve(cls, sim: Simulation | None, config: Mapping[str, Any] | None) -> Simulation:
        """The simulation a client belongs to: ``sim`` or the one its
        ``bootstrap.servers`` names."""
        return context.resolve(sim, config)  # type: ignore[return-value]

    @property
    def now(self) -> float:
        """Virtual time in ms."""
        return self.kernel.now

    @property
    def trace(self) -> list[dict[str, Any]]:
        """Everything that happened, in order (see :mod:`eoslib.result`)."""
        return self.kernel.trace

    def next_name(self, kind: str) -> str:
        """``producer-1``, ``producer-2``... in creation order."""
        c = self._names.setdefault(kind, itertools.count(1))
        return f"{kind}-{next(c)}"

    def process_name(self, client: Any) -> str:
        """The history process of a client (its name, unless set by an application)."""
        return self._process.get(id(client), client.name)

    def set_process(self, client: Any, process: str) -> None:
        """Record a client's operations under ``process`` (an app incarnation)."""
        self._process[id(client)] = process

    @property
    def duplicate_check(self) -> DuplicateCheck:
        """The brokers' duplicate check (swap in your own to test it)."""
        return self.cluster.duplicate_check

    @duplicate_check.setter
    def duplicate_check(self, fn: DuplicateCheck) -> None:
        self.cluster.duplicate_check = fn if fn is not None else kafka_duplicate_check

    # ---------------------------------------------------------------- topology
    def create_topic(self, name: str, partitions: int = 1, **config: Any) -> list[Partition]:
        """Create a topic (see :meth:`Cluster.create_topic`)."""
        return self.cluster.create_topic(name, partitions, **config)

    def Producer(self, config: Mapping[str, Any] | None = None) -> Producer:  # noqa: N802
        """A producer attached to this simulation."""
        from eoslib.producer import Producer

        return Producer(dict(config or {}), sim=self)

    def Consumer(self, config: Mapping[str, Any] | None = None) -> Consumer:  # noqa: N802
        """A consumer attached to this simulation."""
        from eoslib.consumer import Consumer

        c = Consumer(dict(config or {}), sim=self)
        if c.isolation == "read_committed" and self.fetch_filter is not read_committed_filter:
            c.fetch_filter = self.fetch_filter
        return c

    def sleep(self, ms: float) -> None:
        """Let ``ms`` of virtual time pass (an application busy or paused)."""
        if ms < 0:
            raise ConfigException("ms", ms, "Expected a duration >= 0")
        self.kernel.advance(ms)

    def settle(self, ms: float = 1000.0) -> None:
        """Let in-flight work (markers, replication, retries) finish for ``ms``."""
        self.kernel.advance(ms)

    # ------------------------------------------------------------------ faults
    def crash_broker(self, broker: int) -> None:
        """Kill a broker (leaders move to in-sync replicas)."""
        self.cluster.crash_broker(broker)

    def restart_broker(self, broker: int) -> None:
        """Bring a broker back."""
        self.cluster.restart_broker(broker)

    def crash_txn_coordinator(self, downtime_ms: float = 100.0) -> None:
        """Kill the transaction coordinator; a successor rebuilds from the transaction log
        after ``downtime_ms`` and completes every decided transaction."""
        old = self.cluster.txn_coordinator
        old.crash()

        def take_over() -> None:
            self.cluster.txn_coordinator = old.successor()

        self.kernel.schedule(downtime_ms, take_over)

    # ------------------------------------------------------------------- reads
    def read_all(self, topic: str, isolation: str = "read_committed", *,
                 process: str = "verifier") -> list[tuple[int, int, Any]]:
        """Read every partition of ``topic`` from the start, as a fresh consumer with
        ``isolation`` would, and record it in the history as ``process``'s polls.
        Returns ``(partition, offset, value)`` triples."""
        from eoslib.fetcher import record_meta
        from eoslib.isolation import read_uncommitted_filter

        filt = self.fetch_filter if isolation == "read_committed" else read_uncommitted_filter
        out = []
        for p in self.cluster.partitions(topic):
            batches, aborted, _ = p.read(0, isolation, max_records=1 << 30)
            recs = filt(batches, aborted)
            meta = record_meta(batches)
            heads = [meta[off][3] if off in meta else None for off, _, _ in recs]
            self.history.record(self.now, process, "poll", "ok",
                                records=[[topic, p.index, off, v] for off, _, v in recs],
                                isolation=isolation, group=None, covered=[topic, p.index],
                                writers=[list(meta[off][:3]) if off in meta else None
                                         for off, _, _ in recs],
                                **({"headers": heads} if any(h is not None for h in heads)
                                   else {}))
            out.extend((p.index, off, v) for off, _, v in recs)
        return out
