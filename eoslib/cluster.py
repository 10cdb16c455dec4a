"""The cluster: brokers, topics, partition leaders, and the produce and fetch handlers.

The transaction coordinator and the group coordinator are separate modules; the cluster
wires them to the partitions they write markers and offsets to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from eoslib.config import validate
from eoslib.errors import ConfigException, did_you_mean
from eoslib.partition import AppendResult, Partition
from eoslib.partitioner import coordinator_partition
from eoslib.producer_state import DuplicateCheck, kafka_duplicate_check

if TYPE_CHECKING:
    from eoslib.kernel import Kernel
    from eoslib.network import Network

OFFSETS_TOPIC = "__consumer_offsets"
TP = tuple[str, int]
Respond = Callable[[dict[str, Any]], None]

#: Kafka's replica.lag.time.max.ms default (30 s since 2.5, KIP-537): how long a follower
#: that fetches nothing stays in the ISR; a placed follower_lag drops it for that long
REPLICA_LAG_TIME_MAX_MS = 30_000.0


class TxnCoordinatorRole(Protocol):
    """What the cluster and the clients call on the transaction coordinator
    (:class:`eoslib.txn_coordinator.TransactionCoordinator`; the coordinators sit above the
    cluster, so the cluster names them by this interface, not by import)."""

    alive: bool

    def handle_init_producer_id(self, txn_id: str | None, timeout_ms: int, respond: Respond,
                                version: int = 2) -> None: ...
    def handle_add_partitions(self, txn_id: str, pid: int, epoch: int,
                              partitions: list[TP], respond: Respond) -> None: ...
    def handle_add_offsets(self, txn_id: str, pid: int, epoch: int,
                           group_id: str, respond: Respond) -> None: ...
    def handle_end_txn(self, txn_id: str, pid: int, epoch: int, commit: bool,
                       respond: Respond) -> None: ...
    def verify_partition(self, txn_id: str | None, pid: int, epoch: int,
                         topic: str, index: int) -> str | None: ...
    def crash(self) -> None: ...
    def successor(self) -> TxnCoordinatorRole: ...


class GroupCoordinatorRole(Protocol):
    """What the clients and the transaction coordinator call on the group coordinator
    (:class:`eoslib.group_coordinator.GroupCoordinator`)."""

    def group(self, group_id: str) -> Any: ...
    def join(self, group_id: str, topics: list[str], session_timeout: float,
             on_assignment: Callable[[int, list[TP]], None], strategy: str = "range",
             instance_id: str | None = None,
             on_prepare: Callable[[], None] | None = None) -> str: ...
    def heartbeat(self, group_id: str, member_id: str) -> str | None: ...
    def leave(self, group_id: str, member_id: str, why: str = "left") -> None: ...
    def commit(self, group_id: str, generation: int, member_id: str,
               offsets: dict[TP, int]) -> str | None: ...
    def txn_commit(self, group_id: str, pid: int, epoch: int, generation: int,
                   member_id: str, offsets: dict[TP, int]) -> str | None: ...
    def complete_txn_offsets(self, pid: int, commit: bool,
                             offsets_partition: int) -> None: ...
    def fetch(self, group_id: str, partitions: list[TP],
              require_stable: bool) -> tuple[str | None, dict[TP, int | None]]: ...


class Cluster:
    """Brokers and topics. ``config`` takes the ``cluster`` keys of :mod:`eoslib.config`."""

    def __init__(self, kernel: Kernel, config: dict[str, Any] | None = None) -> None:
        self.kernel = kernel
        self.config = validate("cluster", config)
        self.brokers = list(range(self.config["brokers"]))
        self.alive: set[int] = set(self.brokers)
        self.topics: dict[str, list[Partition]] = {}
        self.topic_config: dict[str, dict[str, Any]] = {}
        self.duplicate_check: DuplicateCheck = kafka_duplicate_check
        self.network: Network  # set by Simulation
        self.txn_coordinator: TxnCoordinatorRole  # set by Simulation
        self.group_coordinator: GroupCoordinatorRole
        self.partition_verification = True  # KIP-890 part 1 (Kafka >= 3.6)
        self._offsets_partitions: dict[int, Partition] = {}

    # ------------------------------------------------------------------ topics
    def create_topic(self, name: str, partitions: int = 1, **config: Any) -> list[Partition]:
        """Create a topic. ``config``: ``replication_factor``, ``min_insync_replicas``,
        ``unclean_leader_election`` (Kafka's topic keys with dots or underscores)."""
        if name in self.topics:
            raise ConfigException("topic", name, "Topic already exists")
        conf = {k.replace("_", "."): v for k, v in config.items()}
        conf = {("unclean.leader.election.enable" if k == "unclean.leader.election" else k): v
                for k, v in conf.items()}
        conf["partitions"] = partitions
        tc = validate("topic", conf)
        rf = tc["replication.factor"]
        if rf > len(self.brokers):
            raise ConfigException(
                "replication.factor", rf,
                f"Replication factor: {rf} larger than available brokers: {len(self.brokers)}",
            )
        parts = []
        for i in range(partitions):
            replicas = [(i + j) % len(self.brokers) for j in range(rf)]
            parts.append(self._new_partition(name, i, replicas, tc))
        self.topics[name] = parts
        self.topic_config[name] = tc
        return parts

    def _new_partition(self, topic: str, i: int, replicas: list[int],
                       tc: dict[str, Any]) -> Partition:
        p = Partition(
            self.kernel, topic, i, replicas,
            min_insync=tc["min.insync.replicas"],
            unclean=tc["unclean.leader.election.enable"],
            replica_wait_ms=self.config["replica.fetch.wait.ms"],
            duplicate_check=self._dup_check,
        )
        p.alive_brokers = lambda: self.alive
        return p

    def _dup_check(self, entry: Any, batch: Any) -> Any:
        return self.duplicate_check(entry, batch)

    def partitions(self, topic: str) -> list[Partition]:
        """The partitions of ``topic`` (UNKNOWN_TOPIC_OR_PART as a ConfigException)."""
        try:
            return self.topics[topic]
        except KeyError:
            raise ConfigException("topic", topic, "Unknown topic" + did_you_mean(
                topic, self.topics) + f"; topics: {', '.join(sorted(self.topics)) or 'none'}"
            ) from None

    def partition(self, topic: str, index: int) -> Partition:
        """One partition; internal ``__consumer_offsets`` partitions are made on demand."""
        if topic == OFFSETS_TOPIC:
            return self.offsets_partition(index)
        parts = self.partitions(topic)
        if not 0 <= index < len(parts):
            raise ConfigException("partition", index, f"Topic {topic} has partitions "
                                  f"0..{len(parts) - 1}")
        return parts[index]

    def offsets_partition(self, index: int) -> Partition:
        """``__consumer_offsets-<index>``, where group offsets and their markers live."""
        p = self._offsets_partitions.get(index)
        if p is None:
            p = self._new_partition(OFFSETS_TOPIC, index, [0], validate("topic", {}))
            self._offsets_partitions[index] = p
        return p

    def offsets_partition_for(self, group_id: str) -> Partition:
        """The ``__consumer_offsets`` partition that holds ``group_id``'s offsets."""
        return self.offsets_partition(
            coordinator_partition(group_id, self.config["offsets.topic.num.partitions"]))

    # ----------------------------------------------------------------- brokers
    def is_alive(self, broker: int) -> bool:
        """Whether ``broker`` is up."""
        return broker in self.alive

    def crash_broker(self, broker: int) -> None:
        """Kill a broker: its partitions elect new leaders from their ISR."""
        self.alive.discard(broker)
        self.kernel.emit(f"broker {broker}", "crash", f"broker {broker} crashed", flag="crash")
        for parts in self.topics.values():
            for p in parts:
                if p.leader == broker:
                    p.elect_leader(broker)
                else:
                    p.shrink_isr(broker)

    def restart_broker(self, broker: int) -> None:
        """Bring a broker back; it rejoins the ISR of its partitions as a follower."""
        self.alive.add(broker)
        self.kernel.emit(f"broker {broker}", "restart", f"broker {broker} back")
        for parts in self.topics.values():
            for p in parts:
                if broker in p.replicas:
                    p.replica_leo[broker] = min(p.replica_leo[broker], p.leo)
                    if p.leader is None:
                        p.leader = broker
                        p.isr = [broker]
                        p.truncate(p.replica_leo[broker])
                    p.kernel.schedule(p.replica_wait_ms, p._replicate)

    # ---------------------------------------------------------------- handlers
    def handle_produce(self, req: dict[str, Any], broker: int,
                       respond: Callable[[dict[str, Any]], None]) -> None:
        """A Produce request at ``broker``: checks, append, and the acks wait."""
        p = self.partition(req["topic"], req["partition"])
        label = req["label"]
        if p.leader != broker:
            self.kernel.emit(p.lane, "reject", f"{label}: NOT_LEADER_OR_FOLLOWER", flag="error")
            respond({"error": "NOT_LEADER_OR_FOLLOWER"})
            return
        if self.network.injector.refuse():
            self.kernel.emit(p.lane, "reject", f"{label}: NOT_ENOUGH_REPLICAS (injected)",
                             flag="error", ref=req["ref"])
            respond({"error": "NOT_ENOUGH_REPLICAS"})
            return
        if req["transactional"] and self.partition_verification:
            err = self.txn_coordinator.verify_partition(
                req["txn_id"], req["pid"], req["epoch"], p.topic, p.index)
            if err:
                self.kernel.emit(p.lane, "reject", f"{label}: {err}", flag="error", ref=req["ref"])
                respond({"error": err})
                return
        res: AppendResult = p.append_data(
            req["records"], producer_id=req["pid"], epoch=req["epoch"], base_seq=req["seq"],
            transactional=req["transactional"], acks=req["acks"], headers=req.get("headers"),
            tv2=bool(req.get("tv2")) and self.partition_verification,
        )
        if res.error:
            self.kernel.emit(p.lane, "reject", f"{label}: {res.error}", flag="error",
                             ref=req["ref"])
            respond({"error": res.error, "reason": res.reason})
            return
        n = len(req["records"])
        data = None
        if self.kernel.tracing:
            data = {"tp": p.name, "base": res.base_offset, "pid": req["pid"],
                    "epoch": req["epoch"], "seq": req["seq"], "txn": req["transactional"],
                    "values": [str(v) for _, v in req["records"]], "hw": p.hw, "lso": p.lso}
        if res.duplicate:
            self.kernel.emit(p.lane, "dedup",
                             f"{label}: duplicate, kept offset {res.base_offset}", ref=req["ref"],
                             data=data)
        else:
            again = req["ref"] in p.appended_refs  # a retry appended a second copy
            p.appended_refs.add(req["ref"])
            self.kernel.emit(p.lane, "append", f"{label} @{res.base_offset}"
                             + (f"..{res.base_offset + n - 1}" if n > 1 else "")
                             + (" (again: duplicate)" if again else ""),
                             flag="duplicate" if again else None, ref=req["ref"], data=data)
        # -- explorer fault point (eoslib/explore, issue 9): a placed kill=leader.N kills the
        # leader right after the N-th Produce append, before it answers; back 200 ms later
        if not res.duplicate and self.network.fault_point("leader"):
            self.crash_broker(broker)
            self.kernel.schedule(200.0, self.restart_broker, broker)
            return
        # issue 18 §5: kill=follower.N (a follower of the partition dies right after the
        # N-th append, back 200 ms later) and kill=follower_lag.N (it falls behind: out of
        # the ISR, fetching nothing for replica.lag.time.max.ms, then catches up)
        followers = [r for r in p.isr if r != broker]
        if not res.duplicate and followers:
            injector = self.network.injector  # not fault_point: the leader still answers
            dies, lags = injector.at("follower"), injector.at("follower_lag")
        else:
            dies = lags = False
        if dies:
            self.crash_broker(followers[0])
            self.kernel.schedule(200.0, self.restart_broker, followers[0])
        elif lags:
            lag = REPLICA_LAG_TIME_MAX_MS
            p.lagging[followers[0]] = self.kernel.now + lag
            p.shrink_isr(followers[0])
            self.kernel.emit(p.lane, "replicate", f"follower {followers[0]} lags: out of the "
                             f"ISR {p.isr} for {lag:.0f} ms", flag="error")
            self.kernel.schedule(lag, p._replicate)
        # -- end of the explorer fault point
        resp = {"error": None, "base_offset": res.base_offset, "duplicate": res.duplicate}
        if req["acks"] == "all" and len(p.replicas) > 1:
            last = res.base_offset + n - 1

            def done(ok: bool) -> None:
                if not ok:
                    respond({"error": "NOT_LEADER_OR_FOLLOWER"})
                elif len(p.isr) < p.min_insync:
                    respond({"error": "NOT_ENOUGH_REPLICAS_AFTER_APPEND"})
                else:
                    respond(resp)

            p.wait_for_hw(last, done)
        else:
            respond(resp)

    def handle_fetch(self, topic: str, index: int, offset: int, isolation: str,
                     max_records: int) -> dict[str, Any]:
        """A Fetch at the leader: batches up to the HW or LSO, and aborted transactions."""
        p = self.partition(topic, index)
        if p.leader is None or p.leader not in self.alive:
            return {"error": "NOT_LEADER_OR_FOLLOWER"}
        if offset > p.leo or offset < 0:
            return {"error": "OFFSET_OUT_OF_RANGE", "hw": p.hw, "lso": p.lso}
        batches, aborted, limit = p.read(offset, isolation, max_records)
        return {"error": None, "batches": batches, "aborted": aborted, "hw": p.hw,
                "lso": p.lso, "limit": limit}
