"""``confluent_kafka.admin`` over the simulation: topic metadata, creating topics.

``list_topics()`` (on a Producer, a Consumer or an AdminClient) returns a
:class:`ClusterMetadata` shaped like confluent-kafka's (src/confluent_kafka/admin/
_metadata.py) for the topics that exist; a topic asked for by name that does not exist comes
back with the ``UNKNOWN_TOPIC_OR_PART`` error and no partitions. ``AdminClient`` creates
topics (futures already resolved, as after the broker answered); other admin calls are not
simulated and say so.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from eoslib.confluent_kafka import backend as backends
from eoslib.confluent_kafka.errors import KafkaError, KafkaException
from eoslib.confluent_kafka.surface import conf_of
from eoslib.simulation import Simulation

#: the port every simulated broker pretends to listen on (metadata only)
PORT = 9092


class BrokerMetadata:
    """A broker: ``id``, ``host``, ``port``."""

    def __init__(self, id: int, host: str, port: int) -> None:  # noqa: A002
        self.id, self.host, self.port = id, host, port

    def __repr__(self) -> str:
        return f"BrokerMetadata({self.id}, {self.host}:{self.port})"

    def __str__(self) -> str:
        return f"{self.host}:{self.port}/{self.id}"


class PartitionMetadata:
    """A partition: ``id``, ``leader`` (-1: none), ``replicas``, ``isrs``, ``error``."""

    def __init__(self, id: int, leader: int, replicas: list[int], isrs: list[int]) -> None:  # noqa: A002
        self.id, self.leader, self.replicas, self.isrs = id, leader, replicas, isrs
        self.error: KafkaError | None = None

    def __repr__(self) -> str:
        return f"PartitionMetadata({self.id})"

    def __str__(self) -> str:
        return str(self.id)


class TopicMetadata:
    """A topic: ``topic``, ``partitions`` {id: :class:`PartitionMetadata`}, ``error``."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.partitions: dict[int, PartitionMetadata] = {}
        self.error: KafkaError | None = None

    def __repr__(self) -> str:
        return (f"TopicMetadata({self.topic}, {len(self.partitions)} partitions"
                + (f", {self.error}" if self.error else "") + ")")

    def __str__(self) -> str:
        return self.topic


class ClusterMetadata:
    """``cluster_id``, ``controller_id``, ``brokers`` {id: ...}, ``topics`` {name: ...}."""

    def __init__(self) -> None:
        self.cluster_id: str | None = None
        self.controller_id = -1
        self.brokers: dict[int, BrokerMetadata] = {}
        self.topics: dict[str, TopicMetadata] = {}
        self.orig_broker_id = -1
        self.orig_broker_name: str | None = None

    def __repr__(self) -> str:
        return f"ClusterMetadata({self.cluster_id})"

    def __str__(self) -> str:
        return str(self.cluster_id)


def cluster_id(sim: Simulation) -> str:
    """The simulated cluster's id (its address, deterministic)."""
    return sim.bootstrap_servers.replace("sim://", "eoslib-sim-")


def metadata(sim: Simulation, topic: str | None = None) -> ClusterMetadata:
    """The cluster's metadata as a Metadata request returns it (see module docstring)."""
    c = sim.cluster
    md = ClusterMetadata()
    md.cluster_id = cluster_id(sim)
    alive = sorted(c.alive)
    md.controller_id = alive[0] if alive else -1
    md.brokers = {b: BrokerMetadata(b, f"broker{b}", PORT) for b in alive}
    if alive:
        md.orig_broker_id, md.orig_broker_name = alive[0], f"broker{alive[0]}:{PORT}/{alive[0]}"
    names = [topic] if topic is not None else sorted(t for t in c.topics
                                                     if not t.startswith("__"))
    for name in names:
        tm = md.topics[name] = TopicMetadata(name)
        if name not in c.topics:
            tm.error = KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART)
            continue
        for p in c.topics[name]:
            leader = p.leader if p.leader is not None and p.leader in c.alive else -1
            tm.partitions[p.index] = PartitionMetadata(p.index, leader, list(p.replicas),
                                                       list(p.isr))
    return md


class NewTopic:
    """``NewTopic(topic, num_partitions=-1, replication_factor=-1, replica_assignment=None,
    config=None)``: -1 takes the simulated broker's default (1)."""

    def __init__(self, topic: str, num_partitions: int = -1, replication_factor: int = -1,
                 replica_assignment: Any = None, config: dict[str, str] | None = None) -> None:
        self.topic = topic
        self.num_partitions = num_partitions
        self.replication_factor = replication_factor
        self.replica_assignment = replica_assignment
        self.config = dict(config or {})

    def __repr__(self) -> str:
        return f"NewTopic(topic={self.topic},num_partitions={self.num_partitions})"


class AdminClient:
    """``AdminClient(conf)``: ``create_topics``, ``list_topics``; nothing else simulated."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        conf = conf_of(args, kwargs)
        self._backend = backends.resolve(conf)

    def create_topics(self, new_topics: list[NewTopic], **_: Any) -> dict[str, Future[None]]:
        """Create each topic; ``{topic: future}``, the future holding None or the
        ``KafkaException`` (``TOPIC_ALREADY_EXISTS``...)."""
        b = self._backend
        out: dict[str, Future[None]] = {}
        for nt in new_topics:
            f: Future[None] = Future()
            if nt.topic in b.sim.cluster.topics:
                f.set_exception(KafkaException(KafkaError(
                    KafkaError.TOPIC_ALREADY_EXISTS, f"Topic '{nt.topic}' already exists.")))
            else:
                extra = {k: v for k, v in nt.config.items() if k in ("min.insync.replicas",
                         "unclean.leader.election.enable")}
                try:
                    b.sim.create_topic(nt.topic, max(nt.num_partitions, 0) or b.num_partitions,
                                       replication_factor=max(nt.replication_factor, 1),
                                       **extra)
                    f.set_result(None)
                except ValueError as e:
                    f.set_exception(KafkaException(KafkaError(KafkaError.INVALID_CONFIG,
                                                              str(e))))
            out[nt.topic] = f
        return out

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> ClusterMetadata:
        """The cluster's metadata (all topics, or ``topic``)."""
        return metadata(self._backend.sim, topic)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise NotImplementedError(f"AdminClient.{name}() is not simulated (eoslib simulates "
                                  "create_topics and list_topics)")
